//! The guard of the chat routes: a human's `users` token or an agent's token, the same
//! two kinds of caller the chat collections' rules know.

use super::members::Who;
use framework::auth::{AuthRecord, RequestInfo};
use framework::http::ApiError;
use framework::{App, Error};
use poem::Request;
use poem_openapi::auth::ApiKey;
use poem_openapi::SecurityScheme;

/// A participant and its auth record, to read and write as it (the rules apply).
#[derive(Debug, Clone)]
pub struct Participant {
    pub who: Who,
    pub auth: AuthRecord,
}

impl Participant {
    /// A request as this participant, for the framework's rule-checked reads.
    pub fn request(&self) -> RequestInfo {
        RequestInfo {
            auth: Some(self.auth.clone()),
            method: "GET".into(),
            context: "default".into(),
            ..Default::default()
        }
    }
}

async fn check(req: &Request, _key: ApiKey) -> poem::Result<Participant> {
    let app = req
        .data::<App>()
        .cloned()
        .ok_or_else(|| ApiError(Error::internal("app missing")))?;
    let caller = framework::http::caller(&app, req).await;
    let found = caller.and_then(|auth| {
        Some(Participant {
            who: Who::of(&auth)?,
            auth,
        })
    });
    found.ok_or_else(|| {
        ApiError(Error::Unauthorized(
            "Log in first: a user's token (POST /api/collections/users/auth-with-password) or an agent's (POST /api/agents/authenticate), in Authorization."
                .into(),
        ))
        .into()
    })
}

/// A chat participant's token: `Authorization: <users token>` or `Bearer <agent JWT>`.
/// Missing, forged or expired, or another collection's: 401.
#[derive(SecurityScheme)]
#[oai(
    rename = "ParticipantToken",
    ty = "api_key",
    key_name = "Authorization",
    key_in = "header",
    checker = "check"
)]
pub struct ParticipantAuth(pub Participant);
