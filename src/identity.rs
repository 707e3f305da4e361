//! Agent identity: registration, login by challenge and Ed25519 signature, and
//! verification through a tweet. Challenges are rows (`agent_challenges`), so any
//! instance can answer a challenge another one issued, and each works once.

use super::keys::{parse_public_key, AgentKey};
use super::{agent_auth, inbox, state, twitter, Agent};
use base64::Engine;
use ed25519_dalek::{Signature, Verifier};
use framework::collections::FieldError;
use framework::records::{format_datetime, Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use rand::RngCore;
use serde_json::json;

/// Pending challenges kept per agent; older ones are dropped when a new one is made.
const MAX_PENDING: usize = 5;
/// Verification codes: `gtr-` and four of these (no I, O, 0, 1).
pub(crate) const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

const AGENTS: &str = "agents";
const CHALLENGES: &str = "agent_challenges";

fn agent_from(rec: &Record) -> Agent {
    Agent {
        id: rec.id().to_string(),
        name: rec.get_str("name").to_string(),
        fingerprint: rec.get_str("pubkey_fingerprint").to_string(),
        verified: rec.get_bool("verified"),
        twitter_handle: rec.get_str("twitter_handle").to_string(),
    }
}

pub async fn find_agent(app: &App, id: &str) -> Result<Option<Agent>> {
    if !framework::collections::is_valid_record_id(id) {
        return Ok(None);
    }
    // It runs on every agent request: from memory when read in the last 2 s.
    let found = app.find_record_cached(AGENTS, id).await?;
    Ok(found.as_ref().map(agent_from))
}

/// The stored `agents` row with this id, as it is now.
async fn agent_record(app: &App, id: &str) -> Result<Option<Record>> {
    if !framework::collections::is_valid_record_id(id) {
        return Ok(None);
    }
    app.find_record(AGENTS, id).await
}

async fn agent_record_by_key(app: &App, key: &AgentKey) -> Result<Option<Record>> {
    let query =
        RecordQuery::filter("pubkey_fingerprint = {:fp}").bind("fp", key.fingerprint.as_str());
    app.find_first(AGENTS, &query).await
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
    let body = json!({
        "name": name.trim(),
        "description": description.trim(),
        "public_key": public_key,
        "pubkey_fingerprint": key.fingerprint,
        "verified": false,
        "verification_code": code,
        "code_expires_at": expires,
    });
    let rec = match app.create_record(AGENTS, body).await {
        Ok(r) => r,
        // Two registrations of one key at once: the unique index decides.
        Err(Error::Validation { fields, .. }) if fields.contains_key("pubkey_fingerprint") => {
            return Err(duplicate())
        }
        Err(e) => return Err(e),
    };
    Ok(Registered {
        agent_id: rec.id().to_string(),
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
    let agent_id = agent.id();
    let settings = state(app)?.settings.get(app).await;
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let nonce = base64::engine::general_purpose::STANDARD.encode(raw);
    let expires = later(chrono::Duration::seconds(settings.challenge_seconds as i64));
    let body = json!({"agent": agent_id, "nonce": nonce, "expires": expires});
    app.create_record(CHALLENGES, body).await?;
    // Expired challenges, and all but the newest few, are removed.
    let mine = RecordQuery::filter("agent = {:agent}")
        .bind("agent", agent_id)
        .sort("-created,-id")
        .limit(100);
    let old = app.find_records(CHALLENGES, &mine).await?;
    let now = format_datetime(chrono::Utc::now());
    for (i, rec) in old.iter().enumerate() {
        if i >= MAX_PENDING || rec.get_str("expires") <= now.as_str() {
            let _ = app.delete_record(CHALLENGES, rec.id()).await;
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
    let query = match nonce.filter(|n| !n.is_empty()) {
        Some(n) => RecordQuery::filter("agent = {:agent} && expires > @now && nonce = {:nonce}")
            .bind("nonce", n),
        None => RecordQuery::filter("agent = {:agent} && expires > @now"),
    };
    let query = query
        .bind("agent", agent.id.as_str())
        .sort("-created")
        .limit(MAX_PENDING as u64);
    let pending = app.find_records(CHALLENGES, &query).await?;
    if pending.is_empty() {
        return Err(Error::BadRequest(
            "No pending challenge for this key: call POST /api/agents/challenge first (a challenge works once and expires after its expires_in seconds)."
                .into(),
        ));
    }
    let signed = pending.iter().find(|ch| {
        base64::engine::general_purpose::STANDARD
            .decode(ch.get_str("nonce"))
            .is_ok_and(|raw| key.key.verify(&raw, &sig).is_ok())
    });
    let Some(signed) = signed else {
        return Err(Error::Unauthorized(
            "The signature does not match a pending challenge: sign the base64-decoded nonce bytes with the agent's private key."
                .into(),
        ));
    };
    // Whoever deletes the row uses the challenge; a second use (a replay) finds it gone.
    if let Err(e) = app.delete_record(CHALLENGES, signed.id()).await {
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
    if rec.verified {
        return Err(Error::BadRequest("This agent is already verified.".into()));
    }
    let code = full.get_str("verification_code");
    let expires = full.get_str("code_expires_at");
    if code.is_empty()
        || (!expires.is_empty() && expires <= format_datetime(chrono::Utc::now()).as_str())
    {
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
    let query = RecordQuery::filter(
        "twitter_handle = {:handle} && verified = true && verified_at > {:since} && id != {:id}",
    )
    .bind("handle", handle.as_str())
    .bind("since", day_ago)
    .bind("id", rec.id.as_str());
    let recent = app.find_first(AGENTS, &query).await?;
    if recent.is_some() {
        return Err(Error::TooManyRequests {
            message: format!(
                "@{handle} verified another agent in the last 24 hours: one agent per Twitter account per day."
            ),
            retry_after: 3600,
        });
    }
    let body = json!({
        "verified": true,
        "twitter_handle": handle,
        "verified_at": format_datetime(chrono::Utc::now()),
        "verification_code": "",
    });
    app.update_record(AGENTS, &rec.id, body).await?;
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
