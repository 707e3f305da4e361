//! Saving and deleting collections: registry rows plus the real tables, changed
//! together in one write transaction (checked first by `validate.rs`), and imports.

use crate::app::App;
use crate::collections::model::{Collection, CollectionType};
use crate::collections::registry::Registry;
use crate::collections::schema::{self};
use crate::collections::validate::prepare;
use crate::collections::views::{infer_view_fields, invalid_view_query};
use crate::db::{quote, Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::{format_datetime, FieldError, FieldKind};
use sea_orm::Value as SqlValue;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

pub(crate) const COLUMNS: &str = r#""id", "name", "type", "system", "fields", "indexes", "listRule", "viewRule", "createRule", "updateRule", "deleteRule", "options", "created", "updated""#;

/// A cheap fingerprint of the registry table: row count and newest `updated`.
pub(crate) async fn schema_mark(app: &App) -> Result<(i64, String)> {
    let d = app.dialect();
    // Settings changes count too: they travel with the same poll.
    let sql = "SELECT COUNT(*) AS n, COALESCE(MAX(\"updated\"), '') || '|' || COALESCE((SELECT \"updated\" FROM \"_params\" WHERE \"id\" = 'settings'), '') AS u FROM \"_collections\"";
    let row = app.db().query_one(d.raw(sql, vec![])).await?;
    Ok(match row {
        Some(r) => (r.i64("n")?, r.string("u")?),
        None => (0, String::new()),
    })
}

pub(crate) async fn load_all(app: &App) -> Result<Vec<Collection>> {
    let d = app.dialect();
    let rows = app
        .db()
        .query_all(d.raw(
            format!("SELECT {COLUMNS} FROM \"_collections\" ORDER BY \"created\", \"name\""),
            vec![],
        ))
        .await?;
    rows.iter().map(row_to_collection).collect()
}

fn row_to_collection(row: &crate::db::Row) -> Result<Collection> {
    let s = |c: &str| row.string(c).map_err(Error::from);
    let o = |c: &str| row.opt_string(c).map_err(Error::from);
    let kind = match s("type")?.as_str() {
        "auth" => CollectionType::Auth,
        "view" => CollectionType::View,
        _ => CollectionType::Base,
    };
    let parse = |c: &str| -> Result<Value> {
        serde_json::from_str(&s(c)?)
            .map_err(|e| Error::internal(format!("corrupt _collections.{c}: {e}")))
    };
    let mut c = Collection {
        id: s("id")?,
        name: s("name")?,
        kind,
        system: row.bool("system")?,
        fields: serde_json::from_value(parse("fields")?)
            .map_err(|e| Error::internal_from("corrupt fields", e))?,
        indexes: serde_json::from_value(parse("indexes")?).unwrap_or_default(),
        list_rule: o("listRule")?,
        view_rule: o("viewRule")?,
        create_rule: o("createRule")?,
        update_rule: o("updateRule")?,
        delete_rule: o("deleteRule")?,
        view_query: String::new(),
        auth: None,
        created: s("created")?,
        updated: s("updated")?,
    };
    c.apply_options_json(&parse("options")?);
    Ok(c)
}

pub(crate) fn row_values(c: &Collection) -> Vec<SqlValue> {
    let js = |v: Value| SqlValue::String(Some(v.to_string()));
    vec![
        SqlValue::String(Some(c.id.clone())),
        SqlValue::String(Some(c.name.clone())),
        SqlValue::String(Some(c.kind.as_str().into())),
        SqlValue::Bool(Some(c.system)),
        js(serde_json::to_value(&c.fields).unwrap_or(json!([]))),
        js(json!(c.indexes)),
        SqlValue::String(c.list_rule.clone()),
        SqlValue::String(c.view_rule.clone()),
        SqlValue::String(c.create_rule.clone()),
        SqlValue::String(c.update_rule.clone()),
        SqlValue::String(c.delete_rule.clone()),
        js(c.options_json()),
        SqlValue::String(Some(c.created.clone())),
        SqlValue::String(Some(c.updated.clone())),
    ]
}

pub(crate) fn placeholders(d: Dialect, n: usize) -> String {
    (1..=n)
        .map(|i| {
            if d == Dialect::Sqlite {
                "?".to_string()
            } else {
                format!("${i}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) async fn exec_all(txn: &dyn WriteTx, d: Dialect, stmts: &[String]) -> Result<()> {
    for sql in stmts {
        txn.execute(d.raw(sql.clone(), vec![]))
            .await
            .map_err(|e| Error::BadRequest(format!("Schema change failed: {e}")))?;
    }
    Ok(())
}

/// Creates a new collection and its table.
pub async fn create(app: &App, c: Collection) -> Result<Collection> {
    save(app, c, true).await
}

/// Updates the collection with `c.id`, altering its table in place.
pub async fn update(app: &App, c: Collection) -> Result<Collection> {
    save(app, c, false).await
}

/// A checked schema change, ready to run inside a transaction.
enum SchemaStep {
    Save {
        c: Box<Collection>,
        ddl: Vec<String>,
        is_new: bool,
    },
    Delete {
        c: Arc<Collection>,
        ddl: Vec<String>,
    },
}

async fn save(app: &App, c: Collection, creating: bool) -> Result<Collection> {
    let step = plan_save(&app.registry(), c, creating, app.dialect())?;
    run_steps(app, vec![step])
        .await?
        .pop()
        .flatten()
        .ok_or_else(|| Error::internal("a saved collection vanished"))
}

/// Validates `c` against `reg` (creating it, or updating the collection with its id) and
/// works out the statements that change the table.
fn plan_save(reg: &Registry, mut c: Collection, creating: bool, d: Dialect) -> Result<SchemaStep> {
    let action = if creating { "create" } else { "update" };
    let old = if creating {
        if !c.id.is_empty() && reg.find(&c.id).is_some_and(|o| o.id == c.id) {
            return Err(Error::field(
                "Failed to create collection.",
                "id",
                FieldError::new("validation_not_unique", "The id is already in use."),
            ));
        }
        None
    } else {
        Some(
            reg.find(&c.id)
                .filter(|o| o.id == c.id)
                .map(|o| (*o).clone())
                .ok_or_else(Error::not_found)?,
        )
    };
    prepare(&mut c, old.as_ref(), reg, action)?;
    let now = format_datetime(chrono::Utc::now());
    if old.is_none() {
        c.created = now.clone();
    }
    c.updated = now;
    let ddl = match &old {
        None => schema::create_sql(&c, d),
        Some(o) => schema::alter_sql(o, &c, d)?,
    };
    Ok(SchemaStep::Save {
        c: Box::new(c),
        ddl,
        is_new: old.is_none(),
    })
}

/// Checks that the collection may go and works out the statements that drop it.
fn plan_delete(reg: &Registry, id_or_name: &str, d: Dialect) -> Result<SchemaStep> {
    let c = reg.find(id_or_name).ok_or_else(Error::not_found)?;
    if c.system {
        return Err(Error::BadRequest(
            "System collections cannot be deleted.".into(),
        ));
    }
    if let Some(other) = reg.all().iter().find(|o| {
        o.id != c.id
            && o.fields
                .iter()
                .any(|f| matches!(&f.kind, FieldKind::Relation(r) if r.collection_id == c.id))
    }) {
        return Err(Error::BadRequest(format!(
            "The collection is referenced by a relation field of '{}'; remove that field first.",
            other.name
        )));
    }
    let ddl = schema::drop_sql(&c, d);
    Ok(SchemaStep::Delete { c, ddl })
}

/// Runs one schema change inside `txn`; a saved collection comes back as stored.
async fn run_step(txn: &dyn WriteTx, d: Dialect, step: &SchemaStep) -> Result<Option<Collection>> {
    let (c, ddl, is_new) = match step {
        SchemaStep::Delete { c, ddl } => {
            exec_all(txn, d, ddl).await?;
            let ph = placeholders(d, 1);
            txn.execute(d.raw(
                format!("DELETE FROM \"_collections\" WHERE \"id\" = {ph}"),
                vec![c.id.clone().into()],
            ))
            .await?;
            return Ok(None);
        }
        SchemaStep::Save { c, ddl, is_new } => (c, ddl, *is_new),
    };
    let mut c = (**c).clone();
    if c.is_view() {
        // The database is the judge of a view's query: what it refuses is the client's
        // mistake (400), not the server's.
        exec_all(txn, d, ddl).await.map_err(invalid_view_query)?;
        c.fields = infer_view_fields(txn, d, &c)
            .await
            .map_err(invalid_view_query)?;
    } else if is_new {
        exec_all(txn, d, ddl).await?;
    }
    write_collection_row(txn, d, &c, is_new).await?;
    // The row first, then the table: a write checks the row (share-locked on
    // PostgreSQL) before it touches the table, so it never writes the old shape into the
    // new table (see record_write::check_schema).
    if !is_new && !c.is_view() {
        exec_all(txn, d, ddl).await?;
    }
    Ok(Some(c))
}

/// Inserts or updates the `_collections` row of `c`.
async fn write_collection_row(
    txn: &dyn WriteTx,
    d: Dialect,
    c: &Collection,
    is_new: bool,
) -> Result<()> {
    let values = row_values(c);
    let sql = if is_new {
        format!(
            "INSERT INTO \"_collections\" ({COLUMNS}) VALUES ({})",
            placeholders(d, values.len())
        )
    } else {
        let sets: Vec<String> = COLUMNS
            .split(", ")
            .enumerate()
            .skip(1)
            .map(|(i, col)| {
                format!(
                    "{col} = {}",
                    if d == Dialect::Sqlite {
                        "?".into()
                    } else {
                        format!("${}", i + 1)
                    }
                )
            })
            .collect();
        let id_ph = if d == Dialect::Sqlite {
            "?".to_string()
        } else {
            "$1".to_string()
        };
        // SQLite binds positionally: move the id to the end.
        format!(
            "UPDATE \"_collections\" SET {} WHERE \"id\" = {id_ph}",
            sets.join(", ")
        )
    };
    let values = if !is_new && d == Dialect::Sqlite {
        let mut v = values;
        let id = v.remove(0);
        v.push(id);
        v
    } else {
        values
    };
    txn.execute(d.raw(sql, values)).await?;
    Ok(())
}

/// Runs checked schema changes in one transaction, then reloads the registry and
/// removes the files of deleted collections. Each saved collection comes back as stored.
async fn run_steps(app: &App, steps: Vec<SchemaStep>) -> Result<Vec<Option<Collection>>> {
    let d = app.dialect();
    let steps = Arc::new(steps);
    let shared = steps.clone();
    let stored = app
        .db()
        .write::<_, Error>(Box::new(move |txn| {
            let steps = shared.clone();
            Box::pin(async move {
                let mut stored = Vec::with_capacity(steps.len());
                for step in steps.iter() {
                    stored.push(run_step(txn, d, step).await?);
                }
                Ok(stored)
            })
        }))
        .await?;
    app.reload_collections().await?;
    for step in steps.iter() {
        if let SchemaStep::Delete { c, .. } = step {
            forget_files(app, c).await;
        }
    }
    Ok(stored)
}

/// Deletes a collection and its table.
pub async fn delete(app: &App, id_or_name: &str) -> Result<()> {
    let step = plan_delete(&app.registry(), id_or_name, app.dialect())?;
    run_steps(app, vec![step]).await.map(|_| ())
}

/// Removes the stored files of every record of `c` (after its records are gone).
async fn forget_files(app: &App, c: &Collection) {
    if let Err(e) = app.files().delete_prefix(&c.id).await {
        tracing::warn!(collection = c.name, error = %e, "cannot remove the collection's files");
    }
}

/// Deletes every record of a collection (not a view).
pub async fn truncate(app: &App, id_or_name: &str) -> Result<()> {
    let c = app.collection(id_or_name)?;
    if c.is_view() {
        return Err(Error::BadRequest(
            "View collections cannot be truncated.".into(),
        ));
    }
    let d = app.dialect();
    let table = quote(&c.name);
    app.db()
        .write::<_, Error>(Box::new(move |txn| {
            let table = table.clone();
            Box::pin(async move {
                txn.execute(d.raw(format!("DELETE FROM {table}"), vec![]))
                    .await?;
                Ok(())
            })
        }))
        .await?;
    forget_files(app, &c).await;
    Ok(())
}

/// Imports many collections at once (create or update by id/name); with `delete_missing`,
/// non-system collections not in the list are deleted.
pub async fn import(app: &App, list: Vec<Collection>, delete_missing: bool) -> Result<()> {
    // Every collection is checked against the registry as the ones before it leave it,
    // then all changes run in one transaction (as in PocketBase): all or nothing.
    let d = app.dialect();
    let mut working: Vec<Collection> = app.registry().all().iter().map(|c| (**c).clone()).collect();
    let mut steps = Vec::new();
    let mut keep = HashSet::new();
    for mut c in list {
        let reg = Registry::new(working.clone());
        if let Some(existing) = reg.find(&c.id).or_else(|| reg.find(&c.name)) {
            c.id = existing.id.clone();
        } else if c.id.is_empty() {
            c.id = crate::collections::ids::collection_id(c.kind, &c.name);
        }
        keep.insert(c.id.clone());
        let exists = reg.find(&c.id).is_some_and(|o| o.id == c.id);
        let step = plan_save(&reg, c, !exists, d).map_err(import_failure)?;
        if let SchemaStep::Save { c, .. } = &step {
            working.retain(|o| o.id != c.id);
            working.push((**c).clone());
        }
        steps.push(step);
    }
    if delete_missing {
        let gone: Vec<String> = working
            .iter()
            .filter(|c| !c.system && !keep.contains(&c.id))
            .map(|c| c.id.clone())
            .collect();
        for id in gone {
            let step = plan_delete(&Registry::new(working.clone()), &id, d)?;
            working.retain(|o| o.id != id);
            steps.push(step);
        }
    }
    run_steps(app, steps)
        .await
        .map(|_| ())
        .map_err(import_failure)
}

fn import_failure(e: Error) -> Error {
    match e {
        Error::Validation { message, fields } => Error::Validation {
            message: "Failed to import collections.".into(),
            fields: [("collections".to_string(), json!({"code": "validation_collections_import_failure", "message": message, "data": fields}))]
                .into_iter()
                .collect(),
        },
        other => other,
    }
}
