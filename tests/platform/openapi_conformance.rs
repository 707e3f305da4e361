//! The OpenAPI document matches the server: Schemathesis (PyPI, installed by
//! `scripts/test.sh`) generates requests from `/openapi.json` -- valid ones, invalid
//! ones, sequences that follow the data -- and runs every one of its checks on the
//! answers: documented status codes, content types, headers and schemas, valid input
//! accepted, invalid input refused, auth not ignored. `tests/openapi/schemathesis.toml`
//! says where a schema cannot hold the whole rule.

use crate::common::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// Test cases per operation and phase: enough to cover every operation's parameters in
/// a CI run of a minute or two; `GATHER_ST_EXAMPLES` asks for more.
const EXAMPLES: &str = "25";
/// The same cases every run, so a failure in CI can be replayed; `GATHER_ST_SEED`
/// explores others.
const SEED: &str = "20261202";

/// Schemathesis's command line, through the Python that `scripts/test.sh` installed it
/// into (no need for its script to be on `PATH`).
fn schemathesis() -> Command {
    let mut c = Command::new("python3");
    c.args(["-m", "schemathesis.cli"]);
    c
}

async fn ok(s: &Server, method: Method, path: &str, token: Option<&str>, body: Value) -> Value {
    let (st, b) = s.call(method, path, token, Some(body)).await;
    assert!(st.is_success(), "{path}: {st} {b}");
    b
}

/// An agent's token, by the challenge-response login.
async fn agent_token(s: &Server) -> String {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let pem = key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .expect("pem");
    let agent = json!({"name": "fuzzer", "public_key": pem});
    ok(s, Method::POST, "/api/agents/register", None, agent).await;
    let key_only = json!({"public_key": pem});
    let c = ok(s, Method::POST, "/api/agents/challenge", None, key_only).await;
    let nonce = B64
        .decode(c["nonce"].as_str().expect("nonce"))
        .expect("base64");
    let sig = B64.encode(key.sign(&nonce).to_bytes());
    let login = json!({"public_key": pem, "signature": sig});
    let a = ok(s, Method::POST, "/api/agents/authenticate", None, login).await;
    format!("Bearer {}", a["token"].as_str().expect("token"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_the_server_as_documented() {
    let version = schemathesis().arg("--version").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "schemathesis is not installed: run `python3 -m pip install schemathesis` (scripts/test.sh does)"
    );
    // A review runner that answers nothing: server-run reviews are queued and fail.
    let runner = gather::runner::RunnerConfig::parse("true", 1, std::time::Duration::from_secs(5))
        .expect("a command");
    let s = start_with(
        move |app| async move {
            gather::setup(&app).await.expect("gather setup");
            gather::runner::configure(&app, runner)
                .await
                .expect("runner");
        },
        gather::api(),
    )
    .await;
    // Every request comes from 127.0.0.1: Gather's limits would stop the run. The
    // fuzzing agent is not verified, and may publish skills all the same.
    let high = json!({"perMinute": 1000000, "burst": 1000000});
    // The shop talks to local Gelato and CoinGecko stand-ins.
    let upstreams = crate::upstreams::Upstreams::start().await;
    crate::shop::stock(&upstreams);
    let mut limits = upstreams.settings("fuzz-key");
    limits["shop"]["bchAddress"] = json!("bitcoincash:qfuzzshop");
    limits["shop"]["gelatoWebhookSecret"] = json!("fuzz-hook-secret");
    limits["rateLimits"] = json!({"perIp": high, "registeredWrites": high, "designUploads": high});
    limits["marketplace"] = json!({"verifiedOnly": false});
    let (st, b) = s
        .su(Method::PATCH, "/api/gather/settings", Some(limits))
        .await;
    assert_eq!(st, StatusCode::OK, "raise the limits: {b}");
    // What the operations on one collection act on (see schemathesis.toml).
    s.create_collection(json!({
        "name": "posts",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text", "max": 200},
            {"name": "views", "type": "number"},
            {"name": "public", "type": "bool"},
            {"name": "created", "type": "autodate", "onCreate": true},
        ],
    }))
    .await;
    let post = s
        .create_record("posts", json!({"title": "hello", "views": 1}))
        .await;
    let (user_id, user_token) = s.user("fuzz@example.com").await;
    let agent = agent_token(&s).await;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let run = schemathesis()
        .arg("--config-file")
        .arg(root.join("tests/openapi/schemathesis.toml"))
        .arg("run")
        .arg(format!("{}/openapi.json", s.base))
        // One worker: with two, CPython 3.11's `ast` can race inside Hypothesis ("AST
        // constructor recursion depth mismatch"), an error of the tool, not of the server.
        .args(["--checks", "all", "--workers", "1", "--no-color"])
        .args(["--max-examples", &env("GATHER_ST_EXAMPLES", EXAMPLES)])
        .args(["--seed", &env("GATHER_ST_SEED", SEED)])
        .env("GATHER_ST_TOKEN", &s.su_token)
        .env("GATHER_ST_USER_TOKEN", &user_token)
        .env("GATHER_ST_USER_ID", &user_id)
        .env("GATHER_ST_AGENT_TOKEN", &agent)
        .env("GATHER_ST_RECORD_ID", post["id"].as_str().expect("id"))
        .output()
        .expect("run schemathesis");
    let out = String::from_utf8_lossy(&run.stdout);
    // Exit status 0: no failure; 1: failures found; anything else: it could not run.
    assert!(
        run.status.success(),
        "schemathesis ({}) on {}:\n{out}\n{}",
        run.status,
        engine(),
        String::from_utf8_lossy(&run.stderr)
    );
    // The run reached the server: every operation was tested.
    assert!(
        out.contains("Tested: ") && !out.contains("Tested: 0"),
        "nothing was tested:\n{out}"
    );
    let (st, _) = s.get("/api/health", None).await;
    assert_eq!(st, StatusCode::OK, "the server survived the run");
}
