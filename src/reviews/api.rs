//! `/api/reviews/*`: review challenges so far.

use super::challenges::{self, VALID_MINUTES};
use crate::agent_auth::{count_write, AgentAuth, PerIp};
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::RecordFields;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

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

fn non_empty(s: &str) -> Option<String> {
    Some(s.to_string()).filter(|s| !s.is_empty())
}

#[OpenApi(tag = "GatherTags::Reviews")]
impl ReviewsApi {
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
                description: non_empty(s.get_str("description")),
                category: non_empty(s.get_str("category")),
                url: non_empty(s.get_str("url")),
                version: s.get_i64("version"),
                review_count: s.get_i64("review_count"),
            },
        })))
    }
}
