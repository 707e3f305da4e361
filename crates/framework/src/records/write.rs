//! Record writes: checked plans (values, rules, hooks, hashed passwords) that run inside
//! one write transaction, alone or several together as a batch, and what follows their
//! commit (after-hooks, realtime, caches).

use crate::app::App;
use crate::collections::ids::{is_valid_record_id, new_record_id};
use crate::collections::model::{auth_fields, Collection};
use crate::collections::registry::Registry;
use crate::db::{quote, Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::{format_datetime, Change, Field, FieldError, FieldKind};
use crate::files::{self, FileStorage, FormFile};
use crate::filter::RequestInfo;
use crate::hooks::{HookPoint, RecordEvent};
use crate::realtime::broker::{self as realtime, Action};
use crate::records::auth_steps::{self, FieldStep};
use crate::records::columns::to_sql;
use crate::records::files::{add_upload_names, settle, FileChanges};
use crate::records::read::{
    can_manage, find_visible, id_eq, in_list, rule_access, Access, Record, MAIN,
};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::Value as SqlValue;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

const MAX_CASCADE_DEPTH: usize = 16;

/// Values sent for one field: a plain set, or `field+` / `+field` / `field-` modifiers,
/// applied as the field's type does.
fn apply_body(
    f: &Field,
    current: &Value,
    body: &Map<String, Value>,
) -> Option<std::result::Result<Value, FieldError>> {
    let change = Change::of(&f.name, body)?;
    Some(f.apply(current, &change))
}

/// The checked values to write for a create (`existing = None`) or an update.
/// `manager`: the requester is a superuser or satisfies the auth collection's
/// `manageRule` for this record, and so may set `verified` and `email` directly.
fn build_values(
    c: &Collection,
    body: &Map<String, Value>,
    existing: Option<&Record>,
    manager: bool,
    action: &str,
    uploaded: &HashSet<String>,
) -> Result<Record> {
    let mut errors: Vec<(String, FieldError)> = Vec::new();
    let mut out = Record::new();
    let now = format_datetime(chrono::Utc::now());
    for f in &c.fields {
        let current = existing
            .and_then(|e| e.get(&f.name))
            .cloned()
            .unwrap_or_else(|| f.zero());
        match &f.kind {
            FieldKind::Autodate(a) => {
                if (existing.is_none() && a.on_create) || a.on_update {
                    out.insert(f.name.clone(), Value::String(now.clone()));
                }
                continue;
            }
            _ if f.name == "id" => {
                if existing.is_some() {
                    if body.get("id").is_some_and(|v| {
                        v.as_str() != existing.and_then(|e| e.get("id")).and_then(Value::as_str)
                    }) {
                        errors.push((
                            "id".into(),
                            FieldError::new(
                                "validation_id_change",
                                "The record id cannot be changed.",
                            ),
                        ));
                    }
                    continue;
                }
                let id = match body.get("id") {
                    Some(Value::String(s)) if !s.is_empty() => {
                        if !is_valid_record_id(s) {
                            errors.push((
                                "id".into(),
                                FieldError::new("validation_invalid_format", "Invalid id format."),
                            ));
                            continue;
                        }
                        if let Err(e) = f.prepare(&Value::String(s.clone())) {
                            errors.push(("id".into(), e));
                            continue;
                        }
                        s.clone()
                    }
                    Some(Value::String(_)) | Some(Value::Null) | None => new_record_id(),
                    Some(_) => {
                        errors.push(("id".into(), FieldError::invalid_type("a string")));
                        continue;
                    }
                };
                out.insert("id".into(), Value::String(id));
                continue;
            }
            FieldKind::File(_)
                if body.contains_key(&f.name)
                    || body.contains_key(&format!("{}+", f.name))
                    || body.contains_key(&format!("+{}", f.name)) =>
            {
                // Names must be of files already stored or uploaded with this request.
                let requested = apply_body(f, &current, body);
                if let Some(Ok(v)) = &requested {
                    let stored: HashSet<String> = crate::fields::as_string_list_pub(&current);
                    let mut unknown: Vec<String> = crate::fields::as_string_list_pub(v)
                        .into_iter()
                        .filter(|n| !stored.contains(n) && !uploaded.contains(n))
                        .collect();
                    if !unknown.is_empty() {
                        unknown.sort();
                        errors.push((
                            f.name.clone(),
                            FieldError::new(
                                "validation_invalid_file",
                                format!(
                                    "Unknown file name(s): {}. New files are uploaded as multipart/form-data.",
                                    unknown.join(", ")
                                ),
                            ),
                        ));
                        continue;
                    }
                }
            }
            _ => {}
        }
        if c.is_auth() {
            match auth_steps::field_step(f, body, existing, manager) {
                FieldStep::Set(v) => {
                    out.insert(f.name.clone(), v);
                    continue;
                }
                FieldStep::Keep => continue,
                FieldStep::Refuse(e) => {
                    errors.push((f.name.clone(), e));
                    continue;
                }
                FieldStep::AsAnyField => {}
            }
        }
        match apply_body(f, &current, body) {
            None if existing.is_some() => {}
            None => {
                // A create without this field: autogenerate or validate the zero value.
                if let Some(v) = f.autogenerate() {
                    out.insert(f.name.clone(), v);
                    continue;
                }
                match f.prepare(&Value::Null) {
                    Ok(v) => {
                        out.insert(f.name.clone(), v);
                    }
                    Err(e) => errors.push((f.name.clone(), e)),
                }
            }
            Some(Ok(v)) => {
                out.insert(f.name.clone(), v);
            }
            Some(Err(e)) => errors.push((f.name.clone(), e)),
        }
    }
    if c.is_auth() {
        errors.extend(auth_steps::body_errors(body));
    }
    if !errors.is_empty() {
        return Err(Error::fields(format!("Failed to {action} record."), errors));
    }
    Ok(out)
}

/// Turns plain passwords into hashes, just before writing.
async fn hash_passwords(app: &App, c: &Collection, values: &mut Record) -> Result<()> {
    for f in c.fields.iter().filter(|f| f.is_write_only()) {
        if let Some(Value::String(p)) = values.get(&f.name).cloned() {
            if !p.is_empty() {
                let h = app.hash_password(&p).await?;
                values.insert(f.name.clone(), Value::String(h));
            }
        }
    }
    Ok(())
}

/// Checks that every relation id exists in its target collection (inside the write).
async fn check_relations(
    txn: &dyn WriteTx,
    d: Dialect,
    reg: &crate::collections::registry::Registry,
    c: &Collection,
    values: &Record,
    action: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    for f in &c.fields {
        let FieldKind::Relation(rel) = &f.kind else {
            continue;
        };
        let Some(v) = values.get(&f.name) else {
            continue;
        };
        let ids: Vec<String> = match v {
            Value::String(s) if !s.is_empty() => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        };
        if ids.is_empty() {
            continue;
        }
        let Some(target) = reg.find(&rel.collection_id) else {
            errors.push((
                f.name.clone(),
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            ));
            continue;
        };
        let mut q = Query::select();
        q.from(Alias::new(target.name.as_str()))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .and_where(in_list(Expr::col(Alias::new("id")), ids.iter().cloned()));
        let n: i64 = txn
            .query_one(d.build(&q))
            .await?
            .map(|r| r.i64("n"))
            .transpose()?
            .unwrap_or(0);
        if n as usize != ids.len() {
            errors.push((
                f.name.clone(),
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(format!("Failed to {action} record."), errors))
    }
}

/// Maps a unique-index violation to the field(s) of that index.
fn unique_error(c: &Collection, err: Error, action: &str) -> Error {
    if !err.is_unique_violation() {
        return err;
    }
    let text = err.to_string();
    let mut fields: Vec<String> = c
        .indexes
        .iter()
        .filter_map(|s| crate::collections::schema::IndexDef::parse(s).ok())
        .filter(|i| {
            text.contains(&i.name)
                || i.columns
                    .iter()
                    .any(|(col, _)| text.contains(&format!("{}.{}", c.name, col)))
        })
        .flat_map(|i| i.columns.into_iter().map(|(col, _)| col))
        .collect();
    if fields.is_empty() && (text.contains(&format!("{}.id", c.name)) || text.contains("_pkey")) {
        fields.push("id".into());
    }
    if fields.is_empty() {
        return Error::BadRequest(format!(
            "Failed to {action} record: a value must be unique."
        ));
    }
    Error::fields(
        format!("Failed to {action} record."),
        fields
            .into_iter()
            .map(|f| {
                (
                    f,
                    FieldError::new("validation_not_unique", "Value must be unique."),
                )
            })
            .collect(),
    )
}

// ----- plans ------------------------------------------------------------------------------

/// What runs inside the write transaction for one planned write.
#[derive(Clone)]
enum Step {
    Insert {
        c: Arc<Collection>,
        id: String,
        stored: Record,
        /// The create rule, checked against the inserted row.
        rule: Option<Expr>,
    },
    Update {
        c: Arc<Collection>,
        id: String,
        stored: Record,
        /// The update rule, when it is checked inside the transaction (batches).
        rule: Option<Expr>,
    },
    Delete {
        c: Arc<Collection>,
        id: String,
        /// The delete rule, when it is checked inside the transaction (batches).
        rule: Option<Expr>,
    },
}

/// What a delete leaves for after its commit.
type DeleteAnnouncement = Option<Vec<(Arc<realtime::Client>, realtime::Message)>>;

/// A checked write: its step, plus what to do once it has committed.
pub(crate) struct WritePlan {
    step: Step,
    after: After,
    files: FileChanges,
}

enum After {
    Created {
        record: Record,
    },
    Updated {
        record: Record,
        existing: Record,
        revokes_tokens: bool,
    },
    Deleted {
        existing: Record,
        announce: DeleteAnnouncement,
    },
}

impl WritePlan {
    /// The collection and id this plan writes, and the record as it will be afterwards
    /// (`None` once deleted).
    pub(crate) fn outcome(&self) -> (&Arc<Collection>, &str, Option<&Record>) {
        match (&self.step, &self.after) {
            (Step::Insert { c, id, .. }, After::Created { record })
            | (Step::Update { c, id, .. }, After::Updated { record, .. }) => (c, id, Some(record)),
            (
                Step::Insert { c, id, .. }
                | Step::Update { c, id, .. }
                | Step::Delete { c, id, .. },
                _,
            ) => (c, id, None),
        }
    }

    /// Runs the after-commit work; returns the record as written (`None` for a delete).
    pub(crate) async fn finish(self, app: &App) -> Option<Record> {
        let c = self.step.collection().clone();
        let event = |record: &Record, original: Option<&Record>| RecordEvent {
            app: app.clone(),
            collection: c.clone(),
            record: record.clone(),
            original: original.cloned(),
        };
        match self.after {
            After::Created { record } => {
                app.hooks()
                    .run_after(HookPoint::AfterCreate, event(&record, None))
                    .await;
                realtime::record_changed(app, &c, Action::Create, &record);
                Some(record)
            }
            After::Updated {
                record,
                existing,
                revokes_tokens,
            } => {
                if c.is_auth() {
                    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                    app.auth_cache().forget(&c.id, id);
                    if revokes_tokens {
                        // Its tokens are revoked: realtime clients logged in as it become guests.
                        app.realtime().forget_auth(&c.id, id);
                    }
                }
                app.hooks()
                    .run_after(HookPoint::AfterUpdate, event(&record, Some(&existing)))
                    .await;
                realtime::record_changed(app, &c, Action::Update, &record);
                Some(record)
            }
            After::Deleted { existing, announce } => {
                // Cascades may have removed auth records anywhere: start the token cache over.
                app.auth_cache().clear();
                app.hooks()
                    .run_after(HookPoint::AfterDelete, event(&existing, Some(&existing)))
                    .await;
                realtime::record_deleted(app, &c, &existing, announce);
                None
            }
        }
    }
}

/// Fails with [`Error::SchemaChanged`] unless `c` is still the collection's schema in
/// the database: a write planned against a schema that changed since would write the
/// old columns or the old shape of a value (a select's single value into a column that
/// now holds lists).
async fn check_schema(txn: &dyn WriteTx, d: Dialect, c: &Collection) -> Result<()> {
    // On PostgreSQL the row is share-locked: a schema change updates it before it alters
    // the table, so a write either commits first or waits and sees the new schema.
    let lock = if d == Dialect::Postgres {
        " FOR SHARE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT \"updated\" FROM \"_collections\" WHERE \"id\" = {}{lock}",
        d.param(1)
    );
    let row = txn.query_one(d.raw(sql, vec![c.id.clone().into()])).await?;
    let current = row.map(|r| r.string("updated")).transpose()?;
    if current.as_deref() == Some(c.updated.as_str()) {
        Ok(())
    } else {
        Err(Error::SchemaChanged)
    }
}

impl Step {
    fn collection(&self) -> &Arc<Collection> {
        let (Step::Insert { c, .. } | Step::Update { c, .. } | Step::Delete { c, .. }) = self;
        c
    }

    /// Runs the step; returns the records it deleted (with cascades), by collection id.
    async fn run(
        &self,
        txn: &dyn WriteTx,
        d: Dialect,
        reg: &Registry,
    ) -> Result<Vec<(String, String)>> {
        match self {
            Step::Insert {
                c,
                id,
                stored,
                rule,
            } => {
                check_relations(txn, d, reg, c, stored, "create").await?;
                let mut q = Query::insert();
                q.into_table(Alias::new(c.name.as_str()));
                let mut cols = Vec::new();
                let mut vals: Vec<Expr> = Vec::new();
                for f in &c.fields {
                    if let Some(v) = stored.get(&f.name) {
                        cols.push(Alias::new(f.name.as_str()));
                        vals.push(to_sql(f.storage(), v, d).into());
                    }
                }
                q.columns(cols);
                q.values(vals)
                    .map_err(|e| Error::internal_from("cannot build the insert", e))?;
                txn.execute(d.build(&q))
                    .await
                    .map_err(|e| unique_error(c, e.into(), "create"))?;
                // The create rule sees the would-be record; failing it undoes the insert.
                if !passes(txn, d, c, id, rule).await? {
                    return Err(Error::BadRequest("Failed to create record.".into()));
                }
                Ok(Vec::new())
            }
            Step::Update {
                c,
                id,
                stored,
                rule,
            } => {
                if !passes(txn, d, c, id, rule).await? {
                    return Err(Error::not_found());
                }
                check_relations(txn, d, reg, c, stored, "update").await?;
                let mut q = Query::update();
                q.table(Alias::new(c.name.as_str()));
                let mut any = false;
                for f in &c.fields {
                    if let Some(v) = stored.get(&f.name) {
                        q.value(Alias::new(f.name.as_str()), to_sql(f.storage(), v, d));
                        any = true;
                    }
                }
                if !any {
                    return Ok(Vec::new());
                }
                q.and_where(in_list(Expr::col(Alias::new("id")), [id.clone()]));
                let res = txn
                    .execute(d.build(&q))
                    .await
                    .map_err(|e| unique_error(c, e.into(), "update"))?;
                if res == 0 {
                    return Err(Error::not_found());
                }
                Ok(Vec::new())
            }
            Step::Delete { c, id, rule } => {
                if !passes(txn, d, c, id, rule).await? {
                    return Err(Error::not_found());
                }
                let mut deleted = Vec::new();
                delete_in_tx(txn, d, reg, c, id.clone(), 0, &mut deleted).await?;
                Ok(deleted)
            }
        }
    }
}

/// Whether the record `id` satisfies `rule` as the transaction sees it (no rule: yes).
async fn passes(
    txn: &dyn WriteTx,
    d: Dialect,
    c: &Collection,
    id: &str,
    rule: &Option<Expr>,
) -> Result<bool> {
    let Some(rule) = rule else {
        return Ok(true);
    };
    let mut check = Query::select();
    check
        .from_as(Alias::new(c.name.as_str()), Alias::new(MAIN))
        .expr(Expr::cust("1"))
        .and_where(id_eq(id))
        .and_where(rule.clone());
    Ok(txn.query_one(d.build(&check)).await?.is_some())
}

fn where_of(access: Access) -> Option<Expr> {
    match access {
        Access::All => None,
        Access::Where(e) => Some(e),
    }
}

fn writable(c: &Collection) -> Result<()> {
    if c.is_view() {
        return Err(Error::BadRequest("Unsupported collection type.".into()));
    }
    Ok(())
}

/// Checks a create: the rule, the values, the before-create hooks; hashes passwords.
pub(crate) async fn plan_create(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    mut body: Map<String, Value>,
    files: Vec<FormFile>,
) -> Result<WritePlan> {
    writable(c)?;
    let rule = where_of(rule_access(app, c, &c.create_rule, req)?);
    add_upload_names(c, &mut body, &files, "create")?;
    let uploaded = files.iter().map(|f| f.upload.name.clone()).collect();
    let values = build_values(c, &body, None, req.is_superuser(), "create", &uploaded)?;
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: values,
        original: None,
    };
    let mut values = app.hooks().run(HookPoint::BeforeCreate, ev).await?.record;
    let files = settle(c, &values, None, files, "create")?;
    let mut stored = values.clone();
    hash_passwords(app, c, &mut stored).await?;
    let id = values
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for f in c.fields.iter().filter(|f| f.is_write_only()) {
        values.shift_remove(&f.name);
    }
    let mut record = Record::new();
    record.insert("collectionId".into(), json!(c.id));
    record.insert("collectionName".into(), json!(c.name));
    for f in c.fields.iter().filter(|f| !f.is_write_only()) {
        record.insert(
            f.name.clone(),
            values.get(&f.name).cloned().unwrap_or_else(|| f.zero()),
        );
    }
    Ok(WritePlan {
        step: Step::Insert {
            c: c.clone(),
            id,
            stored,
            rule,
        },
        after: After::Created { record },
        files,
    })
}

/// The stored record a rule-guarded write starts from: read now through `rule`, or, in
/// a batch, as an earlier request of the batch left it (the rule is then checked inside
/// the transaction).
async fn starting_point(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    rule: &Option<String>,
    req: &RequestInfo,
    known: Option<Record>,
) -> Result<(Record, Option<Expr>)> {
    match known {
        Some(rec) => Ok((rec, where_of(rule_access(app, c, rule, req)?))),
        None => {
            let rec = find_visible(app, c, id, rule, req)
                .await?
                .ok_or_else(Error::not_found)?;
            Ok((rec, None))
        }
    }
}

/// Checks an update of `id`; `known` is the record as an earlier batch request left it.
pub(crate) async fn plan_update(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    mut body: Map<String, Value>,
    files: Vec<FormFile>,
    known: Option<Record>,
) -> Result<WritePlan> {
    writable(c)?;
    let (existing, rule) = starting_point(app, c, id, &c.update_rule, req, known).await?;
    let manager = c.is_auth() && can_manage(app, c, id, req).await?;
    if c.is_auth() && !manager {
        auth_steps::check_old_password(app, c, id, &body).await?;
    }
    add_upload_names(c, &mut body, &files, "update")?;
    let uploaded = files.iter().map(|f| f.upload.name.clone()).collect();
    let values = build_values(c, &body, Some(&existing), manager, "update", &uploaded)?;
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: values,
        original: Some(existing.clone()),
    };
    let values = app.hooks().run(HookPoint::BeforeUpdate, ev).await?.record;
    let files = settle(c, &values, Some(&existing), files, "update")?;
    let mut stored = values.clone();
    hash_passwords(app, c, &mut stored).await?;
    let revokes_tokens = values.contains_key(auth_fields::TOKEN_KEY);
    let mut record = existing.clone();
    for (k, v) in values {
        if c.field(&k).is_some_and(|f| !f.is_write_only()) {
            record.insert(k, v);
        }
    }
    Ok(WritePlan {
        step: Step::Update {
            c: c.clone(),
            id: id.to_string(),
            stored,
            rule,
        },
        after: After::Updated {
            record,
            existing,
            revokes_tokens,
        },
        files,
    })
}

/// Checks a delete of `id`; `known` is the record as an earlier batch request left it.
pub(crate) async fn plan_delete(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    known: Option<Record>,
) -> Result<WritePlan> {
    writable(c)?;
    let in_batch = known.is_some();
    let (existing, rule) = starting_point(app, c, id, &c.delete_rule, req, known).await?;
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: existing.clone(),
        original: Some(existing.clone()),
    };
    app.hooks().run(HookPoint::BeforeDelete, ev).await?;
    // Who may hear of the delete is decided while the record is still there (a record
    // written earlier in the same batch is not stored yet: nobody heard of it either).
    let announce = if in_batch {
        None
    } else {
        realtime::before_delete(app, c, &existing).await
    };
    Ok(WritePlan {
        step: Step::Delete {
            c: c.clone(),
            id: id.to_string(),
            rule,
        },
        after: After::Deleted { existing, announce },
        files: FileChanges::default(),
    })
}

/// Runs `plans` in one write transaction, in order, and their after-commit work. Either
/// all commit or none does; a failure says which plan failed. With a `deadline`, a plan
/// that would start after it fails with a timeout instead.
///
/// Uploads are stored before the transaction and removed again if it fails; files the
/// writes dropped (replaced, removed, or of deleted records) go after it commits.
pub(crate) async fn commit(
    app: &App,
    plans: Vec<WritePlan>,
    deadline: Option<Instant>,
) -> std::result::Result<Vec<Option<Record>>, (usize, Error)> {
    let storage = app.files();
    let mut staged = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let (c, id, _) = p.outcome();
        for u in &p.files.uploads {
            let key = files::file_key(&c.id, id, &u.name);
            if let Err(e) = storage.put(&key, u.data.clone()).await {
                unstage(storage.as_ref(), &staged).await;
                return Err((i, e));
            }
            staged.push(key);
        }
    }
    let steps: Arc<Vec<Step>> = Arc::new(plans.iter().map(|p| p.step.clone()).collect());
    let d = app.dialect();
    let reg = app.registry();
    let failed_at = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = failed_at.clone();
    let written = app
        .db()
        .write(Box::new(move |txn| {
            let (steps, reg, seen) = (steps.clone(), reg.clone(), seen.clone());
            Box::pin(async move {
                let mut deleted = Vec::new();
                let mut checked: Vec<&str> = Vec::new();
                for (i, step) in steps.iter().enumerate() {
                    seen.store(i, std::sync::atomic::Ordering::Relaxed);
                    if deadline.is_some_and(|d| Instant::now() > d) {
                        return Err(Error::BadRequest("The batch took too long.".into()));
                    }
                    let c = step.collection();
                    if !checked.contains(&c.id.as_str()) {
                        check_schema(txn, d, c).await?;
                        checked.push(&c.id);
                    }
                    deleted.extend(step.run(txn, d, &reg).await?);
                }
                Ok(deleted)
            })
        }))
        .await;
    let deleted = match written {
        Ok(deleted) => deleted,
        Err(e) => {
            unstage(storage.as_ref(), &staged).await;
            return Err((failed_at.load(std::sync::atomic::Ordering::Relaxed), e));
        }
    };
    let mut out = Vec::with_capacity(plans.len());
    for p in plans {
        let (c, id, _) = p.outcome();
        for name in &p.files.removed {
            forget_file(storage.as_ref(), &files::file_key(&c.id, id, name)).await;
            forget_dir(storage.as_ref(), &files::thumbs_dir(&c.id, id, name)).await;
        }
        out.push(p.finish(app).await);
    }
    let reg = app.registry();
    for (cid, rid) in deleted {
        if reg.find(&cid).is_some_and(|c| c.has_files()) {
            forget_dir(storage.as_ref(), &files::record_dir(&cid, &rid)).await;
        }
    }
    Ok(out)
}

async fn unstage(storage: &dyn FileStorage, keys: &[String]) {
    for k in keys {
        forget_file(storage, k).await;
    }
}

/// Removes a file no record refers to any more; a failure leaves an orphan, not an error.
async fn forget_file(storage: &dyn FileStorage, key: &str) {
    if let Err(e) = storage.delete(key).await {
        tracing::warn!(key, error = %e, "cannot remove a file");
    }
}

async fn forget_dir(storage: &dyn FileStorage, prefix: &str) {
    if let Err(e) = storage.delete_prefix(prefix).await {
        tracing::warn!(prefix, error = %e, "cannot remove files");
    }
}

async fn commit_one(app: &App, plan: WritePlan) -> Result<Option<Record>> {
    let mut done = commit(app, vec![plan], None).await.map_err(|(_, e)| e)?;
    Ok(done.pop().flatten())
}

/// Times a write is planned again after a schema change overtook it.
const SCHEMA_RETRIES: usize = 3;

/// Runs `attempt` (plan and commit), and again, against the schema as it is now, when the
/// database says a column or table the plan names is gone: a schema change committed
/// between planning and writing. The write then sees the schema before the change or
/// after it; never a server error.
pub(crate) async fn with_schema_retry<T, F, Fut>(app: &App, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if e.is_schema_mismatch() && tries < SCHEMA_RETRIES => {
                tries += 1;
                app.reload_collections().await?;
            }
            Err(e) if e.is_schema_mismatch() => {
                tracing::warn!(error = %e, "a write kept racing schema changes");
                return Err(Error::BadRequest(
                    "The collection's schema changed while the write ran; send it again.".into(),
                ));
            }
            other => return other,
        }
    }
}

pub async fn create(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    body: Map<String, Value>,
) -> Result<Record> {
    create_with_files(app, c, req, body, Vec::new()).await
}

/// [`create`] with uploaded files for the collection's file fields.
pub async fn create_with_files(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    body: Map<String, Value>,
    files: Vec<FormFile>,
) -> Result<Record> {
    let id = c.id.clone();
    with_schema_retry(app, || {
        let (id, body, files) = (id.clone(), body.clone(), files.clone());
        async move {
            let c = app.collection(&id)?;
            let plan = plan_create(app, &c, req, body, files).await?;
            Ok(commit_one(app, plan).await?.unwrap_or_default())
        }
    })
    .await
}

pub async fn update(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    body: Map<String, Value>,
) -> Result<Record> {
    update_with_files(app, c, id, req, body, Vec::new()).await
}

/// [`update`] with uploaded files for the collection's file fields.
pub async fn update_with_files(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    body: Map<String, Value>,
    files: Vec<FormFile>,
) -> Result<Record> {
    let cid = c.id.clone();
    with_schema_retry(app, || {
        let (cid, body, files) = (cid.clone(), body.clone(), files.clone());
        async move {
            let c = app.collection(&cid)?;
            let plan = plan_update(app, &c, id, req, body, files, None).await?;
            Ok(commit_one(app, plan).await?.unwrap_or_default())
        }
    })
    .await
}

pub async fn delete(app: &App, c: &Arc<Collection>, id: &str, req: &RequestInfo) -> Result<()> {
    let cid = c.id.clone();
    with_schema_retry(app, || {
        let cid = cid.clone();
        async move {
            let c = app.collection(&cid)?;
            let plan = plan_delete(app, &c, id, req, None).await?;
            commit_one(app, plan).await.map(|_| ())
        }
    })
    .await
}

/// Deletes one record and resolves references to it: cascade, refuse, or unset. Adds
/// every record it deletes to `deleted` as (collection id, record id).
fn delete_in_tx<'a>(
    txn: &'a dyn WriteTx,
    d: Dialect,
    reg: &'a crate::collections::registry::Registry,
    c: &'a Collection,
    id: String,
    depth: usize,
    deleted: &'a mut Vec<(String, String)>,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if depth > MAX_CASCADE_DEPTH {
            return Err(Error::BadRequest("Cascade delete goes too deep.".into()));
        }
        for other in reg.all() {
            for f in &other.fields {
                let FieldKind::Relation(rel) = &f.kind else {
                    continue;
                };
                if rel.collection_id != c.id || other.is_view() {
                    continue;
                }
                let table = quote(&other.name);
                let col = quote(&f.name);
                let (ph, ph2) = match d {
                    Dialect::Sqlite => ("?", "?"),
                    Dialect::Postgres => ("$1", "$1"),
                };
                let matches = match (rel.is_multi(), d) {
                    (false, _) => format!("{col} = {ph}"),
                    (true, Dialect::Sqlite) => format!(
                        "EXISTS (SELECT 1 FROM json_each({col}) WHERE json_each.value = {ph})"
                    ),
                    (true, Dialect::Postgres) => {
                        format!("{col} @> jsonb_build_array(CAST({ph} AS TEXT))")
                    }
                };
                let rows = txn
                    .query_all(d.raw(
                        format!("SELECT \"id\" FROM {table} WHERE {matches}"),
                        vec![id.clone().into()],
                    ))
                    .await?;
                let ids: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.string("id").ok())
                    .filter(|x| !(other.id == c.id && *x == id))
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                if rel.cascade_delete {
                    for rid in ids {
                        delete_in_tx(txn, d, reg, other, rid, depth + 1, deleted).await?;
                    }
                    continue;
                }
                if f.required {
                    return Err(Error::BadRequest(format!(
                        "The record cannot be deleted because it is part of a required reference in '{}'.",
                        other.name
                    )));
                }
                let unset = match (rel.is_multi(), d) {
                    (false, _) => format!("UPDATE {table} SET {col} = '' WHERE {matches}"),
                    (true, Dialect::Sqlite) => format!(
                        "UPDATE {table} SET {col} = (SELECT COALESCE(json_group_array(value), '[]') FROM json_each({col}) WHERE value != {ph2}) WHERE {matches}"
                    ),
                    (true, Dialect::Postgres) => format!("UPDATE {table} SET {col} = {col} - CAST({ph2} AS TEXT) WHERE {matches}"),
                };
                let values: Vec<SqlValue> = match d {
                    Dialect::Sqlite if rel.is_multi() => vec![id.clone().into(), id.clone().into()],
                    _ => vec![id.clone().into()],
                };
                txn.execute(d.raw(unset, values)).await?;
            }
        }
        let res = txn
            .execute(d.raw(
                format!(
                    "DELETE FROM {} WHERE \"id\" = {}",
                    quote(&c.name),
                    if d == Dialect::Sqlite { "?" } else { "$1" }
                ),
                vec![id.clone().into()],
            ))
            .await?;
        if res == 0 && depth == 0 {
            return Err(Error::not_found());
        }
        if res > 0 {
            deleted.push((c.id.clone(), id));
        }
        Ok(())
    })
}
