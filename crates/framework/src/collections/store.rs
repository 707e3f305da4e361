//! Saving, validating and deleting collections: registry rows plus the real tables,
//! changed together in one write transaction.

use crate::app::App;
use crate::collections::ids::{field_id, random_token};
use crate::collections::model::{Collection, CollectionType, RESERVED_FIELD_NAMES};
use crate::collections::registry::Registry;
use crate::collections::schema::{self, IndexDef};
use crate::db::{quote, Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::{format_datetime, Field, FieldError, FieldKind};
use crate::filter::{compile_filter, RequestInfo, Scope};
use crate::records::read::MAIN;
use sea_orm::Value as SqlValue;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

static NAME_RE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[A-Za-z0-9_]+$").expect("static regex"));

/// Longest collection name: PostgreSQL identifiers are at most 63 bytes, and index names
/// are made from a collection's name (PocketBase allows 255).
const MAX_NAME_LEN: usize = 55;

/// Tables of the server's own that a collection's table must not collide with.
const INTERNAL_TABLES: [&str; 6] = [
    "_collections",
    "_params",
    "_logs",
    "_migrations",
    "_realtime_events",
    "seaql_migrations",
];

const COLUMNS: &str = r#""id", "name", "type", "system", "fields", "indexes", "listRule", "viewRule", "createRule", "updateRule", "deleteRule", "options", "created", "updated""#;

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

fn row_values(c: &Collection) -> Vec<SqlValue> {
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

fn placeholders(d: Dialect, n: usize) -> String {
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

async fn exec_all(txn: &dyn WriteTx, d: Dialect, stmts: &[String]) -> Result<()> {
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
fn plan_delete(reg: &Registry, id_or_name: &str) -> Result<SchemaStep> {
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
    let ddl = schema::drop_sql(&c);
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
    let step = plan_delete(&app.registry(), id_or_name)?;
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

/// Fills ids and defaults and checks everything about a collection before it is saved.
fn prepare(
    c: &mut Collection,
    old: Option<&Collection>,
    reg: &Registry,
    action: &str,
) -> Result<()> {
    let msg = format!("Failed to {action} collection.");
    let fail = |key: &str, code: &'static str, text: String| {
        Error::fields(
            msg.clone(),
            vec![(key.to_string(), FieldError::new(code, text))],
        )
    };

    if c.id.is_empty() {
        c.id = crate::collections::ids::collection_id(c.kind, &c.name);
        if old.is_none() && reg.find(&c.id).is_some_and(|o| o.id == c.id) {
            // Same type and name as a collection renamed away: pick a fresh id.
            c.id = format!(
                "pbc_{}",
                crate::collections::ids::random_from(b"0123456789", 10)
            );
        }
    }
    if c.name.is_empty() {
        return Err(fail(
            "name",
            "validation_required",
            "Cannot be blank.".into(),
        ));
    }
    if c.name.len() > MAX_NAME_LEN {
        return Err(Error::field(
            msg.clone(),
            "name",
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between 1 and {MAX_NAME_LEN}."),
            )
            .with_params(serde_json::json!({"min": 1, "max": MAX_NAME_LEN})),
        ));
    }
    if !NAME_RE.is_match(&c.name) {
        return Err(fail(
            "name",
            "validation_match_invalid",
            "Must be in a valid format.".into(),
        ));
    }
    let lower = c.name.to_lowercase();
    if INTERNAL_TABLES.contains(&lower.as_str()) || lower.starts_with("sqlite_") {
        return Err(fail(
            "name",
            "validation_collection_name_invalid",
            "The name shouldn't match with an existing internal table.".into(),
        ));
    }
    if reg
        .all()
        .iter()
        .any(|o| o.id != c.id && o.name.eq_ignore_ascii_case(&c.name))
    {
        return Err(fail(
            "name",
            "validation_collection_name_exists",
            "Collection name must be unique (case insensitive).".into(),
        ));
    }
    if let Some(o) = old {
        if o.kind != c.kind {
            return Err(fail(
                "type",
                "validation_collection_type_change",
                "The collection type cannot be changed.".into(),
            ));
        }
        if o.system && o.name != c.name {
            return Err(fail(
                "name",
                "validation_system_collection_name_change",
                "System collections cannot be renamed.".into(),
            ));
        }
        for f in o.fields.iter().filter(|f| f.system) {
            match c.fields.iter().find(|n| n.id == f.id) {
                Some(n) if n.name == f.name => {}
                _ => {
                    return Err(fail(
                        "fields",
                        "validation_system_field_change",
                        format!(
                            "The system field '{}' cannot be removed or renamed.",
                            f.name
                        ),
                    ))
                }
            }
        }
    }
    match c.kind {
        CollectionType::View => {
            let q = c.view_query.trim().trim_end_matches(';').trim().to_string();
            let starts = q.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("select"))
                || q.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("with"));
            if q.is_empty() {
                return Err(fail(
                    "viewQuery",
                    "validation_required",
                    "Cannot be blank.".into(),
                ));
            }
            if !starts || q.contains(';') {
                return Err(fail(
                    "viewQuery",
                    "validation_invalid_view_query",
                    "The view query must be a single SELECT statement.".into(),
                ));
            }
            c.view_query = q;
            c.create_rule = None;
            c.update_rule = None;
            c.delete_rule = None;
            c.indexes.clear();
        }
        CollectionType::Auth => {
            c.ensure_auth_fields();
            let auth = c.auth.get_or_insert_with(Default::default);
            if let Some(p) = auth
                .oauth2
                .providers
                .iter()
                .find(|p| !crate::auth::oauth2::is_known_provider(&p.name))
            {
                return Err(fail(
                    "oauth2",
                    "validation_invalid_provider",
                    format!(
                        "Unknown OAuth2 provider {:?} (known: github, google, oidc*).",
                        p.name
                    ),
                ));
            }
            if !(4..=16).contains(&auth.otp.length) {
                return Err(fail(
                    "otp",
                    "validation_invalid_length",
                    "The OTP length must be between 4 and 16.".into(),
                ));
            }
            if auth.token_secret.is_empty() {
                auth.token_secret = old
                    .and_then(|o| o.auth.as_ref())
                    .map(|a| a.token_secret.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| random_token(50));
            }
        }
        CollectionType::Base => {
            c.auth = None;
        }
    }
    if !c.is_view() {
        let has_id = c
            .fields
            .iter()
            .any(|f| f.name == "id" && matches!(&f.kind, FieldKind::Text(t) if t.primary_key));
        if !has_id {
            c.fields.insert(0, crate::collections::model::id_field());
        }
        check_fields(c, reg, &msg)?;
        normalize_indexes(c, &msg)?;
    }
    check_rules(c, reg, &msg)?;
    Ok(())
}

fn check_fields(c: &mut Collection, reg: &Registry, msg: &str) -> Result<()> {
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for (i, f) in c.fields.iter_mut().enumerate() {
        let key = |option: &str| format!("fields.{i}.{option}");
        if f.id.is_empty() {
            f.id = field_id(f.kind.type_name(), &f.name);
        }
        // The id field is the collection's text primary key; any other is a second "id".
        let bad_id = f.name == "id" && !matches!(&f.kind, FieldKind::Text(t) if t.primary_key);
        let problem = if f.name.is_empty() {
            Some(("name", FieldError::required()))
        } else if !NAME_RE.is_match(&f.name) || f.name.len() > 100 {
            Some((
                "name",
                FieldError::new("validation_match_invalid", "Must be in a valid format."),
            ))
        } else if RESERVED_FIELD_NAMES.contains(&f.name.as_str()) {
            Some((
                "name",
                FieldError::new("validation_not_in_invalid", "Must not be in list."),
            ))
        } else if bad_id || !seen.insert(f.name.to_lowercase()) {
            Some((
                "name",
                FieldError::new(
                    "validation_duplicated_field_name",
                    format!("Duplicated or invalid field name {}.", f.name),
                )
                .with_params(serde_json::json!({"fieldName": f.name})),
            ))
        } else if let Err(e) = f.kind.as_type().check_options() {
            Some((e.option, *e.error))
        } else {
            None
        };
        if let Some((option, e)) = problem {
            errors.push((key(option), e));
            continue;
        }
        if let FieldKind::Relation(rel) = &mut f.kind {
            // Accept the target by name too; store its id.
            match reg
                .find(&rel.collection_id)
                .map(|t| t.id.clone())
                .or_else(|| {
                    (rel.collection_id == c.id || rel.collection_id == c.name).then(|| c.id.clone())
                }) {
                Some(id) => rel.collection_id = id,
                None => errors.push((
                    key("collectionId"),
                    FieldError::new(
                        "validation_field_relation_missing_collection",
                        "The relation collection doesn't exist.",
                    ),
                )),
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(msg, errors))
    }
}

fn normalize_indexes(c: &mut Collection, msg: &str) -> Result<()> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut names = HashSet::new();
    for (i, sql) in c.indexes.iter().enumerate() {
        let key = format!("indexes.{i}");
        match IndexDef::parse(sql) {
            Err(e) => errors.push((
                key,
                FieldError::new("validation_invalid_index_expression", e),
            )),
            Ok(def) => {
                let missing = def
                    .columns
                    .iter()
                    .map(|(n, _)| n)
                    .chain(def.where_not_empty.iter())
                    .find(|n| c.field(n).is_none());
                if let Some(m) = missing {
                    errors.push((
                        key,
                        FieldError::new(
                            "validation_invalid_index_expression",
                            format!("Unknown column '{m}'."),
                        ),
                    ));
                } else if !names.insert(def.name.to_lowercase()) {
                    errors.push((
                        key,
                        FieldError::new(
                            "validation_duplicated_index_name",
                            "Duplicated index name.",
                        ),
                    ));
                } else {
                    out.push(def.to_sql(&c.name));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::fields(msg, errors));
    }
    c.indexes = out;
    Ok(())
}

fn check_rules(c: &Collection, reg: &Registry, msg: &str) -> Result<()> {
    // Compile against a registry that already holds the new definition.
    let mut all: Vec<Collection> = reg
        .all()
        .iter()
        .filter(|o| o.id != c.id)
        .map(|o| (**o).clone())
        .collect();
    all.push(c.clone());
    let reg = Registry::new(all);
    let req = RequestInfo::default();
    let mut errors = Vec::new();
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        for (key, rule) in c.rules() {
            let Some(rule) = rule.filter(|r| !r.trim().is_empty()) else {
                continue;
            };
            let scope = Scope::new(&reg, c, MAIN, &req, d);
            if let Err(e) = compile_filter(rule, &scope) {
                if !errors.iter().any(|(k, _): &(String, FieldError)| k == key) {
                    let err =
                        FieldError::new("validation_invalid_rule", format!("Invalid rule: {e}."));
                    errors.push((key.to_string(), err));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(msg, errors))
    }
}

fn invalid_view_query(e: Error) -> Error {
    let text = match &e {
        Error::Db(db) => db.to_string(),
        Error::BadRequest(m) => m.clone(),
        _ => return e,
    };
    // The database's own words, without the driver's framing.
    let words = [
        "error returned from database: ",
        "Custom Error: ",
        "Schema change failed: ",
    ]
    .iter()
    .fold(text.as_str(), |t, p| t.rsplit(p).next().unwrap_or(t))
    .trim()
    .trim_end_matches('.');
    Error::fields(
        "Failed to save collection.",
        vec![
            (
                "viewQuery".into(),
                FieldError::new(
                    "validation_invalid_view_query",
                    format!("Invalid query - {words}."),
                ),
            ),
            // No query, no fields (PocketBase reports both).
            ("fields".into(), FieldError::required()),
        ],
    )
}

/// Field definitions of a view, read back from the database's own description of it.
async fn infer_view_fields(txn: &dyn WriteTx, d: Dialect, c: &Collection) -> Result<Vec<Field>> {
    let (sql, name_col, type_col) = match d {
        Dialect::Sqlite => ("SELECT \"name\", \"type\" FROM pragma_table_info(?)".to_string(), "name", "type"),
        Dialect::Postgres => (
            "SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position".to_string(),
            "name",
            "type",
        ),
    };
    let rows = txn
        .query_all(d.raw(sql, vec![c.name.clone().into()]))
        .await?;
    let mut fields = Vec::new();
    for r in rows {
        let name: String = r.string(name_col)?;
        let mut ty: String = r.string(type_col)?.to_lowercase();
        if ty.is_empty() && d == Dialect::Sqlite {
            // Computed columns have no declared type: look at a stored value.
            let probe = format!(
                "SELECT typeof({col}) AS t FROM {view} WHERE {col} IS NOT NULL LIMIT 1",
                col = quote(&name),
                view = quote(&c.name)
            );
            if let Some(row) = txn.query_one(d.raw(probe, vec![])).await? {
                ty = row.string("t").unwrap_or_default();
            }
        }
        let kind = if name == "id" {
            fields.push({
                let mut f = crate::collections::model::id_field();
                if let FieldKind::Text(t) = &mut f.kind {
                    t.min = 0;
                    t.max = 0;
                    t.pattern.clear();
                }
                f
            });
            continue;
        } else if ty.contains("json") || ty.is_empty() || ty == "blob" {
            FieldKind::Json(Default::default())
        } else if ty.contains("text") || ty.contains("char") {
            FieldKind::Text(Default::default())
        } else if ty.contains("bool") {
            FieldKind::Bool(Default::default())
        } else if ["real", "double", "int", "numeric", "float", "decimal"]
            .iter()
            .any(|k| ty.contains(k))
        {
            FieldKind::Number(Default::default())
        } else {
            FieldKind::Text(Default::default())
        };
        let mut f = Field::new(&name, kind);
        f.id = field_id(f.kind.type_name(), &name);
        fields.push(f);
    }
    if !fields.iter().any(|f| f.name == "id") {
        return Err(Error::fields(
            "Failed to save collection.",
            vec![
                (
                    "viewQuery".into(),
                    FieldError::new(
                        "validation_invalid_view_query",
                        "Invalid query - missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one).",
                    ),
                ),
                (
                    "fields".into(),
                    FieldError::new("validation_missing_primary_key", "Missing or invalid \"id\" PK field."),
                ),
            ],
        ));
    }
    Ok(fields)
}

/// Creates the [`schema::auto_indexes`] that tables made before they existed lack.
/// Another instance may be doing the same: a failure is logged, not fatal.
pub(crate) async fn ensure_auto_indexes(app: &App) -> Result<()> {
    let d = app.dialect();
    let sql = match d {
        Dialect::Sqlite => "SELECT \"name\" FROM sqlite_master WHERE \"type\" = 'index'",
        Dialect::Postgres => {
            "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema()"
        }
    };
    let existing: std::collections::HashSet<String> = app
        .db()
        .query_all(d.raw(sql, vec![]))
        .await?
        .iter()
        .filter_map(|r| r.string("name").ok())
        .collect();
    let missing: Vec<String> = app
        .registry()
        .all()
        .iter()
        .flat_map(|c| schema::auto_indexes(c))
        .filter(|(name, _)| !existing.contains(name))
        .map(|(_, sql)| sql)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    tracing::info!(count = missing.len(), "creating indexes on autodate fields");
    let created = app
        .db()
        .write(Box::new(move |txn| {
            let missing = missing.clone();
            Box::pin(async move { exec_all(txn, d, &missing).await })
        }))
        .await;
    if let Err(e) = created {
        tracing::warn!(error = %e, "cannot create indexes on autodate fields");
    }
    Ok(())
}

/// Creates the built-in collections of a new install (`_superusers`, `users`).
pub(crate) async fn ensure_system_collections(app: &App) -> Result<()> {
    let reg = app.registry();
    if reg.find(crate::auth::superusers::SUPERUSERS).is_none() {
        let mut c = Collection::auth(crate::auth::superusers::SUPERUSERS);
        c.id = "pbc_3142635823".into();
        c.system = true;
        if let Some(a) = &mut c.auth {
            a.auth_token.duration = 86_400;
        }
        register_existing_table(app, c).await?;
    }
    if reg.find("users").is_none() {
        let mut c = Collection::auth("users");
        c.id = "_pb_users_auth_".into();
        c.add_field(Field::new(
            "name",
            FieldKind::Text(crate::fields::TextField {
                max: 255,
                ..Default::default()
            }),
        ));
        c.indexes =
            vec!["CREATE UNIQUE INDEX idx_users_email ON users (email) WHERE email != ''".into()];
        c.list_rule = Some("id = @request.auth.id".into());
        c.view_rule = Some("id = @request.auth.id".into());
        c.create_rule = Some(String::new());
        c.update_rule = Some("id = @request.auth.id".into());
        c.delete_rule = Some("id = @request.auth.id".into());
        create(app, c).await?;
    }
    if reg.find(crate::auth::otp::OTPS).is_none() {
        create(app, crate::auth::otp::collection()).await?;
    }
    if reg.find(crate::auth::mfa::MFAS).is_none() {
        create(app, crate::auth::mfa::collection()).await?;
    }
    if reg.find(crate::auth::oauth2::EXTERNAL_AUTHS).is_none() {
        create(app, crate::auth::oauth2::collection()).await?;
    }
    Ok(())
}

/// Registers a collection whose table a sea-orm migration already created.
async fn register_existing_table(app: &App, mut c: Collection) -> Result<()> {
    let reg = app.registry();
    prepare(&mut c, None, &reg, "create")?;
    let now = format_datetime(chrono::Utc::now());
    c.created = now.clone();
    c.updated = now;
    let d = app.dialect();
    app.db()
        .write::<_, Error>(Box::new(move |txn| {
            let c = c.clone();
            Box::pin(async move {
                let values = row_values(&c);
                let sql = format!(
                    "INSERT INTO \"_collections\" ({COLUMNS}) VALUES ({})",
                    placeholders(d, values.len())
                );
                txn.execute(d.raw(sql, values)).await?;
                Ok(())
            })
        }))
        .await?;
    app.reload_collections().await
}

pub(crate) async fn migration_applied(app: &App, name: &str) -> Result<bool> {
    let d = app.dialect();
    let ph = placeholders(d, 1);
    let row = app
        .db()
        .query_one(d.raw(
            format!("SELECT 1 AS x FROM \"_migrations\" WHERE \"name\" = {ph}"),
            vec![name.into()],
        ))
        .await?;
    Ok(row.is_some())
}

pub(crate) async fn record_migration(app: &App, name: &str) -> Result<()> {
    let d = app.dialect();
    let name = name.to_string();
    app.db()
        .write::<_, Error>(Box::new(move |txn| {
            let name = name.clone();
            Box::pin(async move {
                let ph = placeholders(d, 2);
                let now = format_datetime(chrono::Utc::now());
                txn.execute(d.raw(
                    format!("INSERT INTO \"_migrations\" (\"name\", \"applied\") VALUES ({ph})"),
                    vec![name.into(), now.into()],
                ))
                .await?;
                Ok(())
            })
        }))
        .await
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
            let step = plan_delete(&Registry::new(working.clone()), &id)?;
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
