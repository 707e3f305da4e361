//! Finishing a login: a method (password, OTP, OAuth2) proved who the caller is; then the
//! collection's auth rule, MFA, and the token with the record as it sees itself. Also the
//! password check itself and the list of ways a collection offers to log in.

use super::mfa::{self, Method, Outcome};
use super::tokens::{auth_token, auth_token_seconds, issue_token, load_auth_row, TokenType};
use crate::app::App;
use crate::collections::model::auth_fields::PASSWORD;
use crate::collections::model::Collection;
use crate::error::{Error, Result};
use crate::filter::{AuthRecord, RequestInfo};
use crate::records::columns;
use crate::records::read::show;
use serde_json::{json, Value};
use std::sync::Arc;

/// Where a login is after one method proved the caller is record `id`.
pub(crate) struct Proven<'a> {
    pub id: &'a str,
    pub method: Method,
    /// The MFA session of an earlier, different method (from the body or the query).
    pub mfa_id: Option<String>,
    /// Added to the answer as `meta` (OAuth2's account details).
    pub meta: Option<Value>,
    pub expand: Option<&'a str>,
}

/// How a login ends.
pub(crate) enum Login {
    /// `{"token", "record"}` (and `meta`).
    Done(Value),
    /// The collection requires another, different method: its MFA session id.
    NeedsAnotherMethod(String),
}

/// How the token of an auth answer is made.
pub(crate) enum Issue {
    /// A new token with the collection's lifetime.
    Fresh,
    /// This token again (a non-refreshable one being "refreshed").
    Same(String),
    /// A non-refreshable token lasting this many seconds (0 = the collection's default).
    Impersonation(u64),
}

/// The collection's auth rule, then MFA, then the token.
pub(crate) async fn complete(
    app: &App,
    req: &RequestInfo,
    c: &Arc<Collection>,
    p: Proven<'_>,
) -> Result<Login> {
    let failed = || Error::BadRequest("Failed to authenticate.".into());
    let row = load_auth_row(app, c, p.id).await?.ok_or_else(failed)?;
    let who = AuthRecord {
        collection: c.clone(),
        record: columns::record_from_row(&row, c),
    };
    if !mfa::may_authenticate(app, c, &who).await? {
        return Err(failed());
    }
    let mfa_id = p.mfa_id.or_else(|| req.query.get("mfaId").cloned());
    match mfa::after_factor(app, c, &who, p.method, mfa_id.as_deref()).await? {
        Outcome::NeedsAnother(id) => Ok(Login::NeedsAnotherMethod(id)),
        Outcome::Done => {
            let mut answer = token_answer(app, req, c, p.id, p.expand, Issue::Fresh).await?;
            if let Some(meta) = p.meta {
                answer["meta"] = meta;
            }
            Ok(Login::Done(answer))
        }
    }
}

/// `{"token", "record"}` for record `id`: the record shown to itself, expanded as asked.
pub(crate) async fn token_answer(
    app: &App,
    req: &RequestInfo,
    c: &Arc<Collection>,
    id: &str,
    expand_param: Option<&str>,
    issue: Issue,
) -> Result<Value> {
    let row = load_auth_row(app, c, id)
        .await?
        .ok_or_else(Error::not_found)?;
    let (_, key) = columns::auth_secrets(&row)?;
    let token = match issue {
        Issue::Fresh => auth_token(app, c, id, &key)?,
        Issue::Same(t) => t,
        Issue::Impersonation(secs) => {
            let secs = if secs == 0 {
                auth_token_seconds(c)
            } else {
                secs
            };
            issue_token(app, c, id, &key, TokenType::Auth, secs, false)?
        }
    };
    let rec = columns::record_from_row(&row, c);
    // The record is shown to itself.
    let mut info = req.clone();
    info.auth = Some(AuthRecord {
        collection: c.clone(),
        record: rec.clone(),
    });
    let rec = show(app, c, rec, expand_param, &info).await?;
    Ok(json!({"token": token, "record": rec}))
}

/// The record whose identity field (`identity_field`, or any of the collection's) holds
/// `identity` and whose password is `password`; otherwise "Failed to authenticate.",
/// after the same hashing work whether or not the identity exists.
pub(crate) async fn check_password(
    app: &App,
    c: &Collection,
    identity: &str,
    password: &str,
    identity_field: Option<&str>,
) -> Result<String> {
    let fail = || Error::BadRequest("Failed to authenticate.".into());
    let auth = c.auth.clone().unwrap_or_default();
    if !auth.password_auth.enabled {
        return Err(Error::BadRequest(
            "The collection is not configured to allow password authentication.".into(),
        ));
    }
    let identity_fields = &auth.password_auth.identity_fields;
    let fields_to_try: Vec<&String> = match identity_field {
        Some(f) if identity_fields.iter().any(|i| i == f) => {
            identity_fields.iter().filter(|i| *i == f).collect()
        }
        Some(_) => return Err(fail()),
        None => identity_fields.iter().collect(),
    };
    let d = app.dialect();
    let mut found = None;
    for f in fields_to_try.into_iter().filter(|f| c.field(f).is_some()) {
        let sql = format!(
            "SELECT \"id\", {} FROM {} WHERE {} = {} LIMIT 1",
            crate::db::quote(PASSWORD),
            crate::db::quote(&c.name),
            crate::db::quote(f),
            d.param(1)
        );
        if let Some(row) = app
            .db()
            .query_one(d.raw(sql, vec![identity.into()]))
            .await?
        {
            found = Some(row);
            break;
        }
    }
    // Hash anyway when nobody matched, so timing does not reveal which identities exist.
    let (id, hash) = match found {
        Some(r) => (r.string("id")?, r.string(PASSWORD)?),
        None => (String::new(), String::new()),
    };
    let ok = app.verify_password(password, &hash).await;
    if !ok || id.is_empty() {
        return Err(fail());
    }
    Ok(id)
}

/// `auth-methods`: the ways `c` offers to log in. `legacy` adds the keys older SDKs read.
pub(crate) async fn methods(app: &App, c: &Collection, legacy: bool) -> Value {
    let auth = c.auth.clone().unwrap_or_default();
    let ids = &auth.password_auth.identity_fields;
    let providers = if auth.oauth2.enabled {
        super::oauth2::login_offers(app, &auth.oauth2.providers).await
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
    if legacy {
        body["authProviders"] = body["oauth2"]["providers"].clone();
        body["usernamePassword"] =
            json!(auth.password_auth.enabled && ids.iter().any(|f| f == "username"));
        body["emailPassword"] =
            json!(auth.password_auth.enabled && ids.iter().any(|f| f == "email"));
    }
    body
}
