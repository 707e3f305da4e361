//! Proofs that a review happened: client proofs signed with the reviewer agent's key,
//! and attestations signed with the server's key ([`server_key`]), which anyone can check
//! offline with the key `GET /api/proofs/key` publishes; looked up, listed, and checked
//! again on demand ([`verify`]).

pub mod api;
pub mod execution_hash;
pub mod server_key;
pub mod verify;

use crate::reviews::{self, REVIEWS};
use crate::skills::named_set;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};

pub(crate) const PROOFS: &str = "proofs";

named_set!(
    /// Who signed a proof: the reviewer (`client`) or the server (`attestation`).
    ProofKind, "kind" {
        Client => "client", Attestation => "attestation",
    }
);

/// A proof with the review it proves and that review's skill name (empty when the review
/// is gone).
pub struct Found {
    pub proof: Record,
    pub review: Option<Record>,
    pub skill_name: String,
}

/// The proof `id` (404 when there is none).
pub async fn get(app: &App, id: &str) -> Result<Found> {
    let missing = || Error::NotFound("No proof has this id: GET /api/proofs lists them.".into());
    if !framework::collections::is_valid_record_id(id) {
        return Err(missing());
    }
    let proof = app.find_record(PROOFS, id).await?.ok_or_else(missing)?;
    let review = app.find_record(REVIEWS, proof.get_str("review")).await?;
    let skill_name = match &review {
        Some(r) => reviews::skill_names(app, [r.get_str("skill")].into_iter())
            .await?
            .into_values()
            .next()
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(Found {
        proof,
        review,
        skill_name,
    })
}

/// Which proofs `GET /api/proofs` wants.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub verified: Option<bool>,
    pub kind: Option<ProofKind>,
    pub review: Option<String>,
    pub limit: u64,
    pub offset: u64,
}

/// A listed proof and its review's skill name.
pub struct Listed {
    pub proof: Record,
    pub skill_name: String,
}

/// Proofs, newest first, and how many match in all.
pub async fn list(app: &App, q: &ListQuery) -> Result<(Vec<Listed>, i64)> {
    let mut query = RecordQuery::all();
    if let Some(v) = q.verified {
        query = query.and("verified = {:verified}", "verified", v);
    }
    if let Some(k) = q.kind {
        query = query.and("kind = {:kind}", "kind", k.as_str());
    }
    if let Some(r) = &q.review {
        query = query.and("review = {:review}", "review", r.as_str());
    }
    let total = app.count_records(PROOFS, &query).await?;
    let page = query.sort("-created,-id").limit(q.limit).offset(q.offset);
    let proofs = app.find_records(PROOFS, &page).await?;
    let reviews = app
        .find_records_by_ids(REVIEWS, proofs.iter().map(|p| p.get_str("review")))
        .await?;
    let names = reviews::skill_names(app, reviews.iter().map(|r| r.get_str("skill"))).await?;
    let skill_of = |review: &str| {
        reviews
            .iter()
            .find(|r| r.id() == review)
            .and_then(|r| names.get(r.get_str("skill")))
            .cloned()
            .unwrap_or_default()
    };
    let listed = proofs
        .into_iter()
        .map(|proof| Listed {
            skill_name: skill_of(proof.get_str("review")),
            proof,
        })
        .collect();
    Ok((listed, total))
}
