//! Realtime across instances sharing a PostgreSQL database: committed changes are
//! announced with `NOTIFY` (changes that queue up go out together in one payload), and
//! every instance `LISTEN`s and hands the others' changes to its own clients. A payload
//! too large for `NOTIFY` is stored in `_realtime_events` and announced by id.

use crate::app::{App, WeakApp};
use crate::realtime::broker::{self as realtime, Action};
use crate::realtime::signals::{self, Signal};
use crate::records::read::Record;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;

/// PostgreSQL refuses `NOTIFY` payloads from 8000 bytes.
const MAX_PAYLOAD: usize = 7000;
/// How long a stored payload is kept for the others to read.
const KEEP_STORED: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Announcement {
    pub collection: String,
    pub action: ActionName,
    pub id: String,
    /// Deletes carry the record: the others check their clients' rules against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ActionName {
    Create,
    Update,
    Delete,
}

impl From<Action> for ActionName {
    fn from(a: Action) -> Self {
        match a {
            Action::Create => ActionName::Create,
            Action::Update => ActionName::Update,
            Action::Delete => ActionName::Delete,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Batch {
    origin: String,
    #[serde(default)]
    changes: Vec<Announcement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    signals: Vec<Signal>,
    /// A row of `_realtime_events` holding the real batch.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    stored: Option<String>,
}

/// What goes out to the other instances.
enum Outgoing {
    Change(Announcement),
    Signal(Signal),
}

/// The sending side: changes and signals queue here and a task sends them.
pub struct Announcer {
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl Announcer {
    pub(crate) fn announce(&self, a: Announcement) {
        let _ = self.tx.send(Outgoing::Change(a));
    }

    pub(crate) fn signal(&self, s: Signal) {
        let _ = self.tx.send(Outgoing::Signal(s));
    }
}

/// Starts announcing and listening; both tasks end when the app is dropped.
pub(crate) async fn start(app: &App) -> Announcer {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(announce_loop(
        app.downgrade(),
        app.instance_id().to_string(),
        rx,
    ));
    let pool = app.db().sea.get_postgres_connection_pool().clone();
    match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
        Ok(mut listener) => match listener.listen(&app.config().realtime_channel).await {
            Ok(()) => {
                tokio::spawn(listen_loop(app.downgrade(), listener));
            }
            Err(e) => tracing::error!(error = %e, "cannot LISTEN; realtime stays local"),
        },
        Err(e) => tracing::error!(error = %e, "cannot LISTEN; realtime stays local"),
    }
    Announcer { tx }
}

async fn announce_loop(app: WeakApp, origin: String, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(first) = rx.recv().await {
        let (mut changes, mut signals) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(out) = next {
            match out {
                Outgoing::Change(a) => changes.push(a),
                Outgoing::Signal(s) => signals.push(s),
            }
            next = if changes.len() + signals.len() < 500 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let Some(app) = app.upgrade() else { return };
        if let Err(e) = send(&app, &origin, changes, signals).await {
            tracing::error!(error = %e, "cannot announce changes to other instances");
        }
    }
}

async fn send(
    app: &App,
    origin: &str,
    changes: Vec<Announcement>,
    signals: Vec<Signal>,
) -> crate::error::Result<()> {
    let d = app.dialect();
    let mut batch = Batch {
        origin: origin.to_string(),
        changes,
        signals,
        stored: None,
    };
    let mut payload = serde_json::to_string(&batch).unwrap_or_default();
    if payload.len() > MAX_PAYLOAD {
        let id = crate::collections::ids::random_token(20);
        let now = chrono::Utc::now();
        let old = crate::fields::format_datetime(
            now - chrono::Duration::from_std(KEEP_STORED).unwrap_or_default(),
        );
        let sql = "DELETE FROM \"_realtime_events\" WHERE \"created\" < $1";
        app.db().read_execute(d.raw(sql, vec![old.into()])).await?;
        let sql = "INSERT INTO \"_realtime_events\" (\"id\", \"payload\", \"created\") VALUES ($1, $2, $3)";
        let values = vec![
            id.clone().into(),
            payload.into(),
            crate::fields::format_datetime(now).into(),
        ];
        app.db().read_execute(d.raw(sql, values)).await?;
        batch.changes.clear();
        batch.signals.clear();
        batch.stored = Some(id);
        payload = serde_json::to_string(&batch).unwrap_or_default();
    }
    app.db()
        .read_execute(d.raw(
            "SELECT pg_notify($1, $2)",
            vec![app.config().realtime_channel.clone().into(), payload.into()],
        ))
        .await?;
    Ok(())
}

async fn listen_loop(app: WeakApp, mut listener: sea_orm::sqlx::postgres::PgListener) {
    loop {
        // Wake up now and then to notice that the app is gone.
        let got = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
        let Some(app) = app.upgrade() else { return };
        match got {
            Err(_) => continue,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "realtime LISTEN connection lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(Ok(n)) => {
                if let Err(e) = received(&app, n.payload()).await {
                    tracing::warn!(error = %e, "cannot read another instance's changes");
                }
            }
        }
    }
}

async fn received(app: &App, payload: &str) -> crate::error::Result<()> {
    let bad = |e: serde_json::Error| crate::error::Error::internal_from("bad announcement", e);
    let mut batch: Batch = serde_json::from_str(payload).map_err(bad)?;
    if batch.origin == app.instance_id() {
        return Ok(());
    }
    if let Some(id) = batch.stored.take() {
        let d = app.dialect();
        let sql = "SELECT \"payload\" FROM \"_realtime_events\" WHERE \"id\" = $1";
        let Some(row) = app.db().query_one(d.raw(sql, vec![id.into()])).await? else {
            return Ok(());
        };
        let text: String = row.string("payload")?;
        batch = serde_json::from_str(&text).map_err(bad)?;
    }
    for a in batch.changes {
        let Some(c) = app.registry().find(&a.collection) else {
            continue;
        };
        realtime::remote_change(app, &c, a);
    }
    for s in batch.signals {
        signals::deliver(app, &s).await?;
    }
    Ok(())
}
