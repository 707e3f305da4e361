//! Record writes as plans: a create, update or delete checked (rules, hooks, values) into
//! a `WritePlan`, what follows its commit (after-hooks, realtime, caches), and the
//! create/update/delete that plan one write and commit it (`commit.rs` runs plans,
//! `values.rs` checks the values, `cascade.rs` follows deletes).

use crate::app::App;
use crate::collections::model::{auth_fields, Collection};
use crate::db::{Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::files::FormFile;
use crate::filter::{AuthRecord, RequestInfo};
use crate::hooks::{HookPoint, RecordEvent};
use crate::realtime::broker::{self as realtime, Action};
use crate::records::auth_steps::{self};
use crate::records::commit::{commit_one, with_schema_retry, Step};
use crate::records::files::{add_upload_names, settle, FileChanges};
use crate::records::read::{can_manage, find_visible, id_eq, rule_access, Access, Record, MAIN};
use crate::records::values::{build_values, hash_passwords};
use sea_orm::sea_query::{Alias, Expr, Query};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What a delete leaves for after its commit.
pub(crate) type DeleteAnnouncement = Option<Vec<(Arc<realtime::Client>, realtime::Message)>>;

/// A checked write: its step, plus what to do once it has committed.
pub(crate) struct WritePlan {
    pub(crate) step: Step,
    pub(crate) after: After,
    pub(crate) files: FileChanges,
    /// Who asked for the write, for the after-commit hooks.
    pub(crate) caller: Option<AuthRecord>,
}

pub(crate) enum After {
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

/// Whether a relation field of any collection points at `c`: only then does deleting
/// one of its records change others.
fn is_referenced(app: &App, c: &Collection) -> bool {
    app.collections().iter().any(|other| {
        other.fields.iter().any(|f| {
            matches!(&f.kind, crate::fields::FieldKind::Relation(rel) if rel.collection_id == c.id)
        })
    })
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

    /// Puts the values the transaction chose into the record the write answers with.
    pub(crate) fn take_assigned(&mut self, assigned: Record) {
        if let After::Created { record } = &mut self.after {
            record.extend(assigned);
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
            caller: self.caller.clone(),
        };
        match self.after {
            After::Created { record } => {
                let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                app.recent_records().forget(&c.id, id);
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
                let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                app.recent_records().forget(&c.id, id);
                if c.is_auth() {
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
                // A delete that reached other records (cascades, unset relations) may have
                // changed auth records anywhere: then the caches start over.
                if is_referenced(app, &c) {
                    app.auth_cache().clear();
                    app.recent_records().clear();
                } else {
                    let id = existing
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    app.auth_cache().forget(&c.id, id);
                    app.recent_records().forget(&c.id, id);
                }
                app.hooks()
                    .run_after(HookPoint::AfterDelete, event(&existing, Some(&existing)))
                    .await;
                realtime::record_deleted(app, &c, &existing, announce);
                None
            }
        }
    }
}

/// Whether the record `id` satisfies `rule` as the transaction sees it (no rule: yes).
pub(crate) async fn passes(
    txn: &dyn WriteTx,
    d: Dialect,
    c: &Collection,
    id: &str,
    rule: &Option<Expr>,
) -> Result<bool> {
    passes_with(txn, d, c, id, rule, false).await
}

/// [`passes`]; with `lock`, the row stays locked until the transaction ends
/// (PostgreSQL; SQLite has one writer), so a writer that waited for the lock checks the
/// row as the other left it.
pub(crate) async fn passes_with(
    txn: &dyn WriteTx,
    d: Dialect,
    c: &Collection,
    id: &str,
    rule: &Option<Expr>,
    lock: bool,
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
    if lock && d == Dialect::Postgres {
        check.lock(sea_orm::sea_query::LockType::Update);
    }
    Ok(txn.query_one(d.build(&check)).await?.is_some())
}

pub(crate) fn where_of(access: Access) -> Option<Expr> {
    match access {
        Access::All => None,
        Access::Where(e) => Some(e),
    }
}

pub(crate) fn writable(c: &Collection) -> Result<()> {
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
        caller: req.auth.clone(),
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
        caller: req.auth.clone(),
    })
}

/// The stored record a rule-guarded write starts from: read now through `rule`, or, in
/// a batch, as an earlier request of the batch left it (the rule is then checked inside
/// the transaction).
pub(crate) async fn starting_point(
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
        caller: req.auth.clone(),
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
            guard: None,
        },
        after: After::Updated {
            record,
            existing,
            revokes_tokens,
        },
        files,
        caller: req.auth.clone(),
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
        caller: req.auth.clone(),
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
        caller: req.auth.clone(),
    })
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
