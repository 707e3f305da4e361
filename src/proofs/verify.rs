//! Checking a stored proof again, from scratch and read-only: a client proof against the
//! review as stored now and the reviewer's registered key; an attestation against its
//! own claim and the server key. Nothing stored changes, whoever asks.

use super::execution_hash::{self, ProofError};
use super::{Found, ProofKind};
use crate::{keys, reviews, state};
use framework::records::{Record, RecordFields};
use framework::{App, Error, Result};
use serde_json::Value;

/// One thing checked, and what was found.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub note: String,
}

impl Check {
    fn new(name: &'static str, outcome: std::result::Result<String, String>) -> Check {
        let (passed, note) = match outcome {
            Ok(n) => (true, n),
            Err(n) => (false, n),
        };
        Check { name, passed, note }
    }
}

pub struct Verification {
    pub kind: ProofKind,
    pub checks: Vec<Check>,
}

impl Verification {
    /// Every check passed.
    pub fn valid(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// A client proof that checks out: what the ranking credits. Attestations never are.
    pub fn verified(&self) -> bool {
        self.kind == ProofKind::Client && self.valid()
    }
}

/// Checks the proof `found` again.
pub async fn verify(app: &App, found: &Found) -> Result<Verification> {
    let kind = ProofKind::parse(found.proof.get_str("kind"))?;
    let checks = match kind {
        ProofKind::Client => client(app, found).await?,
        ProofKind::Attestation => attestation(app, found)?,
    };
    Ok(Verification { kind, checks })
}

fn first_signature(proof: &Record) -> Option<&str> {
    proof.get("signatures")?.as_array()?.first()?.as_str()
}

async fn client(app: &App, found: &Found) -> Result<Vec<Check>> {
    let Some(review) = &found.review else {
        return Ok(vec![Check::new(
            "review",
            Err("the review this proof was made for is gone".into()),
        )]);
    };
    let mut checks = vec![Check::new("review", Ok(format!("review {}", review.id())))];
    let agent = app.find_record("agents", review.get_str("agent")).await?;
    let key = match agent.map(|a| keys::parse_public_key(a.get_str("public_key"))) {
        Some(Ok(k)) => Ok(k),
        Some(Err(e)) => Err(format!("the reviewer's registered key does not parse: {e}")),
        None => Err("the reviewer agent is gone".to_string()),
    };
    checks.push(Check::new(
        "reviewer_key",
        key.as_ref()
            .map(|k| {
                format!(
                    "the reviewer's registered key, fingerprint {}",
                    k.fingerprint
                )
            })
            .map_err(Clone::clone),
    ));
    let Ok(key) = key else { return Ok(checks) };
    let claim = reviews::stored_claim(review, &found.skill_name);
    let given = found.proof.get_str("identifier");
    let signature = first_signature(&found.proof).unwrap_or_default();
    let outcome = execution_hash::verify(&claim, given, signature, &key.key);
    let hash = match &outcome {
        Err(e @ ProofError::HashMismatch { .. }) => Err(format!(
            "{e}: the review changed after it was signed, or the client hashed something else"
        )),
        _ => Ok("the execution hash is the RFC 8785 SHA-256 of the review as stored".into()),
    };
    checks.push(Check::new("execution_hash", hash));
    if checks.iter().all(|c| c.passed) {
        let sig = outcome
            .map(|()| "Ed25519 over the execution hash, with the reviewer's key".to_string())
            .map_err(|e| e.to_string());
        checks.push(Check::new("signature", sig));
    }
    Ok(checks)
}

fn attestation(app: &App, found: &Found) -> Result<Vec<Check>> {
    let g = state(app)?;
    let proof = &found.proof;
    let witness = proof
        .get("witnesses")
        .and_then(Value::as_array)
        .and_then(|w| w.first())
        .and_then(|w| w.get("public_key"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let signer = match keys::parse_public_key(witness) {
        Ok(k) if k.key.as_bytes() == g.server_key.public().as_bytes() => {
            Ok(format!("the server key, fingerprint {}", k.fingerprint))
        }
        Ok(k) => Err(format!(
            "signed by key {}, not this server's (GET /api/proofs/key)",
            k.fingerprint
        )),
        Err(e) => Err(format!("the witness key does not parse: {e}")),
    };
    let mut checks = vec![Check::new("signer", signer)];
    let data = proof.get("claim_data").cloned().unwrap_or(Value::Null);
    let canonical = serde_json_canonicalizer::to_string(&data)
        .map_err(|e| Error::internal_from("cannot canonicalise a stored claim", e))?;
    let expected = keys::sha256_hex(canonical.as_bytes());
    let identifier = proof.get_str("identifier");
    checks.push(Check::new(
        "identifier",
        if identifier == expected {
            Ok("the identifier is the RFC 8785 SHA-256 of claim_data".into())
        } else {
            Err(format!(
                "the identifier is not the hash of claim_data ({expected})"
            ))
        },
    ));
    let signature = first_signature(proof).unwrap_or_default();
    checks.push(Check::new(
        "signature",
        execution_hash::verify_signature(&g.server_key.public(), identifier, signature)
            .map(|()| "Ed25519 over the identifier, with the server key".into())
            .map_err(|e| e.to_string()),
    ));
    let claim = found
        .review
        .as_ref()
        .map(|r| reviews::stored_claim(r, &found.skill_name));
    let now = claim.and_then(|c| serde_json::to_value(c).ok());
    checks.push(Check::new(
        "review",
        match now {
            Some(now) if now == data["claim"] => {
                Ok("the review still says what was attested".into())
            }
            Some(_) => Err("the review changed after it was attested".into()),
            None => Err("the review this attestation was made for is gone".into()),
        },
    ));
    Ok(checks)
}
