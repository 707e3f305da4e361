//! Reviews of skills by agents: submitted with an optional client proof and an optional
//! challenge ([`challenges`]), one per agent, skill and skill version, written in one
//! transaction with their proof; the skill's stats and rank follow
//! ([`crate::rankings::refresh`]).

pub mod api;
pub mod challenges;
pub mod task_provider;

use crate::proofs::execution_hash::{self, ReviewClaim};
use crate::skills::{self, named_set};
use crate::{keys, state, Agent};
use base64::Engine;
use framework::collections::{new_record_id, FieldError};
use framework::files::FormFile;
use framework::records::{format_datetime, Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::{json, Value};

pub(crate) const REVIEWS: &str = "reviews";
pub(crate) const PROOFS: &str = "proofs";
pub(crate) const ARTIFACTS: &str = "artifacts";

/// A file produced by the review, decoded.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub file_name: String,
    pub data: bytes::Bytes,
}

/// The longest values of a review's text fields, in characters.
pub mod limits {
    pub const TASK: usize = 5000;
    pub const NOTES: usize = 10_000;
    pub const LABEL: usize = 50;
    pub const MODEL: usize = 100;
    pub const CLI_OUTPUT: usize = 100_000;
    /// A client proof's `payload`, in bytes of JSON.
    pub const PROOF_PAYLOAD: usize = 100_000;
    /// Files one review may carry, each at most `ARTIFACT_BYTES`, together at most
    /// `ARTIFACTS_BYTES` (the request body's limit is 32 MiB of base64).
    pub const ARTIFACTS: usize = 10;
    pub const ARTIFACT_BYTES: usize = 10 << 20;
    pub const ARTIFACTS_BYTES: usize = 20 << 20;
    pub const ARTIFACT_NAME: usize = 500;
}

named_set!(
    /// Where a review is: server-run reviews go `queued → running → complete | failed`;
    /// submitted ones are `complete`.
    ReviewStatus, "status" {
        Queued => "queued", Running => "running", Complete => "complete", Failed => "failed",
    }
);

/// A client's proof: the review's execution hash signed with the reviewer's key.
#[derive(Debug, Clone)]
pub struct ClientProof {
    pub execution_hash: String,
    /// Standard base64 of the 64-byte Ed25519 signature of the hash's ASCII text.
    pub signature: String,
    /// The key the client signed with (PEM); it must be the agent's registered key.
    pub public_key: Option<String>,
    /// Free-form data the client attaches, kept with the proof.
    pub payload: Option<Value>,
}

/// What `POST /api/reviews/submit` asks for (lengths are checked by the route).
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub skill_id: String,
    pub task: String,
    pub score: f64,
    pub security_score: Option<f64>,
    pub what_worked: String,
    pub what_failed: String,
    pub skill_feedback: String,
    pub security_notes: String,
    pub runner_type: String,
    pub permission_mode: String,
    pub agent_model: String,
    pub execution_time_ms: Option<u64>,
    pub cli_output: String,
    pub proof: Option<ClientProof>,
    pub challenge_id: Option<String>,
    pub totem: Option<String>,
    pub artifacts: Vec<Artifact>,
}

pub struct Submitted {
    pub review: Record,
    pub proof: Record,
    pub skill: Record,
    pub challenged: bool,
    /// The agent had reviewed this skill version before; that review was replaced.
    pub replaced: bool,
    pub artifacts: Vec<Record>,
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    Error::field(
        format!("Invalid {field}: {message}"),
        field,
        FieldError::new("validation_invalid_value", message),
    )
}

fn check_score(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && (1.0..=10.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(field, "a number from 1 to 10."))
    }
}

/// Records `agent`'s review of a skill: checked in full (skill, challenge, proof) before
/// anything is written, then the review, its proof and the used-up challenge commit
/// together.
pub async fn submit(app: &App, agent: &Agent, sub: Submission) -> Result<Submitted> {
    skills::may_take_part(app, agent, "review skills").await?;
    check_score("score", sub.score)?;
    if let Some(s) = sub.security_score {
        check_score("security_score", s)?;
    }
    let payload_size = sub
        .proof
        .as_ref()
        .and_then(|p| p.payload.as_ref())
        .map_or(0, |v| v.to_string().len());
    if payload_size > limits::PROOF_PAYLOAD {
        return Err(invalid(
            "proof",
            format!(
                "the payload is at most {} bytes of JSON.",
                limits::PROOF_PAYLOAD
            ),
        ));
    }
    check_artifacts(&sub.artifacts)?;
    let skill = skills::get(app, &sub.skill_id).await?;
    let version = skill.get_i64("version");
    let challenge = match (&sub.challenge_id, &sub.totem) {
        (None, None) => None,
        (Some(id), Some(totem)) => {
            Some(challenges::check(app, agent, &skill, id, totem, &sub).await?)
        }
        _ => {
            return Err(invalid(
                "challenge_id",
                "a challenged review gives both challenge_id and totem.",
            ))
        }
    };
    let claim = ReviewClaim {
        agent_id: &agent.id,
        skill: skill.get_str("name"),
        skill_version: version,
        task: &sub.task,
        score: sub.score,
        security_score: sub.security_score,
        what_worked: &sub.what_worked,
        what_failed: &sub.what_failed,
        skill_feedback: &sub.skill_feedback,
        security_notes: &sub.security_notes,
        challenge_id: challenge.as_ref().map(|c| c.id()),
    };
    let existing =
        RecordQuery::filter("skill = {:skill} && agent = {:agent} && skill_version = {:v}")
            .bind("skill", skill.id())
            .bind("agent", agent.id.as_str())
            .bind("v", version);
    let existing = app.find_first(REVIEWS, &existing).await?;
    let review_id = existing
        .as_ref()
        .map_or_else(new_record_id, |r| r.id().to_string());
    let proof = match &sub.proof {
        Some(p) => client_proof(app, agent, &claim, p).await?,
        None => attestation(app, &claim, &review_id)?,
    };
    let (old_proofs, old_artifacts) = match &existing {
        Some(r) => {
            let q = RecordQuery::filter("review = {:r}").bind("r", r.id());
            (
                app.find_records(PROOFS, &q).await?,
                app.find_records(ARTIFACTS, &q).await?,
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut review = review_record(&skill, agent, &sub, challenge.as_ref());
    let mut proof_body = proof;
    proof_body["review"] = json!(review_id);
    let written = app
        .run_in_transaction(|tx| {
            // Deleting the challenge uses it up: a second submission with it, even a
            // concurrent one, finds nothing to delete and fails as a whole.
            if let Some(c) = &challenge {
                tx.delete(challenges::CHALLENGES, c.id());
            }
            for p in &old_proofs {
                tx.delete(PROOFS, p.id());
            }
            for a in &old_artifacts {
                tx.delete(ARTIFACTS, a.id());
            }
            match &existing {
                Some(_) => tx.update(REVIEWS, &review_id, review.take()),
                None => {
                    review["id"] = json!(review_id);
                    tx.create(REVIEWS, review.take())
                }
            };
            tx.create(PROOFS, proof_body);
            for a in &sub.artifacts {
                let file = FormFile::new("file", &a.file_name, a.data.clone());
                let body = json!({
                    "review": review_id,
                    "file_name": a.file_name,
                    "mime_type": file.mime(),
                    "size_bytes": a.data.len(),
                });
                tx.create_with_files(ARTIFACTS, body, vec![file]);
            }
            Ok(())
        })
        .await
        .map_err(|e| explain_conflict(e, challenge.is_some()))?;
    let mut written: Vec<Record> = written.into_iter().flatten().collect();
    let artifacts = written.split_off(written.len().saturating_sub(sub.artifacts.len()));
    let mut written = written.into_iter().rev();
    let (Some(proof), Some(review)) = (written.next(), written.next()) else {
        return Err(Error::internal("the review's writes returned no records"));
    };
    // The review's hook has refreshed the skill's stats and rank (rankings::refresh).
    let skill = skills::get(app, skill.id()).await?;
    Ok(Submitted {
        review,
        proof,
        skill,
        challenged: challenge.is_some(),
        replaced: existing.is_some(),
        artifacts,
    })
}

/// Counts and sizes of a review's files: over them is a 400 (count) or a 413 (bytes).
fn check_artifacts(artifacts: &[Artifact]) -> Result<()> {
    if artifacts.len() > limits::ARTIFACTS {
        return Err(invalid(
            "artifacts",
            format!("at most {} files per review.", limits::ARTIFACTS),
        ));
    }
    if let Some((i, a)) = artifacts
        .iter()
        .enumerate()
        .find(|(_, a)| a.data.len() > limits::ARTIFACT_BYTES)
    {
        return Err(Error::PayloadTooLarge(format!(
            "Artifact {i} ({}) is {} bytes; each may be at most {} bytes.",
            a.file_name,
            a.data.len(),
            limits::ARTIFACT_BYTES
        )));
    }
    let total: usize = artifacts.iter().map(|a| a.data.len()).sum();
    if total > limits::ARTIFACTS_BYTES {
        return Err(Error::PayloadTooLarge(format!(
            "The artifacts are {total} bytes together; at most {} bytes.",
            limits::ARTIFACTS_BYTES
        )));
    }
    if let Some(i) = artifacts.iter().position(|a| a.data.is_empty()) {
        return Err(invalid("artifacts", format!("artifact {i} is empty.")));
    }
    Ok(())
}

/// The stored form of a submitted review (status `complete`).
fn review_record(
    skill: &Record,
    agent: &Agent,
    sub: &Submission,
    challenge: Option<&Record>,
) -> Value {
    json!({
        "skill": skill.id(),
        "agent": agent.id,
        "skill_version": skill.get_i64("version"),
        "status": ReviewStatus::Complete.as_str(),
        "task": &sub.task,
        "score": sub.score,
        "security_score": sub.security_score.unwrap_or(0.0),
        "what_worked": &sub.what_worked,
        "what_failed": &sub.what_failed,
        "skill_feedback": &sub.skill_feedback,
        "security_notes": &sub.security_notes,
        "runner_type": &sub.runner_type,
        "permission_mode": &sub.permission_mode,
        "agent_model": &sub.agent_model,
        "execution_time_ms": sub.execution_time_ms.unwrap_or(0),
        "cli_output": &sub.cli_output,
        "verified_reviewer": agent.verified,
        "challenge_id": challenge.map(|c| c.id()).unwrap_or_default(),
        "challenge_aspects": challenge.and_then(|c| c.get("aspects")).cloned().unwrap_or(Value::Null),
    })
}

/// A failed review transaction, said for the reviewer: a challenge used up meanwhile, or
/// the same review submitted twice at once.
fn explain_conflict(e: Error, challenged: bool) -> Error {
    let Error::Batch { index, error } = e else {
        return e;
    };
    match *error {
        Error::NotFound(_) if challenged && index == 0 => Error::field(
            "This challenge was used up meanwhile.",
            "challenge_id",
            FieldError::new(
                "validation_challenge_used",
                "Ask for a new challenge with POST /api/reviews/challenge.",
            ),
        ),
        Error::Validation { ref fields, .. }
            if fields.contains_key("skill_version") || fields.contains_key("agent") =>
        {
            Error::Conflict(
                "The same review was submitted twice at once; send it again to replace it.".into(),
            )
        }
        // The write that failed, as if it had been the only one.
        other => other,
    }
}

/// The client proof record for `p`: verified only when its key is the agent's registered
/// key (compared as key bytes), its hash is the review's, and the signature verifies.
async fn client_proof(
    app: &App,
    agent: &Agent,
    claim: &ReviewClaim<'_>,
    p: &ClientProof,
) -> Result<Value> {
    let registered = app
        .find_record("agents", &agent.id)
        .await?
        .ok_or_else(|| Error::Unauthorized("The agent no longer exists.".into()))?;
    let registered_pem = registered.get_str("public_key").to_string();
    let registered = keys::parse_public_key(&registered_pem)
        .map_err(|e| Error::internal_from("a stored agent key does not parse", e))?;
    let given = match &p.public_key {
        None => Ok(registered.clone()),
        Some(pem) => keys::parse_public_key(pem),
    };
    let outcome = match given {
        Err(e) => Err(format!("the proof's public_key is not an Ed25519 key: {e}")),
        Ok(k) if k.key.as_bytes() != registered.key.as_bytes() => {
            Err("the proof's public key is not the reviewer's registered key".to_string())
        }
        Ok(_) => execution_hash::verify(claim, &p.execution_hash, &p.signature, &registered.key)
            .map_err(|e| e.to_string()),
    };
    let (verified, note) = match outcome {
        Ok(()) => (
            true,
            "verified with the reviewer's registered key".to_string(),
        ),
        Err(why) => (false, why),
    };
    Ok(json!({
        "kind": "client",
        "claim_data": {"claim": claim, "payload": p.payload.clone().unwrap_or(Value::Null)},
        "identifier": p.execution_hash.trim().to_lowercase(),
        "signatures": [p.signature.trim()],
        // The key the proof names, else the registered one it was checked with, so
        // anyone can check it offline.
        "witnesses": [{"type": "ed25519", "public_key": p.public_key.clone().unwrap_or(registered_pem), "fingerprint": registered.fingerprint}],
        "verified": verified,
        "verification_note": note,
    }))
}

/// The server's attestation that it received this review now: the claim with the real
/// time and the review id, hashed as a client proof is, signed with the server key. An
/// attestation is not a verified client proof (`verified` stays false).
pub(crate) fn attestation(app: &App, claim: &ReviewClaim<'_>, review_id: &str) -> Result<Value> {
    let g = state(app)?;
    let data = json!({
        "claim": claim,
        "review_id": review_id,
        "timestamp": format_datetime(chrono::Utc::now()),
    });
    let canonical = serde_json_canonicalizer::to_string(&data)
        .map_err(|e| Error::internal_from("cannot canonicalise an attestation", e))?;
    let identifier = keys::sha256_hex(canonical.as_bytes());
    let signature =
        base64::engine::general_purpose::STANDARD.encode(g.server_key.sign(identifier.as_bytes()));
    Ok(json!({
        "kind": "attestation",
        "claim_data": data,
        "identifier": identifier,
        "signatures": [signature],
        "witnesses": [{"type": "ed25519", "public_key": g.server_key.public_pem, "fingerprint": g.server_key.fingerprint}],
        "verified": false,
        "verification_note": "a server attestation (GET /api/proofs/key checks it), not a client proof",
    }))
}

/// The claim a stored review makes, as its client proof hashed it.
pub fn stored_claim<'a>(review: &'a Record, skill_name: &'a str) -> ReviewClaim<'a> {
    ReviewClaim {
        agent_id: review.get_str("agent"),
        skill: skill_name,
        skill_version: review.get_i64("skill_version"),
        task: review.get_str("task"),
        score: review.get_f64("score"),
        security_score: Some(review.get_f64("security_score")).filter(|s| *s > 0.0),
        what_worked: review.get_str("what_worked"),
        what_failed: review.get_str("what_failed"),
        skill_feedback: review.get_str("skill_feedback"),
        security_notes: review.get_str("security_notes"),
        challenge_id: Some(review.get_str("challenge_id")).filter(|c| !c.is_empty()),
    }
}

/// Which reviews `GET /api/reviews` wants.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// A skill's name or id.
    pub skill: Option<String>,
    pub agent: Option<String>,
    pub status: Option<ReviewStatus>,
    pub limit: u64,
    pub offset: u64,
}

/// Reviews, newest first, with each one's skill name and how many match in all.
pub async fn list(app: &App, q: &ListQuery) -> Result<(Vec<Listed>, i64)> {
    let mut query = RecordQuery::all();
    if let Some(key) = &q.skill {
        let skill = skills::get(app, key).await?;
        query = query.and("skill = {:skill}", "skill", skill.id());
    }
    if let Some(agent) = &q.agent {
        query = query.and("agent = {:agent}", "agent", agent.as_str());
    }
    if let Some(status) = q.status {
        query = query.and("status = {:status}", "status", status.as_str());
    }
    let total = app.count_records(REVIEWS, &query).await?;
    let page = query.sort("-created,-id").limit(q.limit).offset(q.offset);
    let reviews = app.find_records(REVIEWS, &page).await?;
    let names = skill_names(app, reviews.iter().map(|r| r.get_str("skill"))).await?;
    let mut proofs = proofs_of(app, reviews.iter().map(|r| r.id())).await?;
    let agents = agent_names(app, reviews.iter().map(|r| r.get_str("agent"))).await?;
    let name_in = |map: &std::collections::HashMap<String, String>, id: &str| {
        map.get(id).cloned().unwrap_or_default()
    };
    let listed = reviews
        .into_iter()
        .map(|review| Listed {
            skill_name: name_in(&names, review.get_str("skill")),
            agent_name: name_in(&agents, review.get_str("agent")),
            proof: proofs.remove(review.id()),
            review,
        })
        .collect();
    Ok((listed, total))
}

/// A review in a list, with the skill's and the reviewer's names and the review's proof.
pub struct Listed {
    pub review: Record,
    pub skill_name: String,
    /// The reviewer's name.
    pub agent_name: String,
    pub proof: Option<Record>,
}

/// The proofs of these reviews, by review id, in one query.
async fn proofs_of<'a>(
    app: &App,
    reviews: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, Record>> {
    let ids: Vec<&str> = reviews.collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let any: Vec<String> = (0..ids.len())
        .map(|i| format!("review = {{:r{i}}}"))
        .collect();
    let mut query = RecordQuery::filter(&any.join(" || "));
    for (i, id) in ids.into_iter().enumerate() {
        query = query.bind(&format!("r{i}"), id);
    }
    let found = app.find_records(PROOFS, &query).await?;
    Ok(found
        .into_iter()
        .map(|p| (p.get_str("review").to_string(), p))
        .collect())
}

/// The names of the agents with these ids.
async fn agent_names<'a>(
    app: &App,
    ids: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, String>> {
    let ids: std::collections::BTreeSet<&str> = ids.filter(|i| !i.is_empty()).collect();
    let agents = app
        .find_records_by_ids(crate::directory::AGENTS, ids)
        .await?;
    Ok(agents
        .into_iter()
        .map(|a| (a.id().to_string(), a.get_str("name").to_string()))
        .collect())
}

/// The names of the skills with these ids.
pub(crate) async fn skill_names<'a>(
    app: &App,
    ids: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, String>> {
    let ids: std::collections::BTreeSet<&str> = ids.filter(|i| !i.is_empty()).collect();
    let skills = app.find_records_by_ids(skills::SKILLS, ids).await?;
    Ok(skills
        .into_iter()
        .map(|s| (s.id().to_string(), s.get_str("name").to_string()))
        .collect())
}

/// A review with what its answer shows beside it.
pub struct Found {
    pub review: Record,
    pub skill_name: String,
    pub proof: Option<Record>,
    pub artifacts: Vec<Record>,
}

/// The review `id` (404 when there is none).
pub async fn get(app: &App, id: &str) -> Result<Found> {
    let missing = || Error::NotFound("No review has this id.".into());
    if !framework::collections::is_valid_record_id(id) {
        return Err(missing());
    }
    let review = app.find_record(REVIEWS, id).await?.ok_or_else(missing)?;
    let skill_name = app
        .find_record(skills::SKILLS, review.get_str("skill"))
        .await?
        .map(|s| s.get_str("name").to_string())
        .unwrap_or_default();
    let proof = RecordQuery::filter("review = {:r}")
        .bind("r", id)
        .sort("-created");
    let proof = app.find_first(PROOFS, &proof).await?;
    let artifacts = RecordQuery::filter("review = {:r}")
        .bind("r", id)
        .sort("created,file_name");
    let artifacts = app.find_records(ARTIFACTS, &artifacts).await?;
    Ok(Found {
        review,
        skill_name,
        proof,
        artifacts,
    })
}
