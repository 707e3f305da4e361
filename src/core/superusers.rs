//! Creating and removing superusers (used by the CLI and by tests).

use super::app::App;
use super::error::{Error, Result};
use super::records;
use super::SUPERUSERS;
use crate::core::filter::{AuthRecord, RequestInfo};
use serde_json::{json, Map, Value};

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
        filter: Some(format!(
            "email = {}",
            serde_json::to_string(email).unwrap_or_default()
        )),
        skip_total: true,
        ..Default::default()
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
