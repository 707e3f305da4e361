//! Agent identity: registration, login by challenge and Ed25519 signature, and
//! verification through a tweet. Challenges are rows (`agent_challenges`), so any
//! instance can answer a challenge another one issued, and each works once.

use super::keys::{parse_public_key, AgentKey};
use super::{agent_auth, inbox, list_as_system, state, twitter, Agent};
use base64::Engine;
use ed25519_dalek::{Signature, Verifier};
use framework::core::error::{Error, Result};
use framework::core::fields::{format_datetime, FieldError};
use framework::core::records::{self, ListParams, Record};
use framework::core::{system_request, App};
use rand::RngCore;
use serde_json::{json, Map, Value};

/// Pending challenges kept per agent; older ones are dropped when a new one is made.
const MAX_PENDING: usize = 5;
/// Verification codes: `gtr-` and four of these (no I, O, 0, 1).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn text(rec: &Record, key: &str) -> String {
    rec.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn agent_from(rec: &Record) -> Agent {
    Agent {
        id: text(rec, "id"),
        name: text(rec, "name"),
        fingerprint: text(rec, "pubkey_fingerprint"),
        verified: rec
            .get("verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        twitter_handle: text(rec, "twitter_handle"),
    }
}

/// The first record of `collection` matching `filter` (with its bound values), newest
/// first.
async fn first<'a>(
    app: &App,
    collection: &str,
    filter: &str,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<Option<Record>> {
    let params = ListParams {
        per_page: 1,
        sort: Some("-created".into()),
        skip_total: true,
        ..ListParams::filtered(filter, values)
    };
    let found = list_as_system(app, collection, params).await?;
    Ok(found.items.into_iter().next())
}

pub async fn find_agent(app: &App, id: &str) -> Result<Option<Agent>> {
    Ok(agent_record(app, id).await?.as_ref().map(agent_from))
}

/// The stored `agents` row with this id, read by id (it runs on every agent request).
async fn agent_record(app: &App, id: &str) -> Result<Option<Record>> {
    if !framework::core::ids::is_valid_record_id(id) {
        return Ok(None);
    }
    let c = app.collection("agents")?;
    match records::view(app, &c, id, &system_request(app)?, None).await {
        Ok(rec) => Ok(Some(rec)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn agent_record_by_key(app: &App, key: &AgentKey) -> Result<Option<Record>> {
    first(
        app,
        "agents",
        "pubkey_fingerprint = {:fp}",
        [("fp", json!(key.fingerprint))],
    )
    .await
}

fn read_key(pem: &str) -> Result<AgentKey> {
    parse_public_key(pem).map_err(|e| {
        Error::field(
            "Invalid Ed25519 public key PEM.",
            "public_key",
            FieldError::new("validation_invalid_public_key", e.to_string()),
        )
    })
}

fn not_registered() -> Error {
    Error::NotFound(
        "No agent is registered with this public key: register it with POST /api/agents/register."
            .into(),
    )
}

pub struct Registered {
    pub agent_id: String,
    pub verification_code: String,
    pub tweet_template: String,
    pub code_expires_at: String,
    pub code_minutes: u64,
}

fn verification_code() -> String {
    let mut bytes = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    // 256 is a multiple of 32, so every character is equally likely.
    let code: String = bytes
        .iter()
        .map(|b| CODE_ALPHABET[(*b as usize) % CODE_ALPHABET.len()] as char)
        .collect();
    format!("gtr-{code}")
}

fn later(minutes_or_secs: chrono::Duration) -> String {
    format_datetime(chrono::Utc::now() + minutes_or_secs)
}

/// Registers a new agent with its public key (each key once). The welcome message is
/// sent by a hook on `agents`.
pub async fn register(
    app: &App,
    name: &str,
    description: &str,
    public_key: &str,
) -> Result<Registered> {
    let key = read_key(public_key)?;
    let settings = state(app)?.settings.get(app).await;
    let duplicate = || {
        Error::field(
            "This public key is already registered.",
            "public_key",
            FieldError::new(
                "validation_not_unique",
                "An agent with this public key exists: log in with POST /api/agents/challenge.",
            ),
        )
    };
    if agent_record_by_key(app, &key).await?.is_some() {
        return Err(duplicate());
    }
    let code = verification_code();
    let expires = later(chrono::Duration::minutes(settings.code_minutes as i64));
    let mut body = Map::new();
    body.insert("name".into(), json!(name.trim()));
    body.insert("description".into(), json!(description.trim()));
    body.insert("public_key".into(), json!(public_key));
    body.insert("pubkey_fingerprint".into(), json!(key.fingerprint));
    body.insert("verified".into(), json!(false));
    body.insert("verification_code".into(), json!(code));
    body.insert("code_expires_at".into(), json!(expires));
    let c = app.collection("agents")?;
    let rec = match records::create(app, &c, &system_request(app)?, body).await {
        Ok(r) => r,
        // Two registrations of one key at once: the unique index decides.
        Err(Error::Validation { fields, .. }) if fields.contains_key("pubkey_fingerprint") => {
            return Err(duplicate())
        }
        Err(e) => return Err(e),
    };
    Ok(Registered {
        agent_id: text(&rec, "id"),
        tweet_template: format!(
            "Registering my agent '{}' on {}! Code: {code}",
            name.trim(),
            settings.twitter.mention
        ),
        verification_code: code,
        code_expires_at: expires,
        code_minutes: settings.code_minutes,
    })
}

pub struct Challenge {
    pub nonce: String,
    pub expires_in: u64,
}

/// A new single-use challenge for a registered key. Several may be pending at once (so
/// someone who knows the public key cannot cancel the owner's login); the oldest go.
pub async fn challenge(app: &App, public_key: &str) -> Result<Challenge> {
    let key = read_key(public_key)?;
    let agent = agent_record_by_key(app, &key)
        .await?
        .ok_or_else(not_registered)?;
    let agent_id = text(&agent, "id");
    let settings = state(app)?.settings.get(app).await;
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let nonce = base64::engine::general_purpose::STANDARD.encode(raw);
    let c = app.collection("agent_challenges")?;
    let sys = system_request(app)?;
    let mut body = Map::new();
    body.insert("agent".into(), json!(agent_id));
    body.insert("nonce".into(), json!(nonce));
    body.insert(
        "expires".into(),
        json!(later(chrono::Duration::seconds(
            settings.challenge_seconds as i64
        ))),
    );
    records::create(app, &c, &sys, body).await?;
    // Expired challenges, and all but the newest few, are removed.
    let params = ListParams {
        per_page: 100,
        sort: Some("-created,-id".into()),
        skip_total: true,
        ..ListParams::filtered("agent = {:agent}", [("agent", json!(agent_id))])
    };
    let old = list_as_system(app, "agent_challenges", params).await?;
    let now = format_datetime(chrono::Utc::now());
    for (i, rec) in old.items.iter().enumerate() {
        if i >= MAX_PENDING || text(rec, "expires") <= now {
            let _ = records::delete(app, &c, &text(rec, "id"), &sys).await;
        }
    }
    Ok(Challenge {
        nonce,
        expires_in: settings.challenge_seconds,
    })
}

pub struct Authenticated {
    pub token: String,
    pub agent_id: String,
    pub expires_in: u64,
    pub unread_messages: i64,
}

/// Logs an agent in: `signature` (standard base64) must be its Ed25519 signature over
/// the raw bytes of a pending challenge's nonce (`nonce` picks one; otherwise any
/// pending one). The challenge is used up; the answer is a token.
pub async fn authenticate(
    app: &App,
    public_key: &str,
    signature: &str,
    nonce: Option<&str>,
) -> Result<Authenticated> {
    let key = read_key(public_key)?;
    let sig_bytes = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| bad_signature_encoding())?;
    let sig = Signature::from_slice(&sig_bytes).map_err(|_| bad_signature_encoding())?;
    let agent_rec = agent_record_by_key(app, &key)
        .await?
        .ok_or_else(not_registered)?;
    let agent = agent_from(&agent_rec);
    let c = app.collection("agent_challenges")?;
    let sys = system_request(app)?;
    let mut filter = "agent = {:agent} && expires > @now".to_string();
    let mut values = vec![("agent", json!(agent.id))];
    if let Some(n) = nonce.filter(|n| !n.is_empty()) {
        filter.push_str(" && nonce = {:nonce}");
        values.push(("nonce", json!(n)));
    }
    let params = ListParams {
        per_page: MAX_PENDING as u64,
        sort: Some("-created".into()),
        skip_total: true,
        ..ListParams::filtered(&filter, values)
    };
    let pending = list_as_system(app, "agent_challenges", params).await?;
    if pending.items.is_empty() {
        return Err(Error::BadRequest(
            "No pending challenge for this key: call POST /api/agents/challenge first (a challenge works once and expires after its expires_in seconds)."
                .into(),
        ));
    }
    let signed = pending.items.iter().find(|ch| {
        base64::engine::general_purpose::STANDARD
            .decode(text(ch, "nonce"))
            .is_ok_and(|raw| key.key.verify(&raw, &sig).is_ok())
    });
    let Some(signed) = signed else {
        return Err(Error::Unauthorized(
            "The signature does not match a pending challenge: sign the base64-decoded nonce bytes with the agent's private key."
                .into(),
        ));
    };
    // Whoever deletes the row uses the challenge; a second use (a replay) finds it gone.
    if let Err(e) = records::delete(app, &c, &text(signed, "id"), &sys).await {
        return Err(match e {
            Error::NotFound(_) => Error::Unauthorized("This challenge was already used.".into()),
            other => other,
        });
    }
    let settings = state(app)?.settings.get(app).await;
    let token = agent_auth::issue(app, &agent, &settings.jwt_issuer, settings.jwt_seconds)?;
    Ok(Authenticated {
        token,
        unread_messages: inbox::unread_count(app, &agent.id).await?,
        agent_id: agent.id,
        expires_in: settings.jwt_seconds,
    })
}

fn bad_signature_encoding() -> Error {
    Error::field(
        "Invalid signature encoding.",
        "signature",
        FieldError::new(
            "validation_invalid_signature",
            "The signature must be the 64-byte Ed25519 signature in standard base64 (with padding).",
        ),
    )
}

pub struct Verified {
    pub agent_id: String,
    pub twitter_handle: String,
}

/// Verifies an agent by a tweet that carries its code and the required mention. One
/// Twitter account may verify at most one agent per 24 hours.
pub async fn verify(app: &App, agent_id: &str, tweet_url: &str) -> Result<Verified> {
    let Some(full) = agent_record(app, agent_id).await? else {
        return Err(Error::NotFound("No agent with this id.".into()));
    };
    let rec = agent_from(&full);
    let c = app.collection("agents")?;
    let sys = system_request(app)?;
    if rec.verified {
        return Err(Error::BadRequest("This agent is already verified.".into()));
    }
    let code = text(&full, "verification_code");
    let expires = text(&full, "code_expires_at");
    if code.is_empty() || (!expires.is_empty() && expires <= format_datetime(chrono::Utc::now())) {
        return Err(Error::BadRequest(
            "The verification code has expired: register again with a new key.".into(),
        ));
    }
    let settings = state(app)?.settings.get(app).await;
    let tweet = twitter::fetch(app, &settings.twitter.oembed_url, tweet_url).await?;
    let html = tweet.html.to_lowercase();
    if !html.contains(&code.to_lowercase()) {
        return Err(Error::BadRequest(format!(
            "Tweet verification failed: the tweet does not contain the code {code}."
        )));
    }
    let mention = settings.twitter.mention.to_lowercase();
    if !html.contains(&mention) {
        return Err(Error::BadRequest(format!(
            "Tweet verification failed: the tweet does not mention {}.",
            settings.twitter.mention
        )));
    }
    let handle = tweet.handle;
    let day_ago = format_datetime(chrono::Utc::now() - chrono::Duration::hours(24));
    let recent = first(
        app,
        "agents",
        "twitter_handle = {:handle} && verified = true && verified_at > {:since} && id != {:id}",
        [
            ("handle", json!(handle)),
            ("since", json!(day_ago)),
            ("id", json!(rec.id)),
        ],
    )
    .await?;
    if recent.is_some() {
        return Err(Error::TooManyRequests {
            message: format!(
                "@{handle} verified another agent in the last 24 hours: one agent per Twitter account per day."
            ),
            retry_after: 3600,
        });
    }
    let mut body = Map::new();
    body.insert("verified".into(), json!(true));
    body.insert("twitter_handle".into(), json!(handle));
    body.insert(
        "verified_at".into(),
        json!(format_datetime(chrono::Utc::now())),
    );
    body.insert("verification_code".into(), json!(""));
    records::update(app, &c, &rec.id, &sys, body).await?;
    Ok(Verified {
        agent_id: rec.id,
        twitter_handle: handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_look_like_gtr_and_four_safe_characters() {
        for _ in 0..200 {
            let c = verification_code();
            assert_eq!(c.len(), 8);
            assert!(c.starts_with("gtr-"));
            assert!(c[4..].bytes().all(|b| CODE_ALPHABET.contains(&b)), "{c}");
        }
    }
}
