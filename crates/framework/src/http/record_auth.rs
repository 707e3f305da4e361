//! Password login and token refresh for auth collections (including `_superusers`).

use super::context::Ctx;
use super::error::ApiResult;
use super::shapes::{AuthMethodsShape, MfaRequiredShape, RecordAuthShape};
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use super::{described, Described};
use crate::auth::login::{self, Issue, Login, Proven};
use crate::auth::mfa::Method;
use crate::collections::model::Collection;
use crate::error::Error;
use crate::records::pick::pick;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use std::sync::Arc;

pub struct RecordAuthApi;

#[derive(Object)]
struct PasswordLogin {
    /// The value of one of the collection's identity fields (e-mail by default).
    identity: String,
    password: String,
    /// Restricts the lookup to this identity field.
    #[oai(rename = "identityField", nullable)]
    identity_field: Option<String>,
    /// The MFA session a previous, different method started.
    #[oai(rename = "mfaId", nullable)]
    mfa_id: Option<String>,
}

/// The answer of every login endpoint.
#[derive(ApiResponse)]
pub enum AuthResponse {
    /// Logged in: `{"token", "record"}`.
    #[oai(status = 200)]
    Ok(Json<Described<RecordAuthShape>>),
    /// The method worked but the collection requires a second, different one:
    /// `{"mfaId"}`. Send it with the next method (in the body or as `?mfaId=`).
    #[oai(status = 401)]
    MfaRequired(Json<Described<MfaRequiredShape>>),
}

/// Finishes a login a method proved, and answers it.
pub(super) async fn login_answer(
    ctx: &Ctx,
    c: &Arc<Collection>,
    proven: Proven<'_>,
    fields: Option<&str>,
) -> ApiResult<AuthResponse> {
    match login::complete(&ctx.app, &ctx.info, c, proven).await? {
        Login::NeedsAnotherMethod(id) => {
            Ok(AuthResponse::MfaRequired(described(json!({"mfaId": id}))))
        }
        Login::Done(answer) => Ok(AuthResponse::Ok(described(pick(answer, fields)))),
    }
}

#[derive(Object)]
struct Impersonation {
    /// Token lifetime in seconds, ten years at most; 0 or absent = the collection's auth
    /// token duration.
    #[oai(nullable, validator(maximum(value = "315360000")))]
    duration: Option<u64>,
}

pub(super) fn auth_collection(ctx: &Ctx, name: &str) -> Result<Arc<Collection>, Error> {
    let c = ctx
        .app
        .registry()
        .find(name)
        .ok_or_else(|| Error::NotFound("Missing or invalid auth collection context.".into()))?;
    if !c.is_auth() {
        return Err(Error::NotFound(
            "Missing or invalid auth collection context.".into(),
        ));
    }
    Ok(c)
}

#[OpenApi(tag = "Tags::Auth")]
impl RecordAuthApi {
    /// Log in with an identity (e-mail) and password; returns a token and the record.
    #[oai(
        path = "/api/collections/:collection/auth-with-password",
        method = "post",
        operation_id = "authWithPassword"
    )]
    async fn auth_with_password(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<PasswordLogin>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<AuthResponse> {
        let c = auth_collection(&ctx, &collection.0)?;
        let field = body.identity_field.as_deref();
        let id = login::check_password(&ctx.app, &c, &body.identity, &body.password, field).await?;
        let proven = Proven {
            id: &id,
            method: Method::Password,
            mfa_id: body.0.mfa_id,
            meta: None,
            expand: expand.0.as_deref(),
        };
        login_answer(&ctx, &c, proven, fields.0.as_deref()).await
    }

    /// A fresh token for the authenticated record.
    #[oai(
        path = "/api/collections/:collection/auth-refresh",
        method = "post",
        operation_id = "authRefresh"
    )]
    async fn auth_refresh(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<RecordAuthShape>>> {
        let c = auth_collection(&ctx, &collection.0)?;
        let Some(auth) = ctx.info.auth.as_ref().filter(|a| a.collection.id == c.id) else {
            return Err(Error::Unauthorized(
                "The request requires valid record authorization token.".into(),
            )
            .into());
        };
        let id = auth.id().to_string();
        let issue = match &ctx.token {
            Some((t, claims)) if !claims.refreshable => Issue::Same(t.clone()),
            _ => Issue::Fresh,
        };
        let resp =
            login::token_answer(&ctx.app, &ctx.info, &c, &id, expand.0.as_deref(), issue).await?;
        Ok(described(pick(resp, fields.0.as_deref())))
    }

    /// Which ways of logging in this collection offers.
    #[oai(
        path = "/api/collections/:collection/auth-methods",
        method = "get",
        operation_id = "authMethods"
    )]
    async fn auth_methods(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<AuthMethodsShape>>> {
        let c = auth_collection(&ctx, &collection.0)?;
        // Without `fields`, the keys older SDKs read are added.
        let legacy = fields.0.as_deref().is_none_or(|f| f.trim().is_empty());
        let body = login::methods(&ctx.app, &c, legacy).await;
        Ok(described(pick(body, fields.0.as_deref())))
    }

    /// A superuser acts as another auth record: a non-refreshable token for it.
    #[oai(
        path = "/api/collections/:collection/impersonate/:id",
        method = "post",
        operation_id = "impersonate"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn impersonate(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        collection: Path<String>,
        id: Path<String>,
        body: Json<Option<Impersonation>>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<RecordAuthShape>>> {
        let c = auth_collection(&ctx, &collection.0)?;
        let secs = body.0.and_then(|b| b.duration).unwrap_or(0);
        let issue = Issue::Impersonation(secs);
        let resp =
            login::token_answer(&ctx.app, &ctx.info, &c, &id.0, expand.0.as_deref(), issue).await?;
        Ok(described(pick(resp, fields.0.as_deref())))
    }
}
