//! `auth-with-oauth2`: logging in (and signing up) with a provider's authorization code.

use super::context::Ctx;
use super::error::ApiResult;
use super::record_auth::{auth_collection, complete_auth, AuthResponse, Proven};
use super::Tags;
use crate::core::auth_email::{self, find_by_email};
use crate::core::collection::{Collection, OAuth2Provider};
use crate::core::mfa::Method;
use crate::core::oauth2::{self, ProviderUser};
use crate::core::{records, App, Error, FieldKind};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub struct OAuth2Api;

#[derive(Object)]
struct OAuth2Login {
    /// The provider's `name` from `auth-methods`.
    provider: String,
    /// The authorization code the provider sent to the redirect URL.
    code: String,
    /// The `codeVerifier` from `auth-methods` (PKCE).
    #[oai(rename = "codeVerifier")]
    code_verifier: Option<String>,
    /// The redirect URL the browser was sent back to.
    #[oai(rename = "redirectURL")]
    redirect_url: Option<String>,
    /// Older clients' spelling of `redirectURL`.
    #[oai(rename = "redirectUrl")]
    redirect_url_legacy: Option<String>,
    /// Fields for the record created on a first login.
    #[oai(rename = "createData")]
    create_data: Option<Value>,
    /// The MFA session a previous, different method started.
    #[oai(rename = "mfaId")]
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

/// A new record from the provider's account: `createData`, the verified e-mail, the
/// mapped fields, and a random password (the provider is how this account logs in).
async fn create_record(
    ctx: &Ctx,
    c: &Arc<Collection>,
    user: &ProviderUser,
    create_data: Option<Value>,
) -> Result<String, Error> {
    let mut body: Map<String, Value> = match create_data {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(Error::BadRequest("createData must be an object.".into())),
    };
    if !user.email.is_empty() {
        body.entry("email").or_insert_with(|| json!(user.email));
    }
    if !body.contains_key("password") {
        let random = crate::core::ids::random_token(30);
        body.insert("password".into(), json!(random));
        body.insert("passwordConfirm".into(), json!(random));
    }
    let mapped = c.auth.clone().unwrap_or_default().oauth2.mapped_fields;
    for (field, value) in [
        (&mapped.id, &user.id),
        (&mapped.name, &user.name),
        (&mapped.username, &user.username),
        (&mapped.avatar_url, &user.avatar_url),
    ] {
        let textual = c
            .field(field)
            .is_some_and(|f| matches!(f.kind, FieldKind::Text(_) | FieldKind::Url(_)));
        if textual && !value.is_empty() && !body.contains_key(field.as_str()) {
            body.insert(field.clone(), json!(value));
        }
    }
    // The collection's create rule applies, as to any sign-up.
    let rec = records::create(&ctx.app, c, &ctx.info, body).await?;
    Ok(rec
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
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
        let linked = oauth2::linked_record(app, &c, &provider.name, &user.id).await?;
        let mut is_new = false;
        let id = match linked {
            Some(id) => id,
            None => {
                let caller = ctx.info.auth.as_ref().filter(|a| a.collection.id == c.id);
                let by_email = match (caller, user.email.is_empty()) {
                    (None, false) => find_by_email(app, &c, &user.email).await?,
                    _ => None,
                };
                let id = if let Some(me) = caller {
                    me.id().to_string()
                } else if let Some(rec) = by_email {
                    // The provider vouches for the address this record claims.
                    auth_email::claim_address(app, &c, &rec, opts.mfa.enabled).await?;
                    rec.id
                } else {
                    is_new = true;
                    let id = create_record(&ctx, &c, &user, body.create_data).await?;
                    if !user.email.is_empty() {
                        let rec = auth_email::AuthRecordRow::load(app, &c, &id)
                            .await?
                            .ok_or_else(Error::not_found)?;
                        if rec.email == user.email {
                            auth_email::claim_address(app, &c, &rec, true).await?;
                        }
                    }
                    id
                };
                oauth2::link(app, &c, &id, &provider.name, &user.id).await?;
                id
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
