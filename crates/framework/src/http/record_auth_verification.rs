//! `request-verification` / `confirm-verification`: proving an auth record owns its e-mail.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::auth_collection;
use super::Tags;
use crate::auth::email;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

pub struct VerificationApi;

#[derive(Object)]
pub(super) struct EmailBody {
    pub email: String,
}

#[derive(Object)]
pub(super) struct TokenBody {
    /// The token from the e-mailed link.
    pub token: String,
}

#[OpenApi(tag = "Tags::Auth")]
impl VerificationApi {
    /// E-mails a verification link to the unverified record with this address. Always
    /// 204, whether or not there is one.
    #[oai(
        path = "/api/collections/:collection/request-verification",
        method = "post",
        operation_id = "requestVerification"
    )]
    async fn request(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<EmailBody>,
    ) -> ApiResult<NoContent> {
        let c = auth_collection(&ctx, &collection.0)?;
        email::request_verification(&ctx.app, &c, &body.email).await?;
        Ok(NoContent::Done)
    }

    /// Marks the token's record verified (204 again if it already is).
    #[oai(
        path = "/api/collections/:collection/confirm-verification",
        method = "post",
        operation_id = "confirmVerification"
    )]
    async fn confirm(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<TokenBody>,
    ) -> ApiResult<NoContent> {
        let c = auth_collection(&ctx, &collection.0)?;
        email::confirm_verification(&ctx.app, &c, &body.token).await?;
        Ok(NoContent::Done)
    }
}
