//! Request and app logs in `_logs`: entries are queued and written in batches by a
//! background task (a request never waits for its log line), old ones are removed
//! after `logs.maxDays`, and superusers read them with the filter language.

use crate::app::App;
use crate::collections::model::Collection;
use crate::db::{quote, Dialect};
use crate::error::{Error, Result};
use crate::fields::{format_datetime, Field, FieldKind};
use crate::filter::{PlainTable, RequestInfo, Store};
use crate::records::read::{self as records, ListParams, ListResult, MAIN};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::Value as SqlValue;
use serde_json::{json, Value};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::mpsc;

/// PocketBase's levels (slog's): debug -4, info 0, warn 4, error 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug = -4,
    Info = 0,
    Warn = 4,
    Error = 8,
}

/// One log line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub level: Level,
    pub message: String,
    pub data: Value,
}

/// What is logged of one API request; turned into an [`Entry`] by the writer task, so
/// the request itself only copies a few strings.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestLog {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub method: String,
    pub url: String,
    pub status: u16,
    /// Milliseconds.
    pub exec_time: f64,
    pub referer: String,
    pub user_agent: String,
    #[serde(rename = "remoteIP", skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    #[serde(rename = "userIP", skip_serializing_if = "Option::is_none")]
    pub user_ip: Option<String>,
}

impl RequestLog {
    /// 5xx are errors, 4xx warnings, the rest information.
    pub fn level(&self) -> Level {
        match self.status {
            500.. => Level::Error,
            400.. => Level::Warn,
            _ => Level::Info,
        }
    }
}

/// What waits in the queue: request lines stay in their compact form until written.
enum Queued {
    Entry(Entry),
    Request(RequestLog),
}

impl Queued {
    /// Level, message and the `data` column's value.
    fn into_row(self, d: Dialect) -> (Level, String, SqlValue) {
        match self {
            Queued::Entry(e) => {
                let data =
                    crate::records::columns::to_sql(crate::fields::Storage::Json, &e.data, d);
                (e.level, e.message, data)
            }
            Queued::Request(r) => {
                let data = match d {
                    Dialect::Sqlite => SqlValue::String(serde_json::to_string(&r).ok()),
                    Dialect::Postgres => {
                        SqlValue::Json(serde_json::to_value(&r).ok().map(Box::new))
                    }
                };
                (r.level(), format!("{} {}", r.method, r.url), data)
            }
        }
    }
}

/// Entries waiting to be written; more than this and new ones are dropped (logged).
const QUEUE: usize = 4_000;
/// Most rows in one insert. Small enough that a busy server's log batches cost little
/// memory (at 50k requests/s, 5,000-row batches held ~45 MB in flight).
const BATCH: usize = 1_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The sending side of the log queue, kept in the App.
pub(crate) struct LogQueue(mpsc::Sender<Queued>);

impl LogQueue {
    /// Starts the writer task for `app`; it stops when the app is gone.
    pub(crate) fn start(app: &App) -> LogQueue {
        let (tx, mut rx) = mpsc::channel::<Queued>(QUEUE);
        let weak = app.downgrade();
        tokio::spawn(async move {
            let mut last_cleanup = std::time::Instant::now() - Duration::from_secs(3600);
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                // Gather entries for up to a second (or a full batch), then write them in
                // one statement: logging must not compete with the writes it records.
                let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
                let mut closed = false;
                while batch.len() < BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(e)) => batch.push(e),
                        Ok(None) => {
                            closed = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let Some(app) = weak.upgrade() else { return };
                if !batch.is_empty() {
                    if let Err(e) = write(&app, std::mem::take(&mut batch)).await {
                        tracing::warn!(error = %e, "cannot write logs");
                    }
                }
                if closed {
                    return;
                }
                if last_cleanup.elapsed() > Duration::from_secs(3600) {
                    last_cleanup = std::time::Instant::now();
                    if let Err(e) = remove_old(&app).await {
                        tracing::warn!(error = %e, "cannot remove old logs");
                    }
                }
            }
        });
        LogQueue(tx)
    }

    /// Queues an entry; when the queue is full (the database is far behind) it is
    /// dropped rather than slowing requests down.
    fn push(&self, entry: Queued) {
        if self.0.try_send(entry).is_err() {
            tracing::warn!("log queue full; a log entry was dropped");
        }
    }
}

/// Whether entries of `level` are kept (`logs.maxDays` 0 keeps none).
pub(crate) fn keeps(app: &App, level: Level) -> bool {
    let s = app.settings();
    s.logs.max_days > 0 && (level as i32) >= s.logs.min_level
}

/// Writes `entry` if the settings keep entries of its level.
pub fn log(app: &App, entry: Entry) {
    if keeps(app, entry.level) {
        if let Some(q) = app.log_queue() {
            q.push(Queued::Entry(entry));
        }
    }
}

/// Writes a request's log line if the settings keep its level.
pub(crate) fn log_request(app: &App, request: RequestLog) {
    if keeps(app, request.level()) {
        if let Some(q) = app.log_queue() {
            q.push(Queued::Request(request));
        }
    }
}

async fn write(app: &App, entries: Vec<Queued>) -> Result<()> {
    let d = app.dialect();
    let now = format_datetime(chrono::Utc::now());
    let mut q = Query::insert();
    q.into_table(Alias::new("_logs")).columns([
        Alias::new("id"),
        Alias::new("level"),
        Alias::new("message"),
        Alias::new("data"),
        Alias::new("created"),
    ]);
    for e in entries {
        let (level, message, data) = e.into_row(d);
        q.values([
            Expr::val(crate::collections::ids::new_record_id()),
            Expr::val(level as i32),
            Expr::val(message),
            Expr::val(data),
            Expr::val(now.clone()),
        ])
        .map_err(|e| Error::internal_from("cannot build the log insert", e))?;
    }
    app.logs_db().execute(d.build(&q)).await?;
    Ok(())
}

async fn remove_old(app: &App) -> Result<()> {
    let days = std::cmp::max(app.settings().logs.max_days, 1);
    let cutoff = format_datetime(chrono::Utc::now() - chrono::Duration::days(days.into()));
    let d = app.dialect();
    let mut q = Query::delete();
    q.from_table(Alias::new("_logs"))
        .and_where(Expr::col(Alias::new("created")).lt(cutoff));
    app.logs_db().execute(d.build(&q)).await?;
    Ok(())
}

/// `_logs` described for the filter language and the list provider.
static LOGS_TABLE: LazyLock<PlainTable> = LazyLock::new(|| {
    let mut fields = Collection::base("_logs").fields;
    fields.retain(|f| f.name == "id" || f.name == "created");
    fields.extend([
        Field::new("level", FieldKind::Number(Default::default())),
        Field::new("message", FieldKind::Text(Default::default())),
        Field::new("data", FieldKind::Json(Default::default())),
    ]);
    PlainTable {
        store: Store::Auxiliary,
        name: "_logs",
        fields,
    }
});

/// A page of logs (superusers): filter and sort as for records (default newest first).
pub(crate) async fn list(app: &App, req: &RequestInfo, params: &ListParams) -> Result<ListResult> {
    if !req.is_superuser() {
        return Err(Error::superusers_only());
    }
    let mut p = params.clone();
    if p.sort.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.sort = Some("-created,-id".into());
    }
    p.expand = None;
    records::page(app, &*LOGS_TABLE, req, &p, Vec::new()).await
}

pub(crate) async fn view(app: &App, req: &RequestInfo, id: &str) -> Result<records::Record> {
    if !req.is_superuser() {
        return Err(Error::superusers_only());
    }
    records::find_row(app, &*LOGS_TABLE, id)
        .await?
        .ok_or_else(Error::not_found)
}

/// Logs per hour (`[{date: "2026-12-01 08:00:00.000Z", total}]`), optionally filtered.
pub(crate) async fn stats(
    app: &App,
    req: &RequestInfo,
    filter: Option<&str>,
) -> Result<Vec<Value>> {
    if !req.is_superuser() {
        return Err(Error::superusers_only());
    }
    let reg = app.registry();
    let d = app.dialect();
    let hour = format!("SUBSTR({}.{}, 1, 13)", quote(MAIN), quote("created"));
    let mut q = Query::select();
    q.from_as(Alias::new("_logs"), Alias::new(MAIN))
        .expr_as(Expr::cust(hour.clone()), Alias::new("hour"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("total"))
        .group_by_col(Alias::new("hour"))
        .order_by(Alias::new("hour"), Order::Asc);
    if let Some(f) = filter.filter(|f| !f.trim().is_empty()) {
        let scope = crate::filter::Scope::new(&reg, &*LOGS_TABLE, MAIN, req, d).for_client();
        q.and_where(crate::filter::compile_filter(f, &scope)?.into_expr());
    }
    let rows = app.logs_db().query_all(d.build(&q)).await?;
    Ok(rows
        .iter()
        .map(|r| {
            let hour: String = r.string("hour").unwrap_or_default();
            let total: i64 = r.i64("total").unwrap_or(0);
            json!({"date": format!("{hour}:00:00.000Z"), "total": total})
        })
        .collect())
}

/// Removes every log entry (superusers).
pub(crate) async fn delete_all(app: &App, req: &RequestInfo) -> Result<()> {
    if !req.is_superuser() {
        return Err(Error::superusers_only());
    }
    let mut q = Query::delete();
    q.from_table(Alias::new("_logs"));
    app.logs_db().execute(app.dialect().build(&q)).await?;
    Ok(())
}
