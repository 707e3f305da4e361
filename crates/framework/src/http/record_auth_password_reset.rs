//! `request-password-reset` / `confirm-password-reset`: a new password through an e-mailed link.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::auth_collection;
use super::record_auth_verification::EmailBody;
use super::Tags;
use crate::auth::email;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

pub struct PasswordResetApi;

#[derive(Object)]
struct ResetBody {
    /// The token from the e-mailed link (single use).
    token: String,
    password: String,
    #[oai(rename = "passwordConfirm")]
    password_confirm: String,
}

#[OpenApi(tag = "Tags::Auth")]
impl PasswordResetApi {
    /// E-mails a password reset link to the record with this address. Always 204,
    /// whether or not there is one.
    #[oai(
        path = "/api/collections/:collection/request-password-reset",
        method = "post",
        operation_id = "requestPasswordReset"
    )]
    async fn request(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<EmailBody>,
    ) -> ApiResult<NoContent> {
        let c = auth_collection(&ctx, &collection.0)?;
        email::request_password_reset(&ctx.app, &c, &body.email).await?;
        Ok(NoContent::Done)
    }

    /// Sets the new password; every earlier token of the record stops working.
    #[oai(
        path = "/api/collections/:collection/confirm-password-reset",
        method = "post",
        operation_id = "confirmPasswordReset"
    )]
    async fn confirm(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<ResetBody>,
    ) -> ApiResult<NoContent> {
        let c = auth_collection(&ctx, &collection.0)?;
        email::confirm_password_reset(
            &ctx.app,
            &c,
            &body.token,
            &body.password,
            &body.password_confirm,
        )
        .await?;
        Ok(NoContent::Done)
    }
}
