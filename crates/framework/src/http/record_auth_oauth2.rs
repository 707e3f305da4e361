//! `auth-with-oauth2`: logging in (and signing up) with a provider's authorization code.

use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::{auth_collection, complete_auth, AuthResponse, Proven};
use super::Tags;
use crate::auth::mfa::Method;
use crate::auth::oauth2;
use crate::collections::model::OAuth2Provider;
use crate::{app::App, auth::oauth2_link, error::Error};
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

/// What `auth-methods` lists for the enabled providers; a provider that cannot be
/// resolved (say, its discovery document is unreachable) is left out and logged.
pub(super) async fn login_offers(app: &App, providers: &[OAuth2Provider]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in providers {
        match oauth2::resolve(app, p)
            .await
            .and_then(|r| oauth2::login_offer(&r))
        {
            Ok(v) => out.push(v),
            Err(e) => tracing::warn!(provider = %p.name, error = %e, "OAuth2 provider left out"),
        }
    }
    out
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
        let opts = c.auth.clone().unwrap_or_default();
        if !opts.oauth2.enabled {
            return Err(Error::Forbidden(
                "The collection is not configured to allow OAuth2 authentication.".into(),
            )
            .into());
        }
        let body = body.0;
        let config = opts
            .oauth2
            .providers
            .iter()
            .find(|p| p.name == body.provider)
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "Provider with name {:?} is missing or is not enabled.",
                    body.provider
                ))
            })?;
        let provider = oauth2::resolve(&ctx.app, config).await?;
        let redirect = body
            .redirect_url
            .or(body.redirect_url_legacy)
            .unwrap_or_default();
        let verifier = body.code_verifier.unwrap_or_default();
        let user =
            oauth2::fetch_user(&ctx.app, &provider, &body.code, &verifier, &redirect).await?;

        let app = &ctx.app;
        let (id, is_new) = match oauth2::linked_record(app, &c, &provider.name, &user.id).await? {
            Some(id) => (id, false),
            None => {
                let linked = oauth2_link::link_account(
                    app,
                    &c,
                    &ctx.info,
                    &provider.name,
                    &user,
                    body.create_data,
                )
                .await?;
                (linked.id, linked.is_new)
            }
        };
        let proven = Proven {
            id: &id,
            method: Method::OAuth2,
            mfa_id: body.mfa_id,
            meta: Some(user.meta(is_new)),
            expand: expand.0.as_deref(),
            fields: fields.0.as_deref(),
        };
        complete_auth(&ctx, &c, proven).await
    }
}
