//! Running planned writes: the steps inside one write transaction (insert, update,
//! delete, with the rules checked there and the schema checked unchanged), uploads staged
//! around it, and writes planned again when a schema change overtook them.

use crate::app::App;
use crate::collections::model::Collection;
use crate::collections::registry::Registry;
use crate::db::{Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::files::{self, FileStorage};
use crate::records::cascade::delete_in_tx;
use crate::records::columns::to_sql;
use crate::records::read::{in_list, Record, MAIN};
use crate::records::sequence;
use crate::records::values::{check_relations, unique_error};
use crate::records::write::{passes, passes_with, WritePlan};
use sea_orm::sea_query::{Alias, Expr, Query};
use std::sync::Arc;
use std::time::Instant;

/// What runs inside the write transaction for one planned write.
#[derive(Clone)]
pub(crate) enum Step {
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
        /// The app's condition on the stored record ([`Step::guard`]).
        guard: Option<Expr>,
    },
    Delete {
        c: Arc<Collection>,
        id: String,
        /// The delete rule, when it is checked inside the transaction (batches).
        rule: Option<Expr>,
    },
}

/// Fails with [`Error::SchemaChanged`] unless `c` is still the collection's schema in
/// the database: a write planned against a schema that changed since would write the
/// old columns or the old shape of a value (a select's single value into a column that
/// now holds lists).
pub(crate) async fn check_schema(txn: &dyn WriteTx, d: Dialect, c: &Collection) -> Result<()> {
    // Once checked in a transaction, it holds until the end of it (the row is locked, or
    // SQLite's one writer is this one): a group commit's other writes skip the query.
    let fact = format!("schema {} {}", c.id, c.updated);
    if txn.knows(&fact) {
        return Ok(());
    }
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
        txn.note(&fact);
        Ok(())
    } else {
        Err(Error::SchemaChanged)
    }
}

/// The 409 of a guarded update whose record no longer matches its guard.
pub const CHANGED_MEANWHILE: &str = "The record changed meanwhile and no longer allows this write.";

impl Step {
    /// Adds the app's `filter` (bound `params`) as a condition the stored record must
    /// meet when an update runs; other steps cannot be guarded.
    pub(crate) fn guard(
        &mut self,
        app: &App,
        filter: &str,
        params: &crate::filter::Params,
    ) -> Result<()> {
        let Step::Update { c, guard, .. } = self else {
            return Err(Error::internal("only updates can be guarded"));
        };
        let reg = app.registry();
        let system = crate::auth::superusers::system_request(app)?;
        let scope = crate::filter::Scope::new(&reg, &**c, MAIN, &system, app.dialect());
        let compiled = crate::filter::compile_filter_with(filter, params, &scope)?;
        *guard = Some(compiled.into_expr());
        Ok(())
    }

    pub(crate) fn collection(&self) -> &Arc<Collection> {
        let (Step::Insert { c, .. } | Step::Update { c, .. } | Step::Delete { c, .. }) = self;
        c
    }

    /// Runs the step; returns what it did.
    pub(crate) async fn run(
        &self,
        txn: &dyn WriteTx,
        d: Dialect,
        reg: &Registry,
    ) -> Result<StepDone> {
        match self {
            Step::Insert {
                c,
                id,
                stored,
                rule,
            } => {
                check_relations(txn, d, reg, c, stored, "create").await?;
                let mut stored = stored.clone();
                let assigned = sequence::assign(txn, d, c, &mut stored).await?;
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
                Ok(StepDone {
                    assigned,
                    ..StepDone::default()
                })
            }
            Step::Update {
                c,
                id,
                stored,
                rule,
                guard,
            } => {
                if !passes(txn, d, c, id, rule).await? {
                    return Err(Error::not_found());
                }
                if !passes_with(txn, d, c, id, guard, true).await? {
                    return Err(Error::Conflict(CHANGED_MEANWHILE.into()));
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
                    return Ok(StepDone::default());
                }
                q.and_where(in_list(Expr::col(Alias::new("id")), [id.clone()]));
                let res = txn
                    .execute(d.build(&q))
                    .await
                    .map_err(|e| unique_error(c, e.into(), "update"))?;
                if res == 0 {
                    return Err(Error::not_found());
                }
                Ok(StepDone::default())
            }
            Step::Delete { c, id, rule } => {
                if !passes(txn, d, c, id, rule).await? {
                    return Err(Error::not_found());
                }
                let mut deleted = Vec::new();
                delete_in_tx(txn, d, reg, c, id.clone(), 0, &mut deleted).await?;
                Ok(StepDone {
                    deleted,
                    ..StepDone::default()
                })
            }
        }
    }
}

/// What one step did inside the transaction.
#[derive(Default)]
pub(crate) struct StepDone {
    /// The records it deleted (with cascades), by collection id.
    pub(crate) deleted: Vec<(String, String)>,
    /// Values the transaction chose (sequence numbers), for the answer.
    pub(crate) assigned: Record,
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
                let mut assigned = Vec::with_capacity(steps.len());
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
                    let done = step.run(txn, d, &reg).await?;
                    deleted.extend(done.deleted);
                    assigned.push(done.assigned);
                }
                Ok((deleted, assigned))
            })
        }))
        .await;
    let (deleted, assigned) = match written {
        Ok(done) => done,
        Err(e) => {
            unstage(storage.as_ref(), &staged).await;
            return Err((failed_at.load(std::sync::atomic::Ordering::Relaxed), e));
        }
    };
    let mut out = Vec::with_capacity(plans.len());
    for (mut p, chosen) in plans.into_iter().zip(assigned) {
        p.take_assigned(chosen);
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

pub(crate) async fn unstage(storage: &dyn FileStorage, keys: &[String]) {
    for k in keys {
        forget_file(storage, k).await;
    }
}

/// Removes a file no record refers to any more; a failure leaves an orphan, not an error.
pub(crate) async fn forget_file(storage: &dyn FileStorage, key: &str) {
    if let Err(e) = storage.delete(key).await {
        tracing::warn!(key, error = %e, "cannot remove a file");
    }
}

pub(crate) async fn forget_dir(storage: &dyn FileStorage, prefix: &str) {
    if let Err(e) = storage.delete_prefix(prefix).await {
        tracing::warn!(prefix, error = %e, "cannot remove files");
    }
}

pub(crate) async fn commit_one(app: &App, plan: WritePlan) -> Result<Option<Record>> {
    let mut done = commit(app, vec![plan], None).await.map_err(|(_, e)| e)?;
    Ok(done.pop().flatten())
}

/// Times a write is planned again after a schema change overtook it.
pub(crate) const SCHEMA_RETRIES: usize = 3;

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
