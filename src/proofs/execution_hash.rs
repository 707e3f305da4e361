//! The execution hash of a review: SHA-256 (lowercase hex) of the RFC 8785 canonical
//! JSON (JCS) of the review's claim. A client proof signs the hash's ASCII text with the
//! reviewer agent's Ed25519 key; the server recomputes the hash from the review it
//! stores, so a signature over anything else does not verify.

use crate::keys::sha256_hex;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::Serialize;

/// What a review claims, as hashed. Every field is always present (absent optional
/// values are `null`), so client and server hash the same document.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewClaim<'a> {
    /// The reviewer agent's id.
    pub agent_id: &'a str,
    /// The skill's name (`anthropics/pdf`).
    pub skill: &'a str,
    pub skill_version: i64,
    pub task: &'a str,
    pub score: f64,
    pub security_score: Option<f64>,
    pub what_worked: &'a str,
    pub what_failed: &'a str,
    pub skill_feedback: &'a str,
    pub security_notes: &'a str,
    /// The challenge answered, if any.
    pub challenge_id: Option<&'a str>,
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the execution_hash is not the hash of this review (expected {expected})")]
    HashMismatch { expected: String },
    #[error("the signature is not standard base64 of 64 bytes")]
    MalformedSignature,
    #[error("the signature does not verify with the signer's key")]
    BadSignature,
}

impl ReviewClaim<'_> {
    /// The canonical JSON text that is hashed.
    pub fn canonical(&self) -> String {
        // Serialising a struct of strings and finite numbers cannot fail.
        serde_json_canonicalizer::to_string(self).unwrap_or_default()
    }

    /// Lowercase hex SHA-256 of [`canonical`](Self::canonical).
    pub fn execution_hash(&self) -> String {
        sha256_hex(self.canonical().as_bytes())
    }
}

/// Checks a client proof of `claim`: the given hash must be the claim's, and the
/// signature (standard base64) must verify over the hash's ASCII text with `key`.
pub fn verify(
    claim: &ReviewClaim,
    given_hash: &str,
    signature_b64: &str,
    key: &VerifyingKey,
) -> Result<(), ProofError> {
    let expected = claim.execution_hash();
    if !given_hash.eq_ignore_ascii_case(&expected) {
        return Err(ProofError::HashMismatch { expected });
    }
    verify_signature(key, &expected, signature_b64)
}

/// Checks an Ed25519 signature (standard base64) over the ASCII text `message`.
pub fn verify_signature(
    key: &VerifyingKey,
    message: &str,
    signature_b64: &str,
) -> Result<(), ProofError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| ProofError::MalformedSignature)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| ProofError::MalformedSignature)?;
    key.verify(message.as_bytes(), &signature)
        .map_err(|_| ProofError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn claim() -> ReviewClaim<'static> {
        ReviewClaim {
            agent_id: "agent123456789a",
            skill: "anthropics/pdf",
            skill_version: 1,
            task: "Merge two PDFs",
            score: 8.0,
            security_score: Some(7.5),
            what_worked: "merging",
            what_failed: "forms <b> & \u{e9}",
            skill_feedback: "",
            security_notes: "runs pdftk",
            challenge_id: None,
        }
    }

    #[test]
    fn the_canonical_form_is_rfc_8785() {
        // Keys sorted, no spaces, integers without a fraction, no HTML escaping,
        // non-ASCII kept as UTF-8.
        assert_eq!(
            claim().canonical(),
            r#"{"agent_id":"agent123456789a","challenge_id":null,"score":8,"security_notes":"runs pdftk","security_score":7.5,"skill":"anthropics/pdf","skill_feedback":"","skill_version":1,"task":"Merge two PDFs","what_failed":"forms <b> & é","what_worked":"merging"}"#
        );
        let h = claim().execution_hash();
        assert_eq!(h.len(), 64);
        assert!(h
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn only_the_reviewers_signature_over_this_review_verifies() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let c = claim();
        let hash = c.execution_hash();
        let b64 = |s: &SigningKey, m: &str| {
            base64::engine::general_purpose::STANDARD.encode(s.sign(m.as_bytes()).to_bytes())
        };
        let good = b64(&key, &hash);
        assert_eq!(verify(&c, &hash, &good, &key.verifying_key()), Ok(()));
        assert_eq!(
            verify(&c, &hash, &b64(&other, &hash), &key.verifying_key()),
            Err(ProofError::BadSignature)
        );
        // A signature over another review's hash.
        let mut changed = c.clone();
        changed.score = 10.0;
        let forged = changed.execution_hash();
        assert!(matches!(
            verify(&c, &forged, &b64(&key, &forged), &key.verifying_key()),
            Err(ProofError::HashMismatch { .. })
        ));
        assert_eq!(
            verify(&c, &hash, "not base64!", &key.verifying_key()),
            Err(ProofError::MalformedSignature)
        );
    }
}
