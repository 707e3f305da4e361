//! Named JSON documents in `_params`, shared by every instance on the database: the
//! settings, and whatever an app keeps there (its own settings). Never secrets: what
//! signs anything lives outside the database (`secrets`).

use crate::app::App;
use crate::db::Dialect;
use crate::error::{Error, Result};
use serde_json::Value;

fn placeholders(d: Dialect, n: usize) -> Vec<String> {
    (1..=n).map(|i| d.param(i)).collect()
}

/// The document stored under `key`, if any.
pub async fn load(app: &App, key: &str) -> Result<Option<Value>> {
    let d = app.dialect();
    let sql = format!(
        "SELECT \"value\" FROM \"_params\" WHERE \"id\" = {}",
        d.param(1)
    );
    let Some(row) = app.db().query_one(d.raw(sql, vec![key.into()])).await? else {
        return Ok(None);
    };
    let text: String = row.string("value")?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::internal(format!("corrupt _params row {key}: {e}")))
}

/// Stores `value` under `key`, replacing what was there.
pub async fn save(app: &App, key: &str, value: &Value) -> Result<()> {
    write(app, key, value, true).await
}

/// The document under `key`; when there is none, `init()` is stored and returned. Two
/// instances starting at once agree: the first write wins and both read it back.
pub async fn load_or_init(app: &App, key: &str, init: impl FnOnce() -> Value) -> Result<Value> {
    if let Some(v) = load(app, key).await? {
        return Ok(v);
    }
    write(app, key, &init(), false).await?;
    load(app, key)
        .await?
        .ok_or_else(|| Error::internal(format!("_params row {key} vanished")))
}

/// Removes the document under `key`, if there is one.
pub async fn delete(app: &App, key: &str) -> Result<()> {
    let d = app.dialect();
    let sql = format!("DELETE FROM \"_params\" WHERE \"id\" = {}", d.param(1));
    let key = key.to_string();
    app.db()
        .write(Box::new(move |tx| {
            let stmt = d.raw(sql.clone(), vec![key.clone().into()]);
            Box::pin(async move {
                tx.execute(stmt).await?;
                Ok(())
            })
        }))
        .await
}

async fn write(app: &App, key: &str, value: &Value, replace: bool) -> Result<()> {
    let d = app.dialect();
    let text = value.to_string();
    let now = crate::fields::format_datetime(chrono::Utc::now());
    let on_conflict = if replace {
        "DO UPDATE SET \"value\" = excluded.\"value\", \"updated\" = excluded.\"updated\""
    } else {
        "DO NOTHING"
    };
    let sql = format!(
        "INSERT INTO \"_params\" (\"id\", \"value\", \"created\", \"updated\") VALUES ({}) \
         ON CONFLICT (\"id\") {on_conflict}",
        placeholders(d, 4).join(", ")
    );
    let key = key.to_string();
    app.db()
        .write(Box::new(move |tx| {
            let values = vec![
                key.clone().into(),
                text.clone().into(),
                now.clone().into(),
                now.clone().into(),
            ];
            let stmt = d.raw(sql.clone(), values);
            Box::pin(async move {
                tx.execute(stmt).await?;
                Ok(())
            })
        }))
        .await
}
