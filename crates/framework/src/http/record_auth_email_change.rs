//! `request-email-change` / `confirm-email-change`: moving an account to a new address.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::auth_collection;
use super::Tags;
use crate::{auth::email, error::Error};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

pub struct EmailChangeApi;

#[derive(Object)]
struct NewEmailBody {
    #[oai(rename = "newEmail")]
    new_email: String,
}

#[derive(Object)]
struct ConfirmBody {
    /// The token from the link e-mailed to the new address.
    token: String,
    /// The account's current password.
    password: String,
}

#[OpenApi(tag = "Tags::Auth")]
impl EmailChangeApi {
    /// E-mails a confirmation link to the new address (the caller must be logged in to
    /// this collection).
    #[oai(
        path = "/api/collections/:collection/request-email-change",
        method = "post",
        operation_id = "requestEmailChange"
    )]
    async fn request(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<NewEmailBody>,
    ) -> ApiResult<NoContent> {
        let c = auth_collection(&ctx, &collection.0)?;
        let Some(auth) = ctx.info.auth.as_ref().filter(|a| a.collection.id == c.id) else {
            return Err(Error::Unauthorized(
                "The request requires valid record authorization token.".into(),
            )
            .into());
        };
        email::request_email_change(&ctx.app, &c, auth, &body.new_email).await?;
        Ok(NoContent::Done)
    }

    /// Moves the account to the new address; its earlier tokens stop working.
    #[oai(
        path = "/api/collections/:collection/confirm-email-change",
        method = "post",
        operation_id = "confirmEmailChange"
    )]
    async fn confirm(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<ConfirmBody>,
    ) -> ApiResult<NoContent> {
        let c = auth_collection(&ctx, &collection.0)?;
        email::confirm_email_change(&ctx.app, &c, &body.token, &body.password).await?;
        Ok(NoContent::Done)
    }
}
