//! Rankings at HTTP level: every skill's rank follows each review, install and operator
//! edit (the normaliser moves for all of them), verified client proofs earn the proof
//! term and attestations do not, and the exact re-rank is rate-limited.

use crate::agents::post;
use crate::reviews::{execution_hash, publish, signed, submit};
use crate::skills::{agent, agent_keyed, marketplace};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The contract's formula (§7.7), written out here independently.
fn expected(avg: f64, weight: f64, count: f64, installs: f64, proofs: f64, total: f64) -> f64 {
    let n_rc = (weight + 1.0).log10() / (total + 10.0).log10();
    let n_inst = (installs + 1.0).log10() / 4.0;
    let raw = 0.40 * avg * n_rc + 0.25 * n_inst + 0.35 * (proofs / count) * avg;
    (raw * 10.0).clamp(0.0, 100.0)
}

async fn rank_of(s: &crate::common::Server, name: &str) -> Value {
    let (st, b) = s
        .get(&format!("/api/skills/{}", name.replace('/', "%2F")), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b
}

fn close(got: &Value, want: f64) {
    let got = got.as_f64().expect("a rank");
    assert!((got - want).abs() < 0.005, "rank {got}, expected {want}");
}

#[tokio::test]
async fn ranks_follow_reviews_installs_and_edits() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "rank/alpha").await;
    publish(&s, &publisher, "rank/beta").await;

    // One review scoring 8 with a verified proof: the contract's example, 37.25.
    let (id, token, key) = agent_keyed(&s, "prover", true).await;
    let review = json!({"skill_id": "rank/alpha", "task": "t", "score": 8});
    let hash = execution_hash(&id, "rank/alpha", &review, None);
    let mut body = review.clone();
    body["proof"] = json!({"execution_hash": hash, "signature": signed(&key, &hash)});
    let (st, b) = submit(&s, &token, body).await;
    assert_eq!(
        (st, b["proof_verified"].clone()),
        (StatusCode::CREATED, json!(true)),
        "{b}"
    );
    let alpha = rank_of(&s, "rank/alpha").await;
    close(&alpha["rank_score"], 37.2501);

    // A review of another skill (attested): the total grows, and alpha's rank follows.
    let (_, second) = agent(&s, "second", true).await;
    let body = json!({"skill_id": "rank/beta", "task": "t", "score": 6});
    assert_eq!(submit(&s, &second, body).await.0, StatusCode::CREATED);
    close(
        &rank_of(&s, "rank/alpha").await["rank_score"],
        expected(8.0, 1.0, 1.0, 0.0, 1.0, 2.0),
    );
    close(
        &rank_of(&s, "rank/beta").await["rank_score"],
        expected(6.0, 1.0, 1.0, 0.0, 0.0, 2.0),
    );

    // A challenged review counts 1.5 times.
    let (_, third) = agent(&s, "third", true).await;
    let (_, c) = post(
        &s,
        "/api/reviews/challenge",
        Some(&third),
        json!({"skill_id": "rank/beta"}),
    )
    .await;
    let totem = c["totem"].as_str().expect("totem");
    let body = json!({"skill_id": "rank/beta", "task": c["task"], "score": 9, "security_score": 8,
        "what_worked": totem, "challenge_id": c["challenge_id"], "totem": totem});
    let (st, b) = submit(&s, &third, body).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let beta = rank_of(&s, "rank/beta").await;
    let avg = (6.0 + 1.5 * 9.0) / 2.5;
    assert!(
        (beta["avg_score"].as_f64().expect("avg") - avg).abs() < 1e-9,
        "{beta}"
    );
    assert_eq!(beta["review_count"], 2);
    close(&beta["rank_score"], expected(avg, 2.5, 2.0, 0.0, 0.0, 3.0));
    close(
        &rank_of(&s, "rank/alpha").await["rank_score"],
        expected(8.0, 1.0, 1.0, 0.0, 1.0, 3.0),
    );

    // Installs are in the rank.
    let (st, b) = post(
        &s,
        "/api/skills/rank%2Falpha/install",
        Some(&second),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    close(
        &rank_of(&s, "rank/alpha").await["rank_score"],
        expected(8.0, 1.0, 1.0, 1.0, 1.0, 3.0),
    );

    // Best first, with the verified proofs counted.
    let (st, r) = s.get("/api/rankings", None).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (r["count"].clone(), r["total"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(r["rankings"][0]["name"], "rank/alpha");
    assert_eq!(r["rankings"][0]["verified_proofs"], 1);
    assert_eq!(r["rankings"][1]["verified_proofs"], 0);
    let (_, page) = s.get("/api/rankings?limit=1&offset=1", None).await;
    assert_eq!(page["rankings"][0]["name"], "rank/beta");
    for bad in ["?limit=0", "?limit=101", "?offset=x"] {
        let (st, _) = s.get(&format!("/api/rankings{bad}"), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
    }

    // An operator removes a review in /_/: the stats and every rank follow.
    let (_, listed) = s.get("/api/reviews?skill_id=rank%2Fbeta", None).await;
    let challenged = listed["reviews"][0]["id"].as_str().expect("review");
    let (st, _) = s
        .su(
            Method::DELETE,
            &format!("/api/collections/reviews/records/{challenged}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let beta = rank_of(&s, "rank/beta").await;
    assert_eq!(beta["review_count"], 1);
    close(&beta["rank_score"], expected(6.0, 1.0, 1.0, 0.0, 0.0, 2.0));
    close(
        &rank_of(&s, "rank/alpha").await["rank_score"],
        expected(8.0, 1.0, 1.0, 1.0, 1.0, 2.0),
    );
    // ...and flips a proof: the proof term goes.
    let (_, proofs) = s.get("/api/proofs?verified=true", None).await;
    let proof = proofs["proofs"][0]["id"].as_str().expect("proof");
    let (st, _) = s
        .su(
            Method::PATCH,
            &format!("/api/collections/proofs/records/{proof}"),
            Some(json!({"verified": false})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    close(
        &rank_of(&s, "rank/alpha").await["rank_score"],
        expected(8.0, 1.0, 1.0, 1.0, 0.0, 2.0),
    );

    // The exact re-rank: agents only, once a minute.
    let (st, _) = post(&s, "/api/rankings/refresh", None, json!({})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, b) = post(&s, "/api/rankings/refresh", Some(&second), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        (b["message"].clone(), b["total_reviews"].clone()),
        (json!("Rankings refreshed"), json!(2))
    );
    assert_eq!(b["reranked"], 2);
    let r = s
        .http
        .post(format!("{}/api/rankings/refresh", s.base))
        .bearer_auth(&third)
        .send()
        .await
        .expect("refresh");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}
