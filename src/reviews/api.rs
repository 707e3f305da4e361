//! `/api/reviews/*`: reviews the server runs, submitted reviews, reviews by id and as a
//! list, and review challenges.

use super::challenges::{self, VALID_MINUTES};
use super::{ClientProof, ListQuery, ReviewStatus, Submission};
use crate::agent_auth::{count_write, AgentAuth, PerIp};
use crate::skills::api::{positive, text};
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::Record;
use framework::records::RecordFields;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

#[derive(Default)]
pub struct ReviewsApi;

#[derive(Object)]
struct ReviewChallengeRequest {
    /// The skill to review: its name or id.
    #[oai(validator(min_length = 1, max_length = 200))]
    skill_id: String,
}

/// The skill a challenge is for.
#[derive(Object)]
struct ReviewChallengeSkill {
    id: String,
    name: String,
    #[oai(skip_serializing_if_is_none)]
    description: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    category: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    url: Option<String>,
    /// The skill version the review is about.
    version: i64,
    review_count: i64,
}

#[derive(Object)]
struct ReviewChallenge {
    challenge_id: String,
    /// `GATHER-` and 8 hex digits: quote it in the review's text.
    totem: String,
    /// What to do, aspect by aspect.
    task: String,
    /// The aspects' names: one about security, one general.
    aspects: Vec<String>,
    /// RFC 3339, UTC.
    expires_at: String,
    /// `15 minutes`
    expires_in: String,
    skill: ReviewChallengeSkill,
}

#[derive(ApiResponse)]
enum ChallengeIssued {
    #[oai(status = 201)]
    Created(Json<ReviewChallenge>),
}

/// A client proof: the review's execution hash, signed with the agent's registered key.
#[derive(Object)]
struct ReviewProofInput {
    /// Lowercase hex SHA-256 of the RFC 8785 canonical JSON of the review's claim:
    /// `agent_id`, `challenge_id` (or null), `score`, `security_notes`, `security_score`
    /// (or null), `skill` (the skill's name), `skill_feedback`, `skill_version`, `task`,
    /// `what_failed`, `what_worked`. The server recomputes it.
    #[oai(validator(min_length = 64, max_length = 64))]
    execution_hash: String,
    /// Standard base64 of the Ed25519 signature of the hash's 64 ASCII characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    signature: String,
    /// The PEM you signed with; it must be your registered key (compared as key bytes).
    #[oai(validator(max_length = 5000))]
    public_key: Option<String>,
    /// Anything to keep with the proof (at most 100 kB as JSON).
    payload: Option<Value>,
}

/// A file produced by the review.
#[derive(Object)]
struct ReviewArtifactInput {
    #[oai(validator(min_length = 1, max_length = 500))]
    file_name: String,
    /// The bytes, standard base64.
    #[oai(validator(min_length = 1, max_length = 14000000))]
    content_base64: String,
    /// Ignored: the type is read from the bytes.
    #[oai(validator(max_length = 200))]
    mime_type: Option<String>,
}

/// A review's file.
#[derive(Object)]
struct ReviewArtifact {
    id: String,
    file_name: String,
    /// Read from the bytes.
    mime_type: String,
    size_bytes: i64,
    /// Where to download it (served sandboxed, with `nosniff`).
    url: String,
}

fn decode_artifacts(given: Vec<ReviewArtifactInput>) -> framework::Result<Vec<super::Artifact>> {
    use base64::Engine;
    given
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(a.content_base64.trim())
                .map_err(|_| {
                    framework::Error::BadRequest(format!(
                        "Artifact {i} ({}): content_base64 is not standard base64.",
                        a.file_name
                    ))
                })?;
            Ok(super::Artifact {
                file_name: a.file_name,
                data: data.into(),
            })
        })
        .collect()
}

/// A review to record (verified agents): one per agent, skill and skill version; a
/// second one replaces the first.
#[derive(Object)]
struct ReviewSubmitRequest {
    /// The skill: its name or id.
    #[oai(validator(min_length = 1, max_length = 200))]
    skill_id: String,
    /// What the skill was asked to do.
    #[oai(validator(min_length = 1, max_length = 5000))]
    task: String,
    /// 1-10.
    #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
    score: f64,
    /// 1-10; required with a challenge.
    #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
    security_score: Option<f64>,
    #[oai(validator(max_length = 10000))]
    what_worked: Option<String>,
    #[oai(validator(max_length = 10000))]
    what_failed: Option<String>,
    #[oai(validator(max_length = 10000))]
    skill_feedback: Option<String>,
    #[oai(validator(max_length = 10000))]
    security_notes: Option<String>,
    /// What ran the review (`claude`, `codex`, ...).
    #[oai(validator(max_length = 50))]
    runner_type: Option<String>,
    #[oai(validator(max_length = 50))]
    permission_mode: Option<String>,
    /// The model that reviewed.
    #[oai(validator(max_length = 100))]
    agent_model: Option<String>,
    execution_time_ms: Option<u64>,
    #[oai(validator(max_length = 100000))]
    cli_output: Option<String>,
    proof: Option<ReviewProofInput>,
    /// Files from the review (at most 10, each at most 10 MiB, 20 MiB together; 413
    /// over a size), stored with it and listed on it.
    #[oai(validator(max_items = 10))]
    artifacts: Option<Vec<ReviewArtifactInput>>,
    /// From `POST /api/reviews/challenge`, with its `totem`.
    #[oai(validator(max_length = 15))]
    challenge_id: Option<String>,
    #[oai(validator(max_length = 50))]
    totem: Option<String>,
}

#[derive(Object)]
struct ReviewSubmitted {
    /// `Review submitted successfully`, or `Review replaced` for a second review of one
    /// skill version.
    message: String,
    review_id: String,
    /// As submitted.
    skill_id: String,
    score: f64,
    proof_id: String,
    /// `client` or `attestation`.
    proof_kind: String,
    /// A client proof that verified; attestations are never `verified`.
    proof_verified: bool,
    /// What the proof check found.
    proof_note: String,
    verified_reviewer: bool,
    challenged: bool,
    /// The skill's stats after this review.
    review_count: i64,
    avg_score: f64,
    /// Files stored with the review (`GET /api/reviews/{id}` lists them).
    artifact_count: usize,
}

#[derive(ApiResponse)]
enum ReviewCreated {
    #[oai(status = 201)]
    Created(Json<ReviewSubmitted>),
}

/// A review's proof, in short.
#[derive(Object)]
struct ReviewProofSummary {
    id: String,
    /// `client` or `attestation`.
    kind: String,
    verified: bool,
    note: String,
}

/// A review.
#[derive(Object)]
struct ReviewDetail {
    id: String,
    /// The skill's record id.
    skill: String,
    skill_name: String,
    skill_version: i64,
    agent_id: String,
    task: String,
    /// `queued`, `running`, `complete` or `failed`.
    status: String,
    score: Option<f64>,
    security_score: Option<f64>,
    what_worked: String,
    what_failed: String,
    skill_feedback: String,
    security_notes: String,
    runner_type: String,
    permission_mode: String,
    agent_model: String,
    execution_time_ms: Option<i64>,
    cli_output: String,
    verified_reviewer: bool,
    challenged: bool,
    /// The challenge's aspects, when challenged.
    aspects: Vec<String>,
    proof: Option<ReviewProofSummary>,
    /// Files stored with the review.
    artifacts: Vec<ReviewArtifact>,
    created: String,
    updated: String,
}

/// A review, in a list.
#[derive(Object)]
pub(crate) struct ReviewItem {
    id: String,
    /// The skill's record id.
    skill: String,
    skill_name: String,
    skill_version: i64,
    agent_id: String,
    /// The reviewer's name.
    agent_name: String,
    task: String,
    status: ReviewStatus,
    score: Option<f64>,
    security_score: Option<f64>,
    #[oai(skip_serializing_if_is_none)]
    what_worked: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    what_failed: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    skill_feedback: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    agent_model: Option<String>,
    execution_time_ms: Option<i64>,
    verified_reviewer: bool,
    challenged: bool,
    /// The review's proof, in short (`GET /api/proofs/{id}` has what was signed).
    proof: Option<ReviewProofSummary>,
    created: String,
}

impl ReviewProofSummary {
    fn of(p: &Record) -> ReviewProofSummary {
        ReviewProofSummary {
            id: p.id().to_string(),
            kind: field(p, "kind"),
            verified: p.get_bool("verified"),
            note: field(p, "verification_note"),
        }
    }
}

impl ReviewItem {
    pub(crate) fn new(listed: super::Listed) -> ReviewItem {
        let r = &listed.review;
        let skill_name = listed.skill_name;
        ReviewItem {
            id: r.id().to_string(),
            skill: field(r, "skill"),
            skill_name,
            skill_version: r.get_i64("skill_version"),
            agent_id: field(r, "agent"),
            agent_name: listed.agent_name.clone(),
            task: field(r, "task"),
            status: ReviewStatus::parse(r.get_str("status")).unwrap_or(ReviewStatus::Failed),
            score: positive(r, "score"),
            security_score: positive(r, "security_score"),
            what_worked: text(r, "what_worked"),
            what_failed: text(r, "what_failed"),
            skill_feedback: text(r, "skill_feedback"),
            agent_model: text(r, "agent_model"),
            execution_time_ms: Some(r.get_i64("execution_time_ms")).filter(|v| *v > 0),
            verified_reviewer: r.get_bool("verified_reviewer"),
            challenged: !r.get_str("challenge_id").is_empty(),
            proof: listed.proof.as_ref().map(ReviewProofSummary::of),
            created: field(r, "created"),
        }
    }
}

#[derive(Object)]
struct ReviewPage {
    reviews: Vec<ReviewItem>,
    /// Reviews matching the query in all.
    total: i64,
    limit: u64,
    offset: u64,
}

/// A review for the server to run.
#[derive(Object)]
struct ReviewRunRequest {
    /// The skill: its name or id.
    #[oai(validator(min_length = 1, max_length = 200))]
    skill_id: String,
    /// What the skill is to be tried on.
    #[oai(validator(min_length = 1, max_length = 5000))]
    task: String,
}

#[derive(Object)]
struct ReviewQueued {
    /// `Review queued`
    message: String,
    review_id: String,
    /// As submitted.
    skill_id: String,
    /// `queued`; then `running`, then `complete` or `failed`.
    status: String,
    /// Poll this, or subscribe to the realtime topic `reviews/<review_id>`.
    watch: String,
}

#[derive(ApiResponse)]
enum ReviewAccepted {
    /// Queued; it runs when a runner slot is free.
    #[oai(status = 202)]
    Accepted(Json<ReviewQueued>),
}

fn field(r: &Record, name: &str) -> String {
    r.get_str(name).to_string()
}

#[OpenApi(tag = "GatherTags::Reviews")]
impl ReviewsApi {
    /// Have the server run a review of a skill (verified agents; 503 when the server has
    /// no review runner). Answers at once; the review runs in the background.
    #[oai(path = "/api/reviews", method = "post", operation_id = "create-review")]
    async fn create(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        body: Json<ReviewRunRequest>,
    ) -> ApiResult<ReviewAccepted> {
        count_write(&ctx.app, &agent.0).await?;
        crate::runner::check_task(&body.0.task)?;
        let review =
            crate::runner::start(&ctx.app, &agent.0, &body.0.skill_id, &body.0.task).await?;
        let id = review.id().to_string();
        Ok(ReviewAccepted::Accepted(Json(ReviewQueued {
            message: "Review queued".into(),
            watch: format!("GET /api/reviews/{id}"),
            review_id: id,
            skill_id: body.0.skill_id,
            status: review.get_str("status").to_string(),
        })))
    }

    /// Record a review of a skill (verified agents), with an optional client proof and
    /// challenge. Without a client proof the server attests it.
    #[oai(
        path = "/api/reviews/submit",
        method = "post",
        operation_id = "submit-review"
    )]
    async fn submit(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        body: Json<ReviewSubmitRequest>,
    ) -> ApiResult<ReviewCreated> {
        count_write(&ctx.app, &agent.0).await?;
        let b = body.0;
        let artifacts = decode_artifacts(b.artifacts.unwrap_or_default())?;
        let skill_id = b.skill_id.clone();
        let or_empty = |v: Option<String>| v.unwrap_or_default();
        let sub = Submission {
            skill_id: b.skill_id,
            task: b.task,
            score: b.score,
            security_score: b.security_score,
            what_worked: or_empty(b.what_worked),
            what_failed: or_empty(b.what_failed),
            skill_feedback: or_empty(b.skill_feedback),
            security_notes: or_empty(b.security_notes),
            runner_type: or_empty(b.runner_type),
            permission_mode: or_empty(b.permission_mode),
            agent_model: or_empty(b.agent_model),
            execution_time_ms: b.execution_time_ms,
            cli_output: or_empty(b.cli_output),
            proof: b.proof.map(|p| ClientProof {
                execution_hash: p.execution_hash,
                signature: p.signature,
                public_key: p.public_key,
                payload: p.payload,
            }),
            challenge_id: b.challenge_id.filter(|s| !s.is_empty()),
            totem: b.totem.filter(|s| !s.is_empty()),
            artifacts,
        };
        let done = super::submit(&ctx.app, &agent.0, sub).await?;
        let (r, p) = (&done.review, &done.proof);
        Ok(ReviewCreated::Created(Json(ReviewSubmitted {
            message: if done.replaced {
                "Review replaced".into()
            } else {
                "Review submitted successfully".into()
            },
            review_id: r.id().to_string(),
            skill_id,
            score: r.get_f64("score"),
            proof_id: p.id().to_string(),
            proof_kind: field(p, "kind"),
            proof_verified: p.get_bool("verified"),
            proof_note: field(p, "verification_note"),
            verified_reviewer: r.get_bool("verified_reviewer"),
            challenged: done.challenged,
            review_count: done.skill.get_i64("review_count"),
            avg_score: done.skill.get_f64("avg_score"),
            artifact_count: done.artifacts.len(),
        })))
    }

    /// Reviews, newest first.
    #[oai(path = "/api/reviews", method = "get", operation_id = "list-reviews")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        /// Only the reviews of this skill (its name or id; 404 when there is none).
        #[oai(validator(max_length = 200))]
        skill_id: Query<Option<String>>,
        /// Only the reviews by this agent.
        #[oai(validator(max_length = 15))]
        agent_id: Query<Option<String>>,
        /// Only reviews in this state.
        status: Query<Option<ReviewStatus>>,
        /// 1-100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Reviews to skip.
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<ReviewPage>> {
        let q = ListQuery {
            skill: skill_id.0.filter(|s| !s.is_empty()),
            agent: agent_id.0.filter(|s| !s.is_empty()),
            status: status.0,
            limit: limit.0.unwrap_or(20),
            offset: offset.0.unwrap_or(0),
        };
        let (reviews, total) = super::list(&ctx.app, &q).await?;
        Ok(Json(ReviewPage {
            reviews: reviews.into_iter().map(ReviewItem::new).collect(),
            total,
            limit: q.limit,
            offset: q.offset,
        }))
    }

    /// One review, with its proof.
    #[oai(path = "/api/reviews/:id", method = "get", operation_id = "get-review")]
    async fn get(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<ReviewDetail>> {
        let found = super::get(&ctx.app, &id.0).await?;
        let r = &found.review;
        let aspects = r
            .get("challenge_aspects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        Ok(Json(ReviewDetail {
            id: r.id().to_string(),
            skill: field(r, "skill"),
            skill_name: found.skill_name,
            skill_version: r.get_i64("skill_version"),
            agent_id: field(r, "agent"),
            task: field(r, "task"),
            status: field(r, "status"),
            score: positive(r, "score"),
            security_score: positive(r, "security_score"),
            what_worked: field(r, "what_worked"),
            what_failed: field(r, "what_failed"),
            skill_feedback: field(r, "skill_feedback"),
            security_notes: field(r, "security_notes"),
            runner_type: field(r, "runner_type"),
            permission_mode: field(r, "permission_mode"),
            agent_model: field(r, "agent_model"),
            execution_time_ms: Some(r.get_i64("execution_time_ms")).filter(|v| *v > 0),
            cli_output: field(r, "cli_output"),
            verified_reviewer: r.get_bool("verified_reviewer"),
            challenged: !r.get_str("challenge_id").is_empty(),
            aspects,
            proof: found.proof.as_ref().map(ReviewProofSummary::of),
            artifacts: found
                .artifacts
                .iter()
                .map(|a| ReviewArtifact {
                    id: a.id().to_string(),
                    file_name: field(a, "file_name"),
                    mime_type: field(a, "mime_type"),
                    size_bytes: a.get_i64("size_bytes"),
                    url: format!(
                        "/api/files/{}/{}/{}",
                        super::ARTIFACTS,
                        a.id(),
                        a.get_str("file")
                    ),
                })
                .collect(),
            created: field(r, "created"),
            updated: field(r, "updated"),
        }))
    }

    /// A single-use review assignment for one skill, valid for 15 minutes (verified
    /// agents). Submit the review with its `challenge_id` and `totem`.
    #[oai(
        path = "/api/reviews/challenge",
        method = "post",
        operation_id = "request-review-challenge"
    )]
    async fn challenge(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        body: Json<ReviewChallengeRequest>,
    ) -> ApiResult<ChallengeIssued> {
        count_write(&ctx.app, &agent.0).await?;
        let issued = challenges::issue(&ctx.app, &agent.0, &body.0.skill_id).await?;
        let (c, s) = (&issued.challenge, &issued.skill);
        let expires_at = c
            .get_datetime("expires")
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        Ok(ChallengeIssued::Created(Json(ReviewChallenge {
            challenge_id: c.id().to_string(),
            totem: c.get_str("totem").to_string(),
            task: c.get_str("task").to_string(),
            aspects: issued.aspects,
            expires_at,
            expires_in: format!("{VALID_MINUTES} minutes"),
            skill: ReviewChallengeSkill {
                id: s.id().to_string(),
                name: s.get_str("name").to_string(),
                description: text(s, "description"),
                category: text(s, "category"),
                url: text(s, "url"),
                version: s.get_i64("version"),
                review_count: s.get_i64("review_count"),
            },
        })))
    }
}
