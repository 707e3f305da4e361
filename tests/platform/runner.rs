//! Server-run reviews at HTTP level, with a small script as the runner: a good answer,
//! output with no review in it, a crash, a timeout, and a clean environment; 503 when no
//! runner is configured.

use crate::agents::{gather_settings, post};
use crate::common::sse::SseClient;
use crate::common::{start_with, Server};
use crate::reviews::publish;
use crate::skills::{agent, marketplace};
use gather::runner::RunnerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const SCRIPT: &str = r#"prompt=$(cat)
case "$prompt" in
  *mode:ok*) echo "installing the skill..."; echo '{"score": 8, "what_worked": "merged", "what_failed": "no forms", "skill_feedback": "document flags", "security_score": 7, "security_notes": "runs pdftk"}' ;;
  *mode:bad*) echo "I could not decide." ;;
  *mode:crash*) echo "boom" >&2; exit 3 ;;
  *mode:sleep*) exec sleep 30 ;;
  *mode:env*) printf '{"score": 5, "what_worked": "%s|%s|%s", "what_failed": "x", "skill_feedback": "y"}' "$HOME" "$(pwd)" "${CARGO_MANIFEST_DIR:-cleared}" ;;
esac
"#;

/// The runner script written into `dir`, as a runner with `timeout`.
fn script_runner(dir: &std::path::Path, timeout: Duration) -> RunnerConfig {
    let script = dir.join("runner.sh");
    std::fs::write(&script, SCRIPT).expect("script");
    let command = format!("sh {}", script.display());
    RunnerConfig::parse(&command, 1, timeout).expect("a command")
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gather-runner-test-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

async fn runner_server(dir: &std::path::Path) -> Server {
    let config = script_runner(dir, Duration::from_secs(2));
    let s = start_with(
        move |app| async move {
            gather::setup(&app).await.expect("gather setup");
            gather::runner::configure(&app, config)
                .await
                .expect("runner");
        },
        gather::api(),
    )
    .await;
    let high = json!({"perMinute": 100000, "burst": 100000});
    gather_settings(
        &s,
        json!({"rateLimits": {"perIp": high, "registeredWrites": high, "verifiedWrites": high}}),
    )
    .await;
    s
}

/// Polls the review until it is done.
async fn finished(s: &Server, id: &str) -> Value {
    for _ in 0..200 {
        let (_, r) = s.get(&format!("/api/reviews/{id}"), None).await;
        if matches!(r["status"].as_str(), Some("complete" | "failed")) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("review {id} did not finish");
}

#[tokio::test]
async fn the_server_runs_reviews_with_its_runner() {
    let dir = temp_dir();
    let s = runner_server(&dir).await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let (_, reviewer) = agent(&s, "reviewer", true).await;
    let (_, unverified) = agent(&s, "newcomer", false).await;
    let modes = ["ok", "bad", "crash", "sleep", "env"];
    for m in modes {
        publish(&s, &publisher, &format!("run/{m}")).await;
    }
    let mut ids = Vec::new();
    for m in modes {
        let body = json!({"skill_id": format!("run/{m}"), "task": format!("Try it, mode:{m}")});
        let (st, b) = post(&s, "/api/reviews", Some(&reviewer), body).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{b}");
        assert_eq!(b["status"], "queued");
        ids.push(b["review_id"].as_str().expect("id").to_string());
    }

    // Anyone may watch a review while the server runs it: the last one waits behind the
    // slow one, so each of its steps is seen.
    let mut watcher = SseClient::connect(&s.base).await;
    let topic = format!("reviews/{}", ids[4]);
    let subscribe = json!({"clientId": watcher.id, "subscriptions": [topic]});
    let (st, b) = s
        .call(Method::POST, "/api/realtime", None, Some(subscribe))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
    let mut seen = Vec::new();
    while let Some(frame) = watcher.next().await {
        assert_eq!(frame.event, topic);
        assert_eq!(frame.data["action"], "update");
        let status = frame.data["record"]["status"].as_str().unwrap_or_default();
        seen.push(status.to_string());
        if status == "complete" {
            break;
        }
    }
    seen.dedup();
    assert_eq!(seen, ["running", "complete"]);

    let ok = finished(&s, &ids[0]).await;
    assert_eq!(ok["status"], "complete", "{ok}");
    assert_eq!(ok["score"], 8.0);
    assert_eq!(ok["security_score"], 7.0);
    assert_eq!(ok["what_failed"], "no forms");
    assert_eq!(ok["runner_type"], "server");
    assert_eq!(ok["agent_model"], "sh");
    assert!(ok["cli_output"]
        .as_str()
        .is_some_and(|o| o.contains("installing")));
    assert!(ok["execution_time_ms"].as_i64().is_some());
    assert_eq!(ok["proof"]["kind"], "attestation");
    let proof = ok["proof"]["id"].as_str().expect("proof");
    let (_, v) = post(&s, &format!("/api/proofs/{proof}/verify"), None, json!({})).await;
    assert_eq!(v["valid"], true, "{v}");
    let (_, skill) = s.get("/api/skills/run%2Fok", None).await;
    assert_eq!(skill["review_count"], 1, "a complete run counts");

    let bad = finished(&s, &ids[1]).await;
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["cli_output"]
            .as_str()
            .is_some_and(|o| o.contains("could not decide") && o.contains("no JSON object")),
        "{bad}"
    );
    let crash = finished(&s, &ids[2]).await;
    assert_eq!(crash["status"], "failed");
    assert!(
        crash["cli_output"]
            .as_str()
            .is_some_and(|o| o.contains("boom") && o.contains("status 3")),
        "{crash}"
    );
    let slow = finished(&s, &ids[3]).await;
    assert_eq!(slow["status"], "failed");
    assert!(
        slow["cli_output"]
            .as_str()
            .is_some_and(|o| o.contains("killed after 2 s")),
        "{slow}"
    );
    let env = finished(&s, &ids[4]).await;
    assert_eq!(env["status"], "complete", "{env}");
    let seen: Vec<&str> = env["what_worked"]
        .as_str()
        .expect("text")
        .split('|')
        .collect();
    assert_eq!(seen[0], seen[1], "HOME is its own directory");
    assert!(
        seen[1].contains(&format!("gather-review-{}", ids[4])),
        "{seen:?}"
    );
    assert_eq!(
        seen[2], "cleared",
        "the server's environment is not passed on"
    );
    assert!(
        !std::path::Path::new(seen[1]).exists(),
        "its directory is removed"
    );
    let (_, failed) = s.get("/api/skills/run%2Fbad", None).await;
    assert_eq!(failed["review_count"], 0, "a failed run does not count");

    // Refusals.
    let task = |skill: &str| json!({"skill_id": skill, "task": "t"});
    let cases = [
        (None, task("run/ok"), StatusCode::UNAUTHORIZED),
        (Some(&unverified), task("run/ok"), StatusCode::FORBIDDEN),
        (Some(&reviewer), task("no/such"), StatusCode::NOT_FOUND),
        (Some(&reviewer), task("run/ok"), StatusCode::CONFLICT),
        (
            Some(&reviewer),
            json!({"skill_id": "run/ok", "task": ""}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (token, body, want) in cases {
        let (st, b) = post(&s, "/api/reviews", token.map(String::as_str), body).await;
        assert_eq!(st, want, "{b}");
    }
}

#[tokio::test]
async fn without_a_runner_server_reviews_are_unavailable() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "run/none").await;
    let body = json!({"skill_id": "run/none", "task": "t"});
    let (st, b) = post(&s, "/api/reviews", Some(&publisher), body).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("--review-runner")),
        "{b}"
    );
    let (_, listed) = s.get("/api/reviews?skill_id=run%2Fnone", None).await;
    assert_eq!(listed["total"], 0, "nothing was queued");
}

/// What a stopped server left queued or running is failed by the next one to start
/// once it cannot be running anywhere, and a failed review may be run again.
#[tokio::test]
async fn reviews_left_by_a_stopped_server_fail_and_run_again() {
    let dir = temp_dir();
    let s = runner_server(&dir).await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let (reviewer_id, reviewer) = agent(&s, "reviewer", true).await;
    let mut skills = Vec::new();
    for name in ["left/running", "left/queued", "left/fresh"] {
        skills.push(publish(&s, &publisher, name).await["id"].clone());
    }
    // Reviews as a server that stopped mid-run leaves them.
    let left = |skill: &Value, status: &str| {
        json!({"skill": skill, "agent": reviewer_id, "skill_version": 1, "status": status,
               "task": "Try it, mode:ok", "runner_type": "server"})
    };
    let mut ids = Vec::new();
    for (skill, status) in [(&skills[0], "running"), (&skills[1], "queued")] {
        let (st, r) = s
            .su(
                Method::POST,
                "/api/collections/reviews/records",
                Some(left(skill, status)),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        ids.push(r["id"].as_str().expect("id").to_string());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, fresh) = s
        .su(
            Method::POST,
            "/api/collections/reviews/records",
            Some(left(&skills[2], "running")),
        )
        .await;

    // The next server to start, with a 0.5 s timeout and 1 s of queueing: the two old
    // ones cannot be running anywhere; the fresh one may be.
    let mut config = script_runner(&dir, Duration::from_millis(500));
    config.max_queued = Duration::from_secs(1);
    let (next, _stop) = s
        .twin_with(
            move |app| async move {
                gather::setup(&app).await.expect("gather setup");
                gather::runner::configure(&app, config)
                    .await
                    .expect("runner");
            },
            gather::api(),
        )
        .await;
    for id in &ids {
        let (_, r) = s.get(&format!("/api/reviews/{id}"), None).await;
        assert_eq!(r["status"], "failed", "{r}");
        assert!(
            r["cli_output"]
                .as_str()
                .is_some_and(|o| o.contains("stopped")),
            "{r}"
        );
    }
    let (_, r) = s
        .get(
            &format!("/api/reviews/{}", fresh["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(r["status"], "running", "{r}");

    // A failed review runs again, under its id; a complete one is not run twice.
    let body = json!({"skill_id": "left/running", "task": "Again, mode:ok"});
    let resp = s
        .http
        .post(format!("{next}/api/reviews"))
        .header("Authorization", &reviewer)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let b: Value = resp.json().await.expect("json");
    assert_eq!(b["review_id"], ids[0].as_str());
    let done = finished(&s, &ids[0]).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["task"], "Again, mode:ok");
    let resp = s
        .http
        .post(format!("{next}/api/reviews"))
        .header("Authorization", &reviewer)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::CONFLICT);
}
