//! `auth-with-oauth2`: logging in (and signing up) with a provider's authorization code.

use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::{auth_collection, login_answer, AuthResponse};
use super::Tags;
use crate::auth::login::Proven;
use crate::auth::mfa::Method;
use crate::auth::oauth2_link::{self, CodeLogin};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

pub struct OAuth2Api;

#[derive(Object)]
struct OAuth2Login {
    /// The provider's `name` from `auth-methods`.
    provider: String,
    /// The authorization code the provider sent to the redirect URL.
    code: String,
    /// The `codeVerifier` from `auth-methods` (PKCE).
    #[oai(rename = "codeVerifier", nullable)]
    code_verifier: Option<String>,
    /// The redirect URL the browser was sent back to.
    #[oai(rename = "redirectURL", nullable)]
    redirect_url: Option<String>,
    /// Older clients' spelling of `redirectURL`.
    #[oai(rename = "redirectUrl", nullable)]
    redirect_url_legacy: Option<String>,
    /// Fields for the record created on a first login.
    #[oai(rename = "createData")]
    create_data: Option<Value>,
    /// The MFA session a previous, different method started.
    #[oai(rename = "mfaId", nullable)]
    mfa_id: Option<String>,
}

#[OpenApi(tag = "Tags::Auth")]
impl OAuth2Api {
    /// Logs in with a provider's authorization code. The first login links the account to
    /// the logged-in record, to the record with the provider's verified e-mail, or to a
    /// new record (with `createData`); `meta` carries the provider's account.
    #[oai(
        path = "/api/collections/:collection/auth-with-oauth2",
        method = "post",
        operation_id = "authWithOAuth2"
    )]
    async fn auth_with_oauth2(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<OAuth2Login>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<AuthResponse> {
        let c = auth_collection(&ctx, &collection.0)?;
        let body = body.0;
        let login = CodeLogin {
            provider: body.provider,
            code: body.code,
            code_verifier: body.code_verifier.unwrap_or_default(),
            redirect_url: body
                .redirect_url
                .or(body.redirect_url_legacy)
                .unwrap_or_default(),
            create_data: body.create_data,
        };
        let (id, meta) = oauth2_link::sign_in(&ctx.app, &c, &ctx.info, login).await?;
        let proven = Proven {
            id: &id,
            method: Method::OAuth2,
            mfa_id: body.mfa_id,
            meta: Some(meta),
            expand: expand.0.as_deref(),
        };
        login_answer(&ctx, &c, proven, fields.0.as_deref()).await
    }
}
