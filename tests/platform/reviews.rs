//! Reviews at HTTP level: challenges (bound to the agent and the skill version they were
//! issued for, used up only by an accepted review), submitted reviews (one per agent and
//! skill version), client proofs checked against the review and the registered key,
//! server attestations checked offline, and stats under concurrent reviews.

use crate::agents::{pem, post};
use crate::common::Server;
use crate::skills::{agent, agent_keyed, marketplace};
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The execution hash as the help text documents it, computed here independently:
/// SHA-256 of the RFC 8785 form of the claim.
pub(crate) fn execution_hash(
    agent: &str,
    skill: &str,
    review: &Value,
    challenge: Option<&str>,
) -> String {
    let text = |k: &str| review[k].as_str().unwrap_or_default().to_string();
    let claim = json!({
        "agent_id": agent, "skill": skill, "skill_version": 1,
        "task": text("task"), "score": review["score"],
        "security_score": review.get("security_score").cloned().unwrap_or(Value::Null),
        "what_worked": text("what_worked"), "what_failed": text("what_failed"),
        "skill_feedback": text("skill_feedback"), "security_notes": text("security_notes"),
        "challenge_id": challenge,
    });
    sha256_hex(
        serde_json_canonicalizer::to_string(&claim)
            .expect("jcs")
            .as_bytes(),
    )
}

pub(crate) fn signed(key: &SigningKey, hash: &str) -> String {
    B64.encode(key.sign(hash.as_bytes()).to_bytes())
}

pub(crate) async fn publish(s: &Server, token: &str, id: &str) -> Value {
    let (st, b) = post(s, "/api/skills", Some(token), json!({"id": id})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    b
}

pub(crate) async fn submit(s: &Server, token: &str, body: Value) -> (StatusCode, Value) {
    post(s, "/api/reviews/submit", Some(token), body).await
}

#[tokio::test]
async fn review_challenges_are_issued_for_one_skill() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let (reviewer_id, reviewer) = agent(&s, "reviewer", true).await;
    let (_, unverified) = agent(&s, "newcomer", false).await;
    let (st, skill) = post(
        &s,
        "/api/skills",
        Some(&publisher),
        json!({"id": "gamma/api", "category": "api", "url": "https://api.example.com",
               "description": "An API skill"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{skill}");

    let (st, c) = post(
        &s,
        "/api/reviews/challenge",
        Some(&reviewer),
        json!({"skill_id": "gamma/api"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let totem = c["totem"].as_str().expect("totem");
    assert!(totem.starts_with("GATHER-") && totem.len() == 15, "{totem}");
    assert_eq!(c["aspects"].as_array().map(Vec::len), Some(2));
    let task = c["task"].as_str().expect("task");
    assert!(
        task.starts_with("Review the skill 'gamma/api' (An API skill) at https://api.example.com.")
    );
    assert!(task.contains(c["aspects"][0].as_str().expect("aspect")));
    assert_eq!(c["expires_in"], "15 minutes");
    let expires = chrono::DateTime::parse_from_rfc3339(c["expires_at"].as_str().expect("at"))
        .expect("RFC 3339");
    let left = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(15));
    assert_eq!(c["skill"]["id"], skill["id"]);
    assert_eq!(c["skill"]["name"], "gamma/api");
    assert_eq!(c["skill"]["version"], 1);
    assert_eq!(c["skill"]["review_count"], 0);

    // Stored bound to the agent and the skill version, unused.
    let id = c["challenge_id"].as_str().expect("id");
    let (st, stored) = s
        .su(
            Method::GET,
            &format!("/api/collections/review_challenges/records/{id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{stored}");
    assert_eq!(stored["agent"], reviewer_id.as_str());
    assert_eq!(stored["skill"], skill["id"]);
    assert_eq!(stored["skill_version"], 1);
    assert_eq!(stored["used"], false);
    assert_eq!(stored["totem"], totem);

    // By id too; each challenge its own totem.
    let by_id = json!({"skill_id": skill["id"]});
    let (st, again) = post(&s, "/api/reviews/challenge", Some(&reviewer), by_id).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_ne!(again["totem"], c["totem"]);

    // Refusals.
    let cases = [
        (
            Some(&unverified),
            json!({"skill_id": "gamma/api"}),
            StatusCode::FORBIDDEN,
        ),
        (
            None,
            json!({"skill_id": "gamma/api"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            Some(&reviewer),
            json!({"skill_id": "no/such"}),
            StatusCode::NOT_FOUND,
        ),
        (
            Some(&reviewer),
            json!({"skill_id": ""}),
            StatusCode::BAD_REQUEST,
        ),
        (Some(&reviewer), json!({}), StatusCode::BAD_REQUEST),
    ];
    for (token, body, want) in cases {
        let (st, b) = post(
            &s,
            "/api/reviews/challenge",
            token.map(String::as_str),
            body,
        )
        .await;
        assert_eq!(st, want, "{b}");
        assert_eq!(b["status"], want.as_u16());
    }
}

#[tokio::test]
async fn reviews_are_recorded_once_per_agent_and_version() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let (reviewer_id, reviewer) = agent(&s, "reviewer", true).await;
    let (_, unverified) = agent(&s, "newcomer", false).await;
    let skill = publish(&s, &publisher, "acme/deploy").await;

    // Without a client proof the server attests the review.
    let review = json!({"skill_id": "acme/deploy", "task": "Deploy a static site", "score": 8,
        "security_score": 7, "what_worked": "fast", "what_failed": "no rollback",
        "agent_model": "claude-opus-4"});
    let (st, b) = submit(&s, &reviewer, review.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["message"], "Review submitted successfully");
    assert_eq!(b["skill_id"], "acme/deploy");
    assert_eq!(
        (b["proof_kind"].as_str(), b["proof_verified"].as_bool()),
        (Some("attestation"), Some(false))
    );
    assert_eq!(
        (b["review_count"].clone(), b["avg_score"].clone()),
        (json!(1), json!(8.0))
    );
    assert_eq!(b["verified_reviewer"], true);
    let review_id = b["review_id"].as_str().expect("id").to_string();
    let first_proof = b["proof_id"].as_str().expect("proof").to_string();

    // The attestation checks out offline with the published key.
    let (_, key) = s.get("/api/proofs/key", None).await;
    let server_key = gather::keys::parse_public_key(key["public_key"].as_str().expect("pem"))
        .expect("key")
        .key;
    let (st, proof) = s
        .su(
            Method::GET,
            &format!("/api/collections/proofs/records/{first_proof}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let canonical = serde_json_canonicalizer::to_string(&proof["claim_data"]).expect("jcs");
    assert_eq!(
        proof["identifier"],
        sha256_hex(canonical.as_bytes()).as_str()
    );
    let sig = B64
        .decode(proof["signatures"][0].as_str().expect("sig"))
        .expect("b64");
    let sig = Signature::from_slice(&sig).expect("64 bytes");
    let identifier = proof["identifier"].as_str().expect("identifier");
    assert!(server_key.verify(identifier.as_bytes(), &sig).is_ok());
    assert_eq!(proof["claim_data"]["review_id"], review_id.as_str());
    let at = proof["claim_data"]["timestamp"]
        .as_str()
        .expect("timestamp");
    assert!(at.starts_with("20"), "a real time: {at}");

    // The review reads back with real dates.
    let (st, r) = s.get(&format!("/api/reviews/{review_id}"), None).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["skill"], skill["id"]);
    assert_eq!(r["skill_name"], "acme/deploy");
    assert_eq!(r["agent_id"], reviewer_id.as_str());
    assert_eq!(r["status"], "complete");
    assert_eq!(r["agent_model"], "claude-opus-4");
    assert_eq!(r["challenged"], false);
    assert_eq!(r["proof"]["kind"], "attestation");
    assert!(r["created"].as_str().is_some_and(|c| c.len() > 10));

    // A second review of the same version replaces the first (and its proof).
    let mut again = review.clone();
    again["score"] = json!(6);
    let (st, b) = submit(&s, &reviewer, again).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["message"], "Review replaced");
    assert_eq!(b["review_id"], review_id.as_str());
    assert_eq!(
        (b["review_count"].clone(), b["avg_score"].clone()),
        (json!(1), json!(6.0))
    );
    let (st, _) = s
        .su(
            Method::GET,
            &format!("/api/collections/proofs/records/{first_proof}"),
            None,
        )
        .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "the old proof went with the old review"
    );
    let (_, skill_now) = s.get("/api/skills/acme%2Fdeploy", None).await;
    assert_eq!(skill_now["review_count"], 1);
    assert_eq!(skill_now["avg_score"], 6.0);
    assert_eq!(skill_now["avg_security_score"], 7.0);

    // Refusals: nothing is written.
    let long = "x".repeat(10_001);
    let cases = [
        (
            unverified.as_str(),
            json!({"skill_id": "acme/deploy", "task": "t", "score": 5}),
            StatusCode::FORBIDDEN,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "no/such", "task": "t", "score": 5}),
            StatusCode::NOT_FOUND,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "acme/deploy", "task": "t", "score": 11}),
            StatusCode::BAD_REQUEST,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "acme/deploy", "task": "t", "score": 0}),
            StatusCode::BAD_REQUEST,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "acme/deploy", "task": "", "score": 5}),
            StatusCode::BAD_REQUEST,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "acme/deploy", "task": "t", "score": 5, "what_worked": long}),
            StatusCode::BAD_REQUEST,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "acme/deploy", "task": "t", "score": 5,
            "artifacts": [{"file_name": "a.txt", "content_base64": "not base64!"}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            reviewer.as_str(),
            json!({"skill_id": "acme/deploy", "task": "t", "score": 5, "totem": "GATHER-00000000"}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (token, body, want) in cases {
        let (st, b) = submit(&s, token, body.clone()).await;
        assert_eq!(st, want, "{body}: {b}");
    }
    let (_, listed) = s.get("/api/skills?q=no%2Fsuch", None).await;
    assert_eq!(listed["total"], 0, "unknown skills are not created");
    let (st, _) = s.get("/api/reviews/nosuchreview123", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn client_proofs_verify_only_with_the_reviewers_key_over_this_review() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "acme/lint").await;
    let mut key_of = Vec::new();
    for i in 0..4 {
        key_of.push(agent_keyed(&s, &format!("prover{i}"), true).await);
    }
    let review = json!({"skill_id": "acme/lint", "task": "Lint a repo", "score": 9,
        "what_worked": "caught bugs", "what_failed": "slow"});
    let proof_of = |id: &str, key: &SigningKey, review: &Value| {
        let hash = execution_hash(id, "acme/lint", review, None);
        json!({"execution_hash": hash, "signature": signed(key, &hash)})
    };

    // The reviewer's key over this review: verified. The PEM may differ in layout.
    let (id, token, key) = &key_of[0];
    let mut body = review.clone();
    body["proof"] = proof_of(id, key, &review);
    body["proof"]["public_key"] = json!(pem(key).replace('\n', "\r\n  "));
    let (st, b) = submit(&s, token, body).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(
        (b["proof_kind"].as_str(), b["proof_verified"].as_bool()),
        (Some("client"), Some(true)),
        "{b}"
    );

    // Signed by another key, even one the proof names: unverified, and says why.
    let (id, token, _) = &key_of[1];
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let mut body = review.clone();
    body["proof"] = proof_of(id, &stranger, &review);
    body["proof"]["public_key"] = json!(pem(&stranger));
    let (_, b) = submit(&s, token, body).await;
    assert_eq!(b["proof_verified"], false);
    assert!(
        b["proof_note"]
            .as_str()
            .is_some_and(|n| n.contains("registered key")),
        "{b}"
    );

    // A hash of other content (a better score than submitted): unverified.
    let (id, token, key) = &key_of[2];
    let mut flattering = review.clone();
    flattering["score"] = json!(10);
    let mut body = review.clone();
    body["proof"] = proof_of(id, key, &flattering);
    let (_, b) = submit(&s, token, body).await;
    assert_eq!(b["proof_verified"], false);
    assert!(
        b["proof_note"]
            .as_str()
            .is_some_and(|n| n.contains("not the hash of this review")),
        "{b}"
    );

    // A signature that is not base64: unverified, not an error.
    let (id, token, key) = &key_of[3];
    let mut body = review.clone();
    body["proof"] = proof_of(id, key, &review);
    body["proof"]["signature"] = json!("!!!");
    let (st, b) = submit(&s, token, body).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(b["proof_verified"], false);
}

#[tokio::test]
async fn a_challenge_is_used_up_only_by_an_accepted_review() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "acme/scan").await;
    publish(&s, &publisher, "acme/other").await;
    let (_, reviewer) = agent(&s, "reviewer", true).await;
    let (_, other) = agent(&s, "other", true).await;
    let (st, c) = post(
        &s,
        "/api/reviews/challenge",
        Some(&reviewer),
        json!({"skill_id": "acme/scan"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let (id, totem) = (
        c["challenge_id"].as_str().expect("id"),
        c["totem"].as_str().expect("totem"),
    );
    let good = json!({"skill_id": "acme/scan", "task": c["task"], "score": 7, "security_score": 6,
        "what_worked": format!("{totem}: found the secrets"), "challenge_id": id, "totem": totem});

    // Rejected submissions leave the challenge usable.
    let mut rejected = Vec::new();
    let mut unquoted = good.clone();
    unquoted["what_worked"] = json!("found the secrets");
    rejected.push((reviewer.as_str(), unquoted, "totem"));
    let mut no_security = good.clone();
    no_security
        .as_object_mut()
        .expect("object")
        .remove("security_score");
    rejected.push((reviewer.as_str(), no_security, "security_score"));
    let mut wrong_totem = good.clone();
    wrong_totem["totem"] = json!("GATHER-00000000");
    rejected.push((reviewer.as_str(), wrong_totem, "totem"));
    let mut other_skill = good.clone();
    other_skill["skill_id"] = json!("acme/other");
    rejected.push((reviewer.as_str(), other_skill, "challenge_id"));
    let mut half = good.clone();
    half.as_object_mut().expect("object").remove("totem");
    rejected.push((reviewer.as_str(), half, "challenge_id"));
    rejected.push((other.as_str(), good.clone(), "challenge_id"));
    for (token, body, field) in rejected {
        let (st, b) = submit(&s, token, body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert!(b["data"][field].is_object(), "{field}: {b}");
    }

    let (st, b) = submit(&s, &reviewer, good.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["challenged"], true);
    let (_, r) = s
        .get(
            &format!("/api/reviews/{}", b["review_id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(r["challenged"], true);
    assert_eq!(r["aspects"], c["aspects"]);
    // Once.
    let (st, b) = submit(&s, &reviewer, good.clone()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["data"]["challenge_id"].is_object());

    // Two submissions racing with one challenge: one wins.
    let (st, c) = post(
        &s,
        "/api/reviews/challenge",
        Some(&reviewer),
        json!({"skill_id": "acme/other"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let totem = c["totem"].as_str().expect("totem");
    let body = json!({"skill_id": "acme/other", "task": "t", "score": 5, "security_score": 5,
        "what_failed": totem, "challenge_id": c["challenge_id"], "totem": totem});
    let racers = (0..6).map(|_| submit(&s, &reviewer, body.clone()));
    let statuses: Vec<StatusCode> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(|(st, _)| st)
        .collect();
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| s.is_success() || s.is_client_error()),
        "{statuses:?}"
    );
}

/// Concurrent reviews of one skill: none is lost from its stats.
#[tokio::test]
async fn fifty_concurrent_reviews_all_count() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "acme/popular").await;
    let mut tokens = Vec::new();
    for i in 0..50 {
        tokens.push(agent(&s, &format!("fan{i}"), true).await.1);
    }
    let reviews = tokens.iter().enumerate().map(|(i, t)| {
        let body = json!({"skill_id": "acme/popular", "task": "t", "score": 1 + (i % 10)});
        submit(&s, t, body)
    });
    let answers = futures::future::join_all(reviews).await;
    assert!(
        answers.iter().all(|(st, _)| *st == StatusCode::CREATED),
        "{answers:?}"
    );
    let (_, skill) = s.get("/api/skills/acme%2Fpopular", None).await;
    assert_eq!(skill["review_count"], 50);
    assert_eq!(skill["avg_score"], 5.5);
}

/// `GET /api/reviews` honours its filters (the original ignored them), pages, and shows
/// the newest first; a skill shows its newest reviews.
#[tokio::test]
async fn reviews_are_listed_newest_first_with_filters() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let skill = publish(&s, &publisher, "acme/listed").await;
    publish(&s, &publisher, "acme/elsewhere").await;
    let mut ids = Vec::new();
    let mut first_agent = String::new();
    for i in 0..3 {
        let (agent_id, token) = agent(&s, &format!("lister{i}"), true).await;
        let body = json!({"skill_id": "acme/listed", "task": format!("task {i}"), "score": 5 + i});
        let (st, b) = submit(&s, &token, body).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        ids.push(b["review_id"].as_str().expect("id").to_string());
        if i == 0 {
            first_agent = agent_id;
            let other = json!({"skill_id": "acme/elsewhere", "task": "t", "score": 3});
            assert_eq!(submit(&s, &token, other).await.0, StatusCode::CREATED);
        }
    }
    let listed = |b: &Value| -> Vec<String> {
        b["reviews"]
            .as_array()
            .expect("reviews")
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let (st, all) = s.get("/api/reviews", None).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(all["total"], 4);
    let (_, by_name) = s.get("/api/reviews?skill_id=acme%2Flisted", None).await;
    assert_eq!(by_name["total"], 3);
    assert_eq!(listed(&by_name), newest_first);
    assert_eq!(by_name["reviews"][0]["skill_name"], "acme/listed");
    assert_eq!(by_name["reviews"][0]["task"], "task 2");
    assert_eq!(by_name["reviews"][0]["score"], 7.0);
    assert!(by_name["reviews"][0]["created"]
        .as_str()
        .is_some_and(|c| c.len() > 10));
    let by_id = format!(
        "/api/reviews?skill_id={}&limit=1&offset=1",
        skill["id"].as_str().expect("id")
    );
    let (_, page) = s.get(&by_id, None).await;
    assert_eq!(
        (
            page["total"].clone(),
            page["limit"].clone(),
            page["offset"].clone()
        ),
        (json!(3), json!(1), json!(1))
    );
    assert_eq!(listed(&page), [newest_first[1].clone()]);
    let (_, mine) = s
        .get(&format!("/api/reviews?agent_id={first_agent}"), None)
        .await;
    assert_eq!(mine["total"], 2);
    let (_, both) = s
        .get(
            &format!(
                "/api/reviews?agent_id={first_agent}&skill_id=acme%2Felsewhere&status=complete"
            ),
            None,
        )
        .await;
    assert_eq!(both["total"], 1);
    let (_, none) = s.get("/api/reviews?status=queued", None).await;
    assert_eq!(none["total"], 0);
    let (st, b) = s.get("/api/reviews?skill_id=no%2Fsuch", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    for bad in ["?status=done", "?limit=0", "?limit=101", "?offset=-1"] {
        let (st, b) = s.get(&format!("/api/reviews{bad}"), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }

    // The skill shows its reviews, newest first.
    let (_, detail) = s.get("/api/skills/acme%2Flisted", None).await;
    assert_eq!(listed(&detail), newest_first);
    assert_eq!(detail["review_count"], 3);
    assert_eq!(detail["reviews"][2]["agent_id"], first_agent.as_str());
}

/// Files from a review are stored with it, listed on it with the type read from their
/// bytes, downloadable sandboxed, replaced with the review, and bounded in count and size.
#[tokio::test]
async fn review_artifacts_are_stored_listed_and_served() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "acme/files").await;
    let (_, reviewer) = agent(&s, "reviewer", true).await;
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64]].concat();
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    let body = json!({"skill_id": "acme/files", "task": "t", "score": 7, "artifacts": [
        {"file_name": "a-log.txt", "content_base64": B64.encode(b"all tests passed\n")},
        {"file_name": "b-shot.png", "content_base64": B64.encode(&png), "mime_type": "text/html"},
        {"file_name": "c-page.html", "content_base64": B64.encode(&html)},
    ]});
    let (st, b) = submit(&s, &reviewer, body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["artifact_count"], 3);
    let review_id = b["review_id"].as_str().expect("id").to_string();

    let (_, r) = s.get(&format!("/api/reviews/{review_id}"), None).await;
    let listed = r["artifacts"].as_array().expect("artifacts").clone();
    assert_eq!(listed.len(), 3, "{r}");
    assert_eq!(listed[0]["file_name"], "a-log.txt");
    assert_eq!(
        listed[1]["mime_type"], "image/png",
        "the type comes from the bytes"
    );
    assert_eq!(listed[1]["size_bytes"], png.len());
    for (a, bytes) in listed
        .iter()
        .zip([b"all tests passed\n".to_vec(), png.clone(), html.clone()])
    {
        let url = format!("{}{}", s.base, a["url"].as_str().expect("url"));
        let got = s.http.get(&url).send().await.expect("download");
        assert_eq!(got.status(), StatusCode::OK, "{url}");
        let csp = got.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_string();
        assert!(csp.contains("sandbox"), "{csp}");
        assert_eq!(got.headers()["x-content-type-options"], "nosniff");
        assert_eq!(got.bytes().await.expect("bytes").to_vec(), bytes);
    }

    // Replacing the review replaces its files.
    let mut again = body.clone();
    again["artifacts"] = json!([{"file_name": "d-only.txt", "content_base64": B64.encode(b"one")}]);
    let (st, b) = submit(&s, &reviewer, again).await;
    assert_eq!(
        (st, b["artifact_count"].clone()),
        (StatusCode::CREATED, json!(1)),
        "{b}"
    );
    let (_, r) = s.get(&format!("/api/reviews/{review_id}"), None).await;
    assert_eq!(r["artifacts"].as_array().map(Vec::len), Some(1), "{r}");
    let old = format!("{}{}", s.base, listed[0]["url"].as_str().expect("url"));
    assert_eq!(
        s.http.get(&old).send().await.expect("old").status(),
        StatusCode::NOT_FOUND
    );

    // Bounds: nothing is written past them.
    let (_, other) = agent(&s, "other", true).await;
    let one = json!({"file_name": "x.bin", "content_base64": B64.encode(b"x")});
    let big =
        json!({"file_name": "big.bin", "content_base64": B64.encode(vec![7u8; (10 << 20) + 1])});
    let cases = [
        (json!(vec![one.clone(); 11]), StatusCode::BAD_REQUEST),
        (json!([big]), StatusCode::PAYLOAD_TOO_LARGE),
        (
            json!([{"file_name": "e.bin", "content_base64": ""}]),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!([{"file_name": "", "content_base64": "eA=="}]),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (artifacts, want) in cases {
        let body =
            json!({"skill_id": "acme/files", "task": "t", "score": 5, "artifacts": artifacts});
        let (st, b) = submit(&s, &other, body).await;
        assert_eq!(st, want, "{b}");
        assert_eq!(b["status"], want.as_u16());
    }
    let (_, mine) = s.get("/api/reviews?skill_id=acme%2Ffiles", None).await;
    assert_eq!(mine["total"], 1, "the refused reviews left nothing behind");
}

/// What the fake Gemini received: the model path, the key header and the body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>;

/// A stand-in for Gemini's `generateContent`: checks what Gather sends and answers by
/// the model named in the path (`good`, `fenced`, `failing`, `prose`, `slow`).
async fn fake_gemini(
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
) -> String {
    use poem::{handler, web::Data, web::Json as PJson, web::Path as PPath, EndpointExt, Route};
    #[handler]
    async fn generate(
        PPath(model): PPath<String>,
        req: &poem::Request,
        PJson(body): PJson<Value>,
        Data(seen): Data<&Seen>,
    ) -> poem::Response {
        let key = req.header("x-goog-api-key").unwrap_or_default().to_string();
        seen.lock().expect("lock").push((model.clone(), key, body));
        let answer =
            |text: &str| {
                poem::Response::builder().content_type("application/json").body(
                json!({"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}]})
                    .to_string(),
            )
            };
        let task = r#"{"task": "Review acme/written: install it in a scratch directory and list every file it writes.", "aspects": ["installation safety", "output quality"]}"#;
        match model.as_str() {
            "good:generateContent" => answer(task),
            "fenced:generateContent" => answer(&format!("```json\n{task}\n```")),
            "prose:generateContent" => answer("Here is a great task for you!"),
            "slow:generateContent" => {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                answer(task)
            }
            _ => poem::Response::builder()
                .status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
                .body("{\"error\": {\"code\": 500}}"),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let app = Route::new()
        .at("/v1beta/models/:model", poem::post(generate))
        .data(seen);
    tokio::spawn(poem::Server::new(poem::listener::TcpListener::bind(addr.to_string())).run(app));
    let base = format!("http://{addr}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    base
}

#[tokio::test]
async fn a_task_provider_writes_challenges_and_the_template_stands_in() {
    use gather::reviews::task_provider::{configure, Gemini};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let base = fake_gemini(seen.clone()).await;
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    let (st, _) = post(
        &s,
        "/api/skills",
        Some(&publisher),
        json!({"id": "acme/written", "description": "Writes files", "install_required": true}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, reviewer) = agent(&s, "reviewer", true).await;
    let challenge = || {
        post(
            &s,
            "/api/reviews/challenge",
            Some(&reviewer),
            json!({"skill_id": "acme/written"}),
        )
    };

    for model in ["good", "fenced"] {
        configure(
            &s.app,
            std::sync::Arc::new(Gemini::new(&s.app, &base, model, "test-key")),
        )
        .expect("provider");
        let (st, c) = challenge().await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        assert!(
            c["task"]
                .as_str()
                .is_some_and(|t| t.starts_with("Review acme/written: install")),
            "{model}: {c}"
        );
        assert_eq!(
            c["aspects"],
            json!(["installation safety", "output quality"])
        );
    }
    {
        let seen = seen.lock().expect("lock");
        let (_, key, body) = &seen[0];
        assert_eq!(key, "test-key", "the key goes in the x-goog-api-key header");
        assert!(body["system_instruction"]["parts"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("JSON only")));
        let prompt = body["contents"][0]["parts"][0]["text"]
            .as_str()
            .expect("prompt");
        assert!(
            prompt.contains("Skill: acme/written") && prompt.contains("Install required: true"),
            "{prompt}"
        );
        assert!(prompt.contains("Coverage: no reviews yet"), "{prompt}");
    }

    // Any failure: the template task, at once or after the timeout.
    for model in ["failing", "prose"] {
        configure(
            &s.app,
            std::sync::Arc::new(Gemini::new(&s.app, &base, model, "k")),
        )
        .expect("provider");
        let (st, c) = challenge().await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        assert!(
            c["task"]
                .as_str()
                .is_some_and(|t| t.starts_with("Review the skill 'acme/written'")),
            "{model}: {c}"
        );
        assert_eq!(c["aspects"].as_array().map(Vec::len), Some(2));
    }
    let mut slow = Gemini::new(&s.app, &base, "slow", "k");
    slow.timeout = std::time::Duration::from_millis(500);
    configure(&s.app, std::sync::Arc::new(slow)).expect("provider");
    let (st, c) = challenge().await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert!(
        c["task"]
            .as_str()
            .is_some_and(|t| t.starts_with("Review the skill")),
        "{c}"
    );
    let unreachable = "http://127.0.0.1:9";
    configure(
        &s.app,
        std::sync::Arc::new(Gemini::new(&s.app, unreachable, "good", "k")),
    )
    .expect("provider");
    let (st, c) = challenge().await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    assert!(
        c["task"]
            .as_str()
            .is_some_and(|t| t.starts_with("Review the skill")),
        "{c}"
    );
}
