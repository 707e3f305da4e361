//! Multi-factor auth: when a collection asks for it, a first successful method leaves an
//! `_mfas` record and the client must finish with a different method and its `mfaId`.

use crate::app::App;
use crate::auth::flow_store;
use crate::auth::superusers::system_request;
use crate::collections::model::Collection;
use crate::error::{Error, Result};
use crate::fields::{Field, FieldKind, TextField};
use crate::filter::{AuthRecord, RequestInfo};
use crate::records::read as records;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The system collection of half-finished logins.
pub const MFAS: &str = "_mfas";

/// The ways of proving who one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    Otp,
    OAuth2,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Otp => "otp",
            Method::OAuth2 => "oauth2",
        }
    }
}

pub(crate) fn collection() -> Collection {
    crate::auth::flow_store::collection(
        MFAS,
        vec![Field::new("method", FieldKind::Text(TextField::default())).required()],
    )
}

/// What a successful factor leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in.
    Done,
    /// Another, different method must follow with this `mfaId`.
    NeedsAnother(String),
}

fn invalid() -> Error {
    Error::BadRequest("Invalid or expired MFA session.".into())
}

/// Called once `method` has proven the caller is `record` of `c`; `mfa_id` is the
/// session a previous factor started, if the client sent one.
pub async fn after_factor(
    app: &App,
    c: &Arc<Collection>,
    record: &AuthRecord,
    method: Method,
    mfa_id: Option<&str>,
) -> Result<Outcome> {
    let opts = c.auth.clone().unwrap_or_default().mfa;
    if !opts.enabled || !needs_mfa(app, c, record, &opts.rule).await? {
        return Ok(Outcome::Done);
    }
    let Some(mfa_id) = mfa_id.filter(|m| !m.is_empty()) else {
        // Sessions nobody finished are cleared as new ones start.
        flow_store::delete_expired(app, MFAS, c, opts.duration).await?;
        let mut body = Map::new();
        body.insert("collectionRef".into(), json!(c.id));
        body.insert("recordRef".into(), json!(record.id()));
        body.insert("method".into(), json!(method.as_str()));
        let mfas = app.collection(MFAS)?;
        let created = records::create(app, &mfas, &system_request(app)?, body).await?;
        let id = created
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok(Outcome::NeedsAnother(id.to_string()));
    };
    let columns = ["collectionRef", "recordRef", "method"];
    let row = flow_store::find(app, MFAS, mfa_id, &columns)
        .await?
        .ok_or_else(invalid)?;
    let get = |k: &str| row.string(k).unwrap_or_default();
    let expired = flow_store::expired(&row, opts.duration);
    if get("collectionRef") != c.id || get("recordRef") != record.id() || expired {
        return Err(invalid());
    }
    if get("method") == method.as_str() {
        return Err(Error::BadRequest(
            "A different authentication method is required.".into(),
        ));
    }
    if flow_store::delete(app, MFAS, mfa_id).await? == 0 {
        return Err(invalid());
    }
    Ok(Outcome::Done)
}

/// Whether `record` must use a second factor: the MFA rule ("" = everyone), with the
/// record itself as `@request.auth`.
async fn needs_mfa(
    app: &App,
    c: &Arc<Collection>,
    record: &AuthRecord,
    rule: &str,
) -> Result<bool> {
    if rule.trim().is_empty() {
        return Ok(true);
    }
    records::record_passes(app, c, record, rule).await
}

/// Whether `record` passes the collection's `authRule` (`null` = nobody may log in).
pub async fn may_authenticate(app: &App, c: &Arc<Collection>, record: &AuthRecord) -> Result<bool> {
    match c.auth.as_ref().and_then(|a| a.auth_rule.clone()) {
        None => Ok(false),
        Some(r) if r.trim().is_empty() => Ok(true),
        Some(r) => records::record_passes(app, c, record, &r).await,
    }
}

/// The request context of a record acting on its own behalf.
pub(crate) fn as_itself(record: &AuthRecord) -> RequestInfo {
    RequestInfo {
        auth: Some(record.clone()),
        context: "auth".into(),
        ..Default::default()
    }
}
