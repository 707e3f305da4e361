//! Proofs at HTTP level: the server's attestation key is kept outside the database, the
//! same for every instance and restart, and only its public half is served.

use crate::agents::gather_server;
use gather::proofs::server_key::ServerKey;
use reqwest::StatusCode;
use serde_json::Value;

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
