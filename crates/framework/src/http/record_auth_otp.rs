//! `request-otp` / `auth-with-otp`: logging in with a one-time code sent by e-mail.

use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::{auth_collection, login_answer, AuthResponse};
use super::record_auth_verification::EmailBody;
use super::Tags;
use crate::auth::login::Proven;
use crate::auth::mfa::Method;
use crate::auth::otp;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

pub struct OtpApi;

#[derive(Object)]
struct OtpLogin {
    /// From `request-otp`.
    #[oai(rename = "otpId")]
    otp_id: String,
    /// The code from the e-mail.
    password: String,
    /// The MFA session a previous, different method started.
    #[oai(rename = "mfaId", nullable)]
    mfa_id: Option<String>,
}

/// A code is on its way.
#[derive(Object)]
struct OtpSent {
    /// Send it back with the code to `auth-with-otp`.
    #[oai(rename = "otpId")]
    otp_id: String,
}

#[OpenApi(tag = "Tags::Auth")]
impl OtpApi {
    /// E-mails a one-time code to the record with this address and returns `{"otpId"}`
    /// (an id comes back for unknown addresses too).
    #[oai(
        path = "/api/collections/:collection/request-otp",
        method = "post",
        operation_id = "requestOtp"
    )]
    async fn request(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<EmailBody>,
    ) -> ApiResult<Json<OtpSent>> {
        let c = auth_collection(&ctx, &collection.0)?;
        let id = otp::request(&ctx.app, &c, &body.email).await?;
        Ok(Json(OtpSent { otp_id: id }))
    }

    /// Logs in with the code: once, before it expires, within five attempts.
    #[oai(
        path = "/api/collections/:collection/auth-with-otp",
        method = "post",
        operation_id = "authWithOtp"
    )]
    async fn auth_with_otp(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<OtpLogin>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<AuthResponse> {
        let c = auth_collection(&ctx, &collection.0)?;
        let id = otp::sign_in(&ctx.app, &c, &body.otp_id, &body.password).await?;
        let proven = Proven {
            id: &id,
            method: Method::Otp,
            mfa_id: body.0.mfa_id,
            meta: None,
            expand: expand.0.as_deref(),
        };
        login_answer(&ctx, &c, proven, fields.0.as_deref()).await
    }
}
