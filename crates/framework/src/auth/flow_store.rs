//! The rows the auth flows keep between requests (`_otps`, `_mfas`): their system
//! collections and the few queries on them, shared by every instance on the database.

use crate::app::App;
use crate::collections::model::Collection;
use crate::db::quote;
use crate::error::Result;
use crate::fields::{format_datetime, parse_datetime, Field, FieldKind, TextField};

/// A system collection (superusers only) whose records point at an auth record through
/// `collectionRef` and `recordRef`, plus `extra` fields.
pub(crate) fn collection(name: &str, extra: Vec<Field>) -> Collection {
    let text = |name: &str| {
        Field::new(name, FieldKind::Text(TextField::default()))
            .system()
            .required()
    };
    let mut c = Collection::base(name);
    c.system = true;
    c.add_field(text("collectionRef"));
    c.add_field(text("recordRef"));
    for f in extra {
        c.add_field(f.system());
    }
    c.indexes = vec![format!(
        "CREATE INDEX idx_{name}_refs ON {name} (collectionRef, recordRef)"
    )];
    c
}

/// The row of `table` with this id: `columns` and `created`.
pub(crate) async fn find(
    app: &App,
    table: &str,
    id: &str,
    columns: &[&str],
) -> Result<Option<crate::db::Row>> {
    let d = app.dialect();
    let cols: Vec<String> = columns
        .iter()
        .chain(&["created"])
        .map(|c| quote(c))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE \"id\" = {}",
        cols.join(", "),
        quote(table),
        d.param(1)
    );
    Ok(app.db().query_one(d.raw(sql, vec![id.into()])).await?)
}

/// Whether a row read by [`find`] is older than `secs` seconds.
pub(crate) fn expired(row: &crate::db::Row, secs: u64) -> bool {
    let created = row.string("created").unwrap_or_default();
    parse_datetime(&created)
        .is_none_or(|t| t + chrono::Duration::seconds(secs as i64) < chrono::Utc::now())
}

/// Deletes the row with this id; returns how many went (0 if another request took it).
pub(crate) async fn delete(app: &App, table: &str, id: &str) -> Result<u64> {
    let d = app.dialect();
    let sql = format!("DELETE FROM {} WHERE \"id\" = {}", quote(table), d.param(1));
    Ok(app.db().execute(d.raw(sql, vec![id.into()])).await?)
}

/// Deletes the rows of `table` for collection `c` older than `secs` seconds.
pub(crate) async fn delete_expired(
    app: &App,
    table: &str,
    c: &Collection,
    secs: u64,
) -> Result<()> {
    let d = app.dialect();
    let cutoff = chrono::Utc::now() - chrono::Duration::seconds(secs as i64);
    let sql = format!(
        "DELETE FROM {} WHERE \"collectionRef\" = {} AND \"created\" < {}",
        quote(table),
        d.param(1),
        d.param(2)
    );
    let values = vec![c.id.clone().into(), format_datetime(cutoff).into()];
    app.db().execute(d.raw(sql, values)).await?;
    Ok(())
}
