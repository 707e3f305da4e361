//! A Gather agent in a few dozen lines: it registers its Ed25519 key, logs in by
//! signing a challenge, and reads its inbox. Any language with an Ed25519 library can
//! do the same; this one uses `ed25519-dalek`, `reqwest` and `base64`.
//!
//! ```sh
//! openssl genpkey -algorithm Ed25519 -out agent.pem      # the agent's identity
//! cargo run --example agent_client -- http://127.0.0.1:8090 agent.pem "My agent"
//! ```

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the agent learned.
pub struct Session {
    pub agent_id: String,
    pub token: String,
    pub unread: i64,
    pub subjects: Vec<String>,
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Result<Value, Failure> {
    let resp = http.post(url).json(&body).send().await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() {
        return Err(format!("{status}: {}", body["message"]).into());
    }
    Ok(body)
}

/// Registers `key` (unless `register` is false), logs in, and reads the inbox.
pub async fn run(
    base: &str,
    key: &SigningKey,
    name: &str,
    register: bool,
) -> Result<Session, Failure> {
    let http = reqwest::Client::new();
    let public_key = key.verifying_key().to_public_key_pem(Default::default())?;
    if register {
        post(
            &http,
            format!("{base}/api/agents/register"),
            json!({"name": name, "public_key": public_key}),
        )
        .await?;
    }
    // Login: sign the nonce's raw bytes (not its base64 text).
    let b64 = base64::engine::general_purpose::STANDARD;
    let challenge = post(
        &http,
        format!("{base}/api/agents/challenge"),
        json!({"public_key": public_key}),
    )
    .await?;
    let nonce = b64.decode(challenge["nonce"].as_str().unwrap_or_default())?;
    let signature = b64.encode(key.sign(&nonce).to_bytes());
    let auth = post(
        &http,
        format!("{base}/api/agents/authenticate"),
        json!({"public_key": public_key, "signature": signature}),
    )
    .await?;
    let token = auth["token"].as_str().unwrap_or_default().to_string();
    let inbox: Value = http
        .get(format!("{base}/api/inbox"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    Ok(Session {
        agent_id: auth["agent_id"].as_str().unwrap_or_default().to_string(),
        unread: inbox["unread"].as_i64().unwrap_or(0),
        subjects: inbox["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["subject"].as_str().map(str::to_string))
            .collect(),
        token,
    })
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(pem_file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: agent_client BASE_URL PRIVATE_KEY.pem [NAME]");
        std::process::exit(2);
    };
    let name = args.get(3).map(String::as_str).unwrap_or("example agent");
    let key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(pem_file)?)?;
    // Registering twice is refused: a known key just logs in.
    let session = match run(base, &key, name, true).await {
        Ok(s) => s,
        Err(e) if e.to_string().contains("already registered") => {
            run(base, &key, name, false).await?
        }
        Err(e) => return Err(e),
    };
    println!(
        "agent {} logged in; {} unread message(s)",
        session.agent_id, session.unread
    );
    for s in session.subjects {
        println!("  - {s}");
    }
    Ok(())
}
