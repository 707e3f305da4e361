//! `/api/proofs`: proofs by id and as a list, checked again on demand, and the server's
//! attestation key for checking attestations offline.

use super::verify::Verification;
use super::{ListQuery, ProofKind};
use crate::agent_auth::PerIp;
use crate::{state, GatherTags};
use base64::Engine;
use framework::http::{ApiResult, Ctx};
use framework::records::{Record, RecordFields};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

#[derive(Default)]
pub struct ProofsApi;

/// The key the server signs its attestations with.
#[derive(Object)]
struct ProofsServerKey {
    /// `ed25519`
    algorithm: String,
    /// SPKI PEM (`openssl pkey -pubin -in key.pem -text` reads it).
    public_key: String,
    /// The 32 raw key bytes, standard base64.
    public_key_base64: String,
    /// Lowercase hex SHA-256 of the raw key bytes.
    fingerprint: String,
}

/// A proof of a review.
#[derive(Object)]
struct ProofDetail {
    id: String,
    review_id: String,
    /// The reviewed skill's name.
    skill_id: String,
    /// The review's task.
    task: String,
    /// `client` (signed by the reviewer) or `attestation` (signed by the server).
    kind: ProofKind,
    /// What was signed. A client proof: `{claim, payload}`, its identifier the hash of
    /// `claim`. An attestation: the claim with the time and the review id, its
    /// identifier the hash of all of it.
    claim_data: Value,
    /// The execution hash (client) or the claim's hash (attestation), lowercase hex.
    identifier: String,
    /// Standard base64 Ed25519 signatures of the identifier's ASCII text.
    signatures: Value,
    /// `[{type, public_key, fingerprint}]`: who signed.
    witnesses: Value,
    /// A client proof that verified when it was stored; attestations never are.
    verified: bool,
    verification_note: String,
    created: String,
    updated: String,
}

/// A proof, in a list.
#[derive(Object)]
struct ProofItem {
    id: String,
    review_id: String,
    skill_id: String,
    kind: ProofKind,
    verified: bool,
    created: String,
}

#[derive(Object)]
struct ProofPage {
    proofs: Vec<ProofItem>,
    /// Proofs matching the query in all.
    total: i64,
    limit: u64,
    offset: u64,
}

/// One thing `verify-proof` checked.
#[derive(Object)]
struct ProofCheck {
    /// `review`, `reviewer_key`, `execution_hash`, `signature` (client proofs);
    /// `signer`, `identifier`, `signature`, `review` (attestations).
    name: String,
    passed: bool,
    note: String,
}

/// What checking a proof again found (nothing stored changes).
#[derive(Object)]
struct ProofVerification {
    id: String,
    kind: ProofKind,
    /// Every check passed.
    valid: bool,
    /// A valid client proof: what the ranking credits (attestations never are).
    verified: bool,
    /// What the proof says it was when stored; this call does not change it.
    stored_verified: bool,
    checks: Vec<ProofCheck>,
    message: String,
}

fn kind_of(p: &Record) -> ProofKind {
    ProofKind::parse(p.get_str("kind")).unwrap_or(ProofKind::Attestation)
}

fn json_field(p: &Record, name: &str) -> Value {
    p.get(name).cloned().unwrap_or(Value::Null)
}

#[OpenApi(tag = "GatherTags::Proofs")]
impl ProofsApi {
    /// Proofs, newest first.
    #[oai(path = "/api/proofs", method = "get", operation_id = "list-proofs")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        /// Only verified client proofs (`true`) or only the rest (`false`).
        verified: Query<Option<bool>>,
        /// Only proofs of this kind.
        kind: Query<Option<ProofKind>>,
        /// Only the proofs of this review.
        #[oai(validator(max_length = 15))]
        review_id: Query<Option<String>>,
        /// 1-100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Proofs to skip.
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<ProofPage>> {
        let q = ListQuery {
            verified: verified.0,
            kind: kind.0,
            review: review_id.0,
            limit: limit.0.unwrap_or(20),
            offset: offset.0.unwrap_or(0),
        };
        let (listed, total) = super::list(&ctx.app, &q).await?;
        let proofs = listed
            .into_iter()
            .map(|l| ProofItem {
                id: l.proof.id().to_string(),
                review_id: l.proof.get_str("review").to_string(),
                skill_id: l.skill_name,
                kind: kind_of(&l.proof),
                verified: l.proof.get_bool("verified"),
                created: l.proof.get_str("created").to_string(),
            })
            .collect();
        Ok(Json(ProofPage {
            proofs,
            total,
            limit: q.limit,
            offset: q.offset,
        }))
    }

    /// One proof, with what was signed and by whom.
    #[oai(path = "/api/proofs/:id", method = "get", operation_id = "get-proof")]
    async fn get(&self, ctx: Ctx, _limit: PerIp, id: Path<String>) -> ApiResult<Json<ProofDetail>> {
        let found = super::get(&ctx.app, &id.0).await?;
        let p = &found.proof;
        Ok(Json(ProofDetail {
            id: p.id().to_string(),
            review_id: p.get_str("review").to_string(),
            skill_id: found.skill_name.clone(),
            task: found
                .review
                .as_ref()
                .map(|r| r.get_str("task").to_string())
                .unwrap_or_default(),
            kind: kind_of(p),
            claim_data: json_field(p, "claim_data"),
            identifier: p.get_str("identifier").to_string(),
            signatures: json_field(p, "signatures"),
            witnesses: json_field(p, "witnesses"),
            verified: p.get_bool("verified"),
            verification_note: p.get_str("verification_note").to_string(),
            created: p.get_str("created").to_string(),
            updated: p.get_str("updated").to_string(),
        }))
    }

    /// Check a proof again from scratch: a client proof against the review as stored now
    /// and the reviewer's registered key, an attestation against its claim and the server
    /// key. Read-only: nothing stored changes, whoever calls.
    #[oai(
        path = "/api/proofs/:id/verify",
        method = "post",
        operation_id = "verify-proof"
    )]
    async fn verify(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<ProofVerification>> {
        let found = super::get(&ctx.app, &id.0).await?;
        let v: Verification = super::verify::verify(&ctx.app, &found).await?;
        let (valid, verified) = (v.valid(), v.verified());
        let message = match (v.kind, valid) {
            (ProofKind::Client, true) => "The client proof verifies.".to_string(),
            (ProofKind::Attestation, true) => {
                "The attestation is the server's and matches the review; it is not a client proof."
                    .to_string()
            }
            (_, false) => {
                let failed: Vec<&str> = v
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.name)
                    .collect();
                format!("The proof does not check out: {}.", failed.join(", "))
            }
        };
        Ok(Json(ProofVerification {
            id: found.proof.id().to_string(),
            kind: v.kind,
            valid,
            verified,
            stored_verified: found.proof.get_bool("verified"),
            checks: v
                .checks
                .into_iter()
                .map(|c| ProofCheck {
                    name: c.name.to_string(),
                    passed: c.passed,
                    note: c.note,
                })
                .collect(),
            message,
        }))
    }

    /// The server's attestation public key (it stays the same across restarts).
    #[oai(
        path = "/api/proofs/key",
        method = "get",
        operation_id = "get-proof-key"
    )]
    async fn key(&self, ctx: Ctx, _limit: PerIp) -> ApiResult<Json<ProofsServerKey>> {
        let g = state(&ctx.app)?;
        let key = &g.server_key;
        Ok(Json(ProofsServerKey {
            algorithm: "ed25519".into(),
            public_key: key.public_pem.clone(),
            public_key_base64: base64::engine::general_purpose::STANDARD
                .encode(key.public().as_bytes()),
            fingerprint: key.fingerprint.clone(),
        }))
    }
}
