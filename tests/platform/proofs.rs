//! Proofs at HTTP level: the server's attestation key is kept outside the database, the
//! same for every instance and restart, and only its public half is served; proofs are
//! listed, read and checked again read-only.

use crate::agents::{gather_server, pem, post};
use crate::reviews::{execution_hash, publish, signed, submit};
use crate::skills::{agent, agent_keyed, marketplace};
use ed25519_dalek::SigningKey;
use gather::proofs::server_key::ServerKey;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn the_attestation_key_is_published_and_kept_outside_the_database() {
    let s = gather_server().await;
    let (st, key) = s.get("/api/proofs/key", None).await;
    assert_eq!(st, StatusCode::OK, "{key}");
    assert_eq!(key["algorithm"], "ed25519");
    let pem = key["public_key"].as_str().expect("pem");
    let parsed = gather::keys::parse_public_key(pem).expect("an Ed25519 SPKI PEM");
    assert_eq!(key["fingerprint"], parsed.fingerprint.as_str());

    // The key comes from a 0600 file in the secrets directory.
    let file = s
        .config()
        .secrets_dir
        .expect("secrets dir")
        .join("attestation.key");
    let secret = std::fs::read(&file).expect("attestation.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        ServerKey::from_secret(&secret).expect("key").public_pem,
        pem
    );
    // The secret is in no answer and no settings document.
    let secret_text = String::from_utf8_lossy(&secret).to_string();
    for path in ["/discover", "/help", "/api/gather/settings"] {
        let (_, b) = s.su(reqwest::Method::GET, path, None).await;
        assert!(!b.to_string().contains(&secret_text), "{path}");
    }
    let (_, discover) = s.get("/discover", None).await;
    assert_eq!(
        discover["key_endpoints"]["attestation_key"],
        "GET /api/proofs/key"
    );

    // Another instance on the same database and secrets signs with the same key.
    let (twin, _stop) = s
        .twin_with(
            |app| async move { gather::setup(&app).await.expect("gather setup") },
            gather::api(),
        )
        .await;
    let r = s
        .http
        .get(format!("{twin}/api/proofs/key"))
        .send()
        .await
        .expect("twin");
    let twin_key: Value = r.json().await.expect("json");
    assert_eq!(twin_key["public_key"], key["public_key"]);
}

/// Proofs listed, read, and checked again: the forged proof of weakness 10 stays
/// unverified whoever asks, and a review edited after it was signed no longer checks out.
#[tokio::test]
async fn proofs_are_listed_read_and_checked_again_without_changing_them() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish(&s, &publisher, "acme/proved").await;
    let review = json!({"skill_id": "acme/proved", "task": "Prove it", "score": 8,
        "what_worked": "all", "what_failed": "none"});
    let hash_for = |id: &str| execution_hash(id, "acme/proved", &review, None);

    // A client proof with the reviewer's key, one with a stranger's key naming that key,
    // and an attestation.
    let (honest_id, honest, key) = agent_keyed(&s, "honest", true).await;
    let mut body = review.clone();
    let hash = hash_for(&honest_id);
    body["proof"] = json!({"execution_hash": hash, "signature": signed(&key, &hash)});
    let (st, good) = submit(&s, &honest, body).await;
    assert_eq!(st, StatusCode::CREATED, "{good}");
    let (forger_id, forger) = agent(&s, "forger", true).await;
    let stranger = SigningKey::from_bytes(&[5; 32]);
    let hash = hash_for(&forger_id);
    let mut body = review.clone();
    body["proof"] = json!({"execution_hash": hash, "signature": signed(&stranger, &hash),
        "public_key": pem(&stranger)});
    let (_, forged) = submit(&s, &forger, body).await;
    assert_eq!(forged["proof_verified"], false);
    let (_, plain) = agent(&s, "plain", true).await;
    let (_, attested) = submit(&s, &plain, review.clone()).await;
    assert_eq!(attested["proof_kind"], "attestation");
    let id_of = |b: &Value| b["proof_id"].as_str().expect("proof id").to_string();
    let (good_id, forged_id, attested_id) = (id_of(&good), id_of(&forged), id_of(&attested));

    // Newest first, filtered, paged.
    let (st, all) = s.get("/api/proofs", None).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(all["total"], 3);
    let ids: Vec<&str> = all["proofs"]
        .as_array()
        .expect("proofs")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, [&attested_id, &forged_id, &good_id]);
    assert_eq!(all["proofs"][0]["skill_id"], "acme/proved");
    assert_eq!(all["proofs"][0]["kind"], "attestation");
    let (_, verified) = s.get("/api/proofs?verified=true", None).await;
    assert_eq!(verified["total"], 1);
    assert_eq!(verified["proofs"][0]["id"], good_id.as_str());
    let (_, clients) = s
        .get("/api/proofs?kind=client&limit=1&offset=1", None)
        .await;
    assert_eq!(clients["total"], 2);
    assert_eq!(clients["proofs"][0]["id"], good_id.as_str());
    let review_id = good["review_id"].as_str().expect("review");
    let (_, of_review) = s
        .get(&format!("/api/proofs?review_id={review_id}"), None)
        .await;
    assert_eq!(of_review["total"], 1);
    for bad in ["?kind=other", "?limit=0", "?limit=101", "?verified=maybe"] {
        let (st, b) = s.get(&format!("/api/proofs{bad}"), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }

    // One proof in full.
    let (st, p) = s.get(&format!("/api/proofs/{good_id}"), None).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["review_id"], review_id);
    assert_eq!(p["skill_id"], "acme/proved");
    assert_eq!(p["task"], "Prove it");
    assert_eq!(p["kind"], "client");
    assert_eq!(p["identifier"], hash_for(&honest_id).as_str());
    assert_eq!(p["verified"], true);
    assert!(p["created"].as_str().is_some_and(|c| c.len() > 10));
    let (st, _) = s.get("/api/proofs/nosuchproof1234", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/api/proofs/key", None).await;
    assert_eq!(st, StatusCode::OK, "the key route is not taken for an id");

    // Checked again, anonymously: each says what it checked; nothing stored changes.
    let verify = |id: String| {
        let s = &s;
        async move { post(s, &format!("/api/proofs/{id}/verify"), None, json!({})).await }
    };
    let (st, v) = verify(good_id.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["valid"].clone(), v["verified"].clone()),
        (json!(true), json!(true))
    );
    let names: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["review", "reviewer_key", "execution_hash", "signature"]
    );
    let (_, v) = verify(forged_id.clone()).await;
    assert_eq!(
        (v["valid"].clone(), v["verified"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("signature")),
        "{v}"
    );
    let (_, still) = s.get(&format!("/api/proofs/{forged_id}"), None).await;
    assert_eq!(still["verified"], false, "verify-proof never flips a proof");
    let (_, v) = verify(attested_id.clone()).await;
    assert_eq!(
        (v["valid"].clone(), v["verified"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    assert_eq!(v["kind"], "attestation");

    // An operator edits the reviews: the signed and the attested content no longer match.
    for b in [&good, &attested] {
        let id = b["review_id"].as_str().expect("review");
        let (st, r) = s
            .su(
                Method::PATCH,
                &format!("/api/collections/reviews/records/{id}"),
                Some(json!({"score": 10})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    let (_, v) = verify(good_id).await;
    assert_eq!(v["valid"], false, "{v}");
    let failed: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["passed"] == false)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(failed, ["execution_hash"]);
    let (_, v) = verify(attested_id).await;
    assert_eq!(v["valid"], false, "{v}");
    let (st, b) = post(&s, "/api/proofs/nosuchproof1234/verify", None, json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
}
