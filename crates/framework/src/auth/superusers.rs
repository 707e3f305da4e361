//! Superusers: the built-in `_superusers` auth collection, creating and removing its
//! accounts (the CLI, tests), the first-run installer token, the system request.

use crate::app::App;
use crate::error::{Error, Result};
use crate::filter::{AuthRecord, RequestInfo};
use crate::records::read as records;
use serde_json::{json, Map, Value};

/// Name of the built-in superusers auth collection.
pub const SUPERUSERS: &str = "_superusers";

/// A request context acting as a superuser, for trusted server-side calls.
pub fn system_request(app: &App) -> Result<RequestInfo> {
    let c = app.collection(SUPERUSERS)?;
    let mut record = Map::new();
    record.insert("id".into(), json!(""));
    Ok(RequestInfo {
        auth: Some(AuthRecord {
            collection: c,
            record,
        }),
        context: "system".into(),
        ..Default::default()
    })
}

async fn find_id(app: &App, email: &str) -> Result<Option<String>> {
    let c = app.collection(SUPERUSERS)?;
    let req = system_request(app)?;
    let params = records::ListParams {
        per_page: 1,
        skip_total: true,
        ..records::ListParams::filtered("email = {:email}", [("email", json!(email))])
    };
    let found = records::list(app, &c, &req, &params).await?;
    Ok(found
        .items
        .first()
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string))
}

pub async fn upsert(app: &App, email: &str, password: &str) -> Result<()> {
    let c = app.collection(SUPERUSERS)?;
    let req = system_request(app)?;
    let mut body = Map::new();
    body.insert("password".into(), json!(password));
    body.insert("passwordConfirm".into(), json!(password));
    match find_id(app, email).await? {
        Some(id) => records::update(app, &c, &id, &req, body).await.map(|_| ()),
        None => {
            body.insert("email".into(), json!(email));
            body.insert("verified".into(), json!(true));
            records::create(app, &c, &req, body).await.map(|_| ())
        }
    }
}

pub async fn delete(app: &App, email: &str) -> Result<()> {
    let c = app.collection(SUPERUSERS)?;
    let req = system_request(app)?;
    let id = find_id(app, email)
        .await?
        .ok_or_else(|| Error::NotFound(format!("No superuser with e-mail {email}.")))?;
    records::delete(app, &c, &id, &req).await
}

/// Whether any superuser exists.
pub async fn any(app: &App) -> Result<bool> {
    let c = app.collection(SUPERUSERS)?;
    let found = records::list(
        app,
        &c,
        &system_request(app)?,
        &records::ListParams {
            per_page: 1,
            skip_total: true,
            ..Default::default()
        },
    )
    .await?;
    Ok(!found.items.is_empty())
}

/// The one-time installer token of a fresh install: while no superuser exists, it acts
/// as a superuser's token, so the dashboard can create the first one through the
/// ordinary records API (as PocketBase's installer link does). Dies after 30 minutes.
pub struct InstallToken {
    token: String,
    expires: std::time::Instant,
}

/// When no superuser exists, makes the installer token and returns it (to print as a
/// link); otherwise `None`.
pub async fn installer(app: &App) -> Result<Option<String>> {
    if any(app).await? {
        return Ok(None);
    }
    let token = crate::collections::ids::random_token(48);
    app.put_state(InstallToken {
        token: token.clone(),
        expires: std::time::Instant::now() + std::time::Duration::from_secs(30 * 60),
    });
    Ok(Some(token))
}

/// The request identity `token` grants, if it is the live installer token.
pub async fn installer_request(app: &App, token: &str) -> Option<RequestInfo> {
    let t = app.state::<InstallToken>()?;
    let valid = t.expires > std::time::Instant::now()
        && crate::auth::tokens::constant_time_eq(t.token.as_bytes(), token.as_bytes());
    if !valid || any(app).await.unwrap_or(true) {
        return None;
    }
    system_request(app).ok()
}
