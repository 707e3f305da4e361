//! The directory of agents (`/api/agents`): public profiles with what each published and
//! reviewed, the reputation and its parts as the formula says, filters and orders, and
//! nothing private (keys' secrets, verification codes) in any answer.

use crate::agents::agent_client::Agent;
use crate::agents::{gather_settings, new_key};
use crate::common::oembed::OEmbed;
use crate::journey::verified_agent;
use crate::skills::marketplace;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SKILL_MD: &str = "---\nname: tidy-imports\ndescription: Sort and group a file's imports.\n---\n# Tidy imports\n\nGroup the standard library first, then the rest.\n";

#[tokio::test]
async fn agents_are_listed_with_their_record_and_reputation() {
    let s = marketplace().await;
    let oembed = OEmbed::start().await;
    gather_settings(&s, json!({"twitter": {"oembedURL": oembed.url}})).await;
    let publisher = verified_agent(&s, &oembed, "publisher", 1).await;
    publisher.publish(SKILL_MD).await.expect("publish");
    let reviewer = verified_agent(&s, &oembed, "reviewer", 2).await;
    let reviewed = reviewer
        .review("tidy-imports", 9.0, "groups as asked", "nothing")
        .await
        .expect("review");
    assert!(reviewed.challenged && reviewed.proof_verified);
    let lurker = Agent::register(&s.base, new_key(), "lurker")
        .await
        .expect("register");

    let (st, page) = s.get("/api/agents", None).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    let agents = page["agents"].as_array().expect("agents");
    let by_name = |n: &str| -> Value {
        agents
            .iter()
            .find(|a| a["name"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let text = page.to_string();
    assert!(
        !text.contains("verification_code") && !text.contains("PUBLIC KEY"),
        "{text}"
    );

    // The reviewer: verified (10), one challenged review with a verified proof (4 + 2).
    let r = by_name("reviewer");
    assert_eq!(r["reviews_written"], 1);
    assert_eq!(
        (
            r["verified_proofs"].as_i64(),
            r["challenged_proofs"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        r["reputation_parts"],
        json!({"identity": 10.0, "publishing": 0.0, "reviewing": 6.0, "adoption": 0.0})
    );
    assert_eq!(r["reputation"], 16.0);
    // The publisher: verified (10), a tenth of its skill's rank score.
    let (_, skill) = s.get("/api/skills/tidy-imports", None).await;
    let rank = skill["rank_score"].as_f64().expect("ranked");
    let p = by_name("publisher");
    assert_eq!(p["skills_published"], 1);
    assert!(
        (p["reputation_parts"]["publishing"].as_f64().expect("part") - rank / 10.0).abs() < 1e-9,
        "{p}"
    );
    // Registered, nothing done: 0, last.
    assert_eq!(by_name("lurker")["reputation"], 0.0);
    assert_eq!(agents.last().expect("some")["name"], "lurker");
    let first = agents[0]["reputation"].as_f64().expect("n");
    assert!(agents
        .iter()
        .all(|a| a["reputation"].as_f64().unwrap_or(0.0) <= first));

    // Filters and orders.
    let (_, v) = s.get("/api/agents?verified=true&sort=name", None).await;
    let names: Vec<&str> = v["agents"]
        .as_array()
        .expect("a")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["publisher", "reviewer"]);
    let (_, q) = s.get("/api/agents?q=LURK", None).await;
    assert_eq!(q["total"], 1);
    let (_, none) = s.get("/api/agents?q=%25", None).await;
    assert_eq!(none["total"], 0, "a % is a character, not a wildcard");
    let (st, _) = s.get("/api/agents?sort=fame", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // One agent; its skills and reviews through the lists' filters.
    let (st, one) = s.get(&format!("/api/agents/{}", reviewer.id), None).await;
    assert_eq!(st, StatusCode::OK, "{one}");
    assert_eq!(one, r);
    // Names are not unique: each namesake has its own profile.
    let twin = Agent::register(&s.base, new_key(), "lurker")
        .await
        .expect("register");
    for id in [&lurker.id, &twin.id] {
        let (st, p) = s.get(&format!("/api/agents/{id}"), None).await;
        assert_eq!(
            (st, p["id"].as_str()),
            (StatusCode::OK, Some(id.as_str())),
            "{p}"
        );
    }
    let (st, e) = s.get("/api/agents/nosuchagent1234", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
    let (st, e) = s.get("/api/agents/not an id", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
    let (_, mine) = s
        .get(&format!("/api/skills?publisher={}", publisher.id), None)
        .await;
    assert_eq!(mine["total"], 1);
    let (_, theirs) = s
        .get(&format!("/api/skills?publisher={}", lurker.id), None)
        .await;
    assert_eq!(theirs["total"], 0);
}
