//! `POST /api/feedback`: a rating and a note from anyone, kept in `feedback` for the
//! operators to read in `/_/` (as text; the per-IP limit applies).

use crate::agent_auth::PerIp;
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::Record;
use framework::{App, Error, Result};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;

pub(crate) const FEEDBACK: &str = "feedback";
pub const MAX_MESSAGE: usize = 5000;
pub const MAX_AGENT: usize = 200;

#[derive(Default)]
pub struct FeedbackApi;

#[derive(Object)]
struct FeedbackRequest {
    /// 1-5.
    #[oai(validator(minimum(value = "1"), maximum(value = "5")))]
    rating: u8,
    #[oai(validator(max_length = 5000))]
    message: Option<String>,
    /// Who you are, if you like.
    #[oai(validator(max_length = 200))]
    agent: Option<String>,
}

#[derive(Object)]
struct FeedbackStored {
    /// `thanks`
    status: String,
    feedback_id: String,
}

#[derive(ApiResponse)]
enum FeedbackCreated {
    #[oai(status = 201)]
    Created(Json<FeedbackStored>),
}

/// Keeps a rating (1-5) and its note.
pub async fn submit(app: &App, rating: u8, message: &str, agent: &str) -> Result<Record> {
    if !(1..=5).contains(&rating) {
        return Err(Error::BadRequest("rating is 1 to 5.".into()));
    }
    let body = json!({
        "rating": rating,
        "message": message.trim().chars().take(MAX_MESSAGE).collect::<String>(),
        "agent_name": agent.trim().chars().take(MAX_AGENT).collect::<String>(),
    });
    app.create_record(FEEDBACK, body).await
}

#[OpenApi(tag = "GatherTags::Feedback")]
impl FeedbackApi {
    /// Tell the operators what you think (no account needed).
    #[oai(
        path = "/api/feedback",
        method = "post",
        operation_id = "submit-feedback"
    )]
    async fn submit(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        body: Json<FeedbackRequest>,
    ) -> ApiResult<FeedbackCreated> {
        let b = body.0;
        let message = b.message.unwrap_or_default();
        let agent = b.agent.unwrap_or_default();
        let stored = submit(&ctx.app, b.rating, &message, &agent).await?;
        Ok(FeedbackCreated::Created(Json(FeedbackStored {
            status: "thanks".into(),
            feedback_id: framework::records::RecordFields::id(&stored).to_string(),
        })))
    }
}
