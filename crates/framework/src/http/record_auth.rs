//! Password login and token refresh for auth collections (including `_superusers`).

use super::context::Ctx;
use super::error::ApiResult;
use super::shapes::{AuthMethodsShape, MfaRequiredShape, RecordAuthShape};
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use super::{described, Described};
use crate::auth::mfa::{self, Method, Outcome};
use crate::auth::tokens::{auth_token, issue_token, load_auth_row, TokenType};
use crate::filter::AuthRecord;
use crate::records::pick::pick;
use crate::records::read::{expand, present};
use crate::{collections::model::Collection, error::Error, records::columns};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::{json, Value};
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

/// Where a login is after one method proved the caller is record `id`.
pub(super) struct Proven<'a> {
    pub id: &'a str,
    pub method: Method,
    /// From the body or, failing that, the query string.
    pub mfa_id: Option<String>,
    /// Added to the response as `meta` (OAuth2's account details).
    pub meta: Option<Value>,
    pub expand: Option<&'a str>,
    pub fields: Option<&'a str>,
}

/// Finishes a login: the collection's auth rule, then MFA, then the token.
pub(super) async fn complete_auth(
    ctx: &Ctx,
    c: &Arc<Collection>,
    p: Proven<'_>,
) -> ApiResult<AuthResponse> {
    let row = load_auth_row(&ctx.app, c, p.id)
        .await?
        .ok_or_else(|| Error::BadRequest("Failed to authenticate.".into()))?;
    let who = AuthRecord {
        collection: c.clone(),
        record: columns::record_from_row(&row, c),
    };
    if !mfa::may_authenticate(&ctx.app, c, &who).await? {
        return Err(Error::BadRequest("Failed to authenticate.".into()).into());
    }
    let mfa_id = p.mfa_id.or_else(|| ctx.info.query.get("mfaId").cloned());
    match mfa::after_factor(&ctx.app, c, &who, p.method, mfa_id.as_deref()).await? {
        Outcome::NeedsAnother(id) => Ok(AuthResponse::MfaRequired(described(json!({"mfaId": id})))),
        Outcome::Done => {
            let mut resp = auth_response(ctx, c, p.id, p.expand, Issue::Fresh).await?;
            if let Some(meta) = p.meta {
                resp["meta"] = meta;
            }
            Ok(AuthResponse::Ok(described(pick(resp, p.fields))))
        }
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

/// How the token of an auth response is made.
enum Issue {
    /// A new token with the collection's lifetime.
    Fresh,
    /// This token again (a non-refreshable one being "refreshed").
    Same(String),
    /// A non-refreshable token lasting this many seconds (0 = the collection's default).
    Impersonation(u64),
}

async fn auth_response(
    ctx: &Ctx,
    c: &Arc<Collection>,
    id: &str,
    expand_param: Option<&str>,
    issue: Issue,
) -> Result<Value, Error> {
    let row = load_auth_row(&ctx.app, c, id)
        .await?
        .ok_or_else(Error::not_found)?;
    let (_, key) = columns::auth_secrets(&row)?;
    let token = match issue {
        Issue::Fresh => auth_token(&ctx.app, c, id, &key)?,
        Issue::Same(t) => t,
        Issue::Impersonation(secs) => {
            let default = c
                .auth
                .as_ref()
                .map(|a| a.auth_token.duration)
                .unwrap_or(86_400);
            let secs = if secs == 0 { default } else { secs };
            issue_token(&ctx.app, c, id, &key, TokenType::Auth, secs, false)?
        }
    };
    let mut rec = columns::record_from_row(&row, c);
    // The record is shown to itself.
    let mut info = ctx.info.clone();
    info.auth = Some(crate::filter::AuthRecord {
        collection: c.clone(),
        record: rec.clone(),
    });
    if let Some(e) = expand_param {
        let mut items = vec![rec];
        expand(&ctx.app, c, &mut items, e, &info).await?;
        rec = items.pop().unwrap_or_default();
    }
    present(&ctx.app, c, &mut rec, &info).await?;
    Ok(json!({"token": token, "record": rec}))
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
        let fail = || Error::BadRequest("Failed to authenticate.".into());
        let auth = c.auth.clone().unwrap_or_default();
        if !auth.password_auth.enabled {
            return Err(Error::BadRequest(
                "The collection is not configured to allow password authentication.".into(),
            )
            .into());
        }
        let fields_to_try: Vec<String> = match &body.identity_field {
            Some(f) if auth.password_auth.identity_fields.contains(f) => vec![f.clone()],
            Some(_) => return Err(fail().into()),
            None => auth.password_auth.identity_fields.clone(),
        };
        let d = ctx.app.dialect();
        let mut found = None;
        for f in fields_to_try.iter().filter(|f| c.field(f).is_some()) {
            let ph = if d == crate::db::Dialect::Sqlite {
                "?"
            } else {
                "$1"
            };
            let sql = format!(
                "SELECT \"id\", \"password\" FROM {} WHERE {} = {ph} LIMIT 1",
                crate::db::quote(&c.name),
                crate::db::quote(f)
            );
            if let Some(row) = ctx
                .app
                .db()
                .query_one(d.raw(sql, vec![body.identity.clone().into()]))
                .await?
            {
                found = Some(row);
                break;
            }
        }
        // Hash anyway when nobody matched, so timing does not reveal which identities exist.
        let (id, hash) = match found {
            Some(r) => (r.string("id")?, r.string("password")?),
            None => (String::new(), String::new()),
        };
        let ok = ctx.app.verify_password(&body.password, &hash).await;
        if !ok || id.is_empty() {
            return Err(fail().into());
        }
        let proven = Proven {
            id: &id,
            method: Method::Password,
            mfa_id: body.0.mfa_id,
            meta: None,
            expand: expand.0.as_deref(),
            fields: fields.0.as_deref(),
        };
        complete_auth(&ctx, &c, proven).await
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
        let resp = auth_response(&ctx, &c, &id, expand.0.as_deref(), issue).await?;
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
        let auth = c.auth.clone().unwrap_or_default();
        let ids = &auth.password_auth.identity_fields;
        let providers = if auth.oauth2.enabled {
            super::record_auth_oauth2::login_offers(&ctx.app, &auth.oauth2.providers).await
        } else {
            vec![]
        };
        let mut body = json!({
            "password": {"enabled": auth.password_auth.enabled, "identityFields": ids},
            "oauth2": {"enabled": auth.oauth2.enabled, "providers": providers},
            "mfa": {
                "enabled": auth.mfa.enabled,
                "duration": if auth.mfa.enabled { auth.mfa.duration } else { 0 },
            },
            "otp": {
                "enabled": auth.otp.enabled,
                "duration": if auth.otp.enabled { auth.otp.duration } else { 0 },
            },
        });
        if fields.0.as_deref().is_none_or(|f| f.trim().is_empty()) {
            // Keys older SDKs read.
            body["authProviders"] = body["oauth2"]["providers"].clone();
            body["usernamePassword"] =
                json!(auth.password_auth.enabled && ids.iter().any(|f| f == "username"));
            body["emailPassword"] =
                json!(auth.password_auth.enabled && ids.iter().any(|f| f == "email"));
        }
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
        let resp = auth_response(
            &ctx,
            &c,
            &id.0,
            expand.0.as_deref(),
            Issue::Impersonation(secs),
        )
        .await?;
        Ok(described(pick(resp, fields.0.as_deref())))
    }
}
