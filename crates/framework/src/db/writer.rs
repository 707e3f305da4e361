//! The writer queue with group commit: concurrent write requests are queued and
//! committed together in one transaction, and each is answered only after that commit.
//!
//! Groups are optimistic: the jobs run back to back with no savepoints. If one fails,
//! the group is rolled back and every job is run again on its own, so a failing write
//! never fails its neighbours. Jobs are therefore `Fn`: they must be safe to run twice.
//!
//! SQLite: one dedicated thread owns the only write connection (rusqlite) and runs each
//! group synchronously, so a group costs one thread hand-off rather than one per
//! statement. PostgreSQL: a few tokio tasks, each with its own connection, share the queue.

use super::error::DbError;
use super::tx::{SqliteTx, WriteTx};
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use tokio::sync::{mpsc, oneshot, Mutex};

/// The work of one write request, run inside the writer's transaction. Its error type is
/// the caller's (the engine's own, say), as long as a storage error converts into it.
pub type WriteFn<T, E = DbError> =
    Box<dyn for<'c> Fn(&'c dyn WriteTx) -> BoxFuture<'c, Result<T, E>> + Send + Sync>;

/// One queued request: `run` executes it and keeps its outcome; `answer` sends the
/// kept outcome (or the commit error) to the caller.
trait Job: Send + Sync {
    fn run<'c>(&'c self, tx: &'c dyn WriteTx) -> BoxFuture<'c, bool>;
    fn answer(self: Box<Self>, commit: Result<(), String>);
}

struct Pending<T, E> {
    work: WriteFn<T, E>,
    outcome: StdMutex<Option<Result<T, E>>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T: Send + 'static, E: From<DbError> + Send + 'static> Job for Pending<T, E> {
    fn run<'c>(&'c self, tx: &'c dyn WriteTx) -> BoxFuture<'c, bool> {
        async move {
            let out = AssertUnwindSafe((self.work)(tx)).catch_unwind().await;
            let out = out.unwrap_or_else(|_| Err(DbError::fault("a write panicked").into()));
            let ok = out.is_ok();
            if let Ok(mut slot) = self.outcome.lock() {
                *slot = Some(out);
            }
            ok
        }
        .boxed()
    }

    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let outcome = self.outcome.lock().ok().and_then(|mut s| s.take());
        let answer = match (outcome, commit) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (Some(Ok(_)), Err(e)) => Err(DbError::internal("commit failed", e).into()),
            (None, _) => Err(DbError::fault("the write did not run").into()),
        };
        let _ = self.reply.send(answer);
    }
}

type Queue = mpsc::Receiver<Box<dyn Job>>;

/// Most jobs committed in one transaction.
const MAX_GROUP: usize = 256;
const QUEUE_DEPTH: usize = 8192;

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
    /// Bumped after every group, before anyone in it is answered: a value read before
    /// a query that is still current afterwards means nothing was committed meanwhile.
    generation: Arc<AtomicU64>,
}

impl Writer {
    /// The SQLite writer: a thread of its own around `conn`.
    pub fn start_sqlite(conn: rusqlite::Connection) -> std::io::Result<Writer> {
        let (tx, mut rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let mut engine = SqliteEngine {
            conn: Arc::new(StdMutex::new(conn)),
        };
        let generation = Arc::new(AtomicU64::new(0));
        let gen = generation.clone();
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let group = drain(first, &mut rx);
                    futures::executor::block_on(process_group(&mut engine, group, &gen));
                }
            })?;
        Ok(Writer {
            queue: tx,
            generation,
        })
    }

    /// The PostgreSQL writers: one task per connection, sharing one queue.
    pub fn start_postgres(conns: Vec<DatabaseConnection>) -> Writer {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        let generation = Arc::new(AtomicU64::new(0));
        for conn in conns {
            let rx = rx.clone();
            let gen = generation.clone();
            tokio::spawn(async move {
                let mut engine = PgEngine { conn };
                loop {
                    let group = {
                        let mut rx = rx.lock().await;
                        match rx.recv().await {
                            Some(first) => drain(first, &mut rx),
                            None => return,
                        }
                    };
                    process_group(&mut engine, group, &gen).await;
                }
            });
        }
        Writer {
            queue: tx,
            generation,
        }
    }

    /// Changes whenever this writer may have committed something.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Runs `work` in a write transaction and returns its result once that transaction
    /// has committed. If `work` fails, none of its changes are kept.
    pub async fn write<T, E>(&self, work: WriteFn<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job = Pending {
            work,
            outcome: StdMutex::new(None),
            reply: tx,
        };
        self.queue
            .send(Box::new(job))
            .await
            .map_err(|_| DbError::fault("the writer has stopped"))?;
        rx.await
            .map_err(|_| DbError::fault("the writer dropped a request"))?
    }
}

/// The first job plus whatever else is already waiting, up to a group's size.
fn drain(first: Box<dyn Job>, rx: &mut Queue) -> Vec<Box<dyn Job>> {
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    group
}

/// Transactions of one engine.
trait Engine {
    type Tx: WriteTx;
    fn begin(&mut self) -> BoxFuture<'_, Result<Self::Tx, String>>;
    fn commit(&mut self, tx: Self::Tx) -> BoxFuture<'_, Result<(), String>>;
    fn rollback(&mut self, tx: Self::Tx) -> BoxFuture<'_, ()>;
}

struct SqliteEngine {
    conn: Arc<StdMutex<rusqlite::Connection>>,
}

impl SqliteEngine {
    fn batch(&self, sql: &str) -> Result<(), String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "writer connection poisoned".to_string())?;
        conn.execute_batch(sql).map_err(|e| e.to_string())
    }
}

impl Engine for SqliteEngine {
    type Tx = SqliteTx;
    fn begin(&mut self) -> BoxFuture<'_, Result<SqliteTx, String>> {
        let r = self.batch("BEGIN IMMEDIATE").map(|_| SqliteTx {
            conn: self.conn.clone(),
        });
        Box::pin(std::future::ready(r))
    }
    fn commit(&mut self, _tx: SqliteTx) -> BoxFuture<'_, Result<(), String>> {
        let r = self.batch("COMMIT");
        if r.is_err() {
            let _ = self.batch("ROLLBACK");
        }
        Box::pin(std::future::ready(r))
    }
    fn rollback(&mut self, _tx: SqliteTx) -> BoxFuture<'_, ()> {
        let _ = self.batch("ROLLBACK");
        Box::pin(std::future::ready(()))
    }
}

struct PgEngine {
    conn: DatabaseConnection,
}

impl Engine for PgEngine {
    type Tx = DatabaseTransaction;
    fn begin(&mut self) -> BoxFuture<'_, Result<DatabaseTransaction, String>> {
        Box::pin(async move { self.conn.begin().await.map_err(|e| e.to_string()) })
    }
    fn commit(&mut self, tx: DatabaseTransaction) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { tx.commit().await.map_err(|e| e.to_string()) })
    }
    fn rollback(&mut self, tx: DatabaseTransaction) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = tx.rollback().await;
        })
    }
}

/// Commits `group` together, or, when a job fails, each job on its own.
async fn process_group<E: Engine>(engine: &mut E, group: Vec<Box<dyn Job>>, gen: &AtomicU64) {
    let answer = |group: Vec<Box<dyn Job>>, commit: Result<(), String>| {
        gen.fetch_add(1, Ordering::SeqCst);
        group.into_iter().for_each(|j| j.answer(commit.clone()));
    };
    match commit_together(engine, &group).await {
        Ok(()) => answer(group, Ok(())),
        Err(GroupError::Commit(e)) => answer(group, Err(e)),
        Err(GroupError::JobFailed) if group.len() == 1 => answer(group, Ok(())),
        Err(GroupError::JobFailed) => {
            for job in group {
                let commit = match commit_together(engine, std::slice::from_ref(&job)).await {
                    Ok(()) | Err(GroupError::JobFailed) => Ok(()),
                    Err(GroupError::Commit(e)) => Err(e),
                };
                answer(vec![job], commit);
            }
        }
    }
}

enum GroupError {
    /// A job returned an error (its outcome holds it); the transaction was rolled back.
    JobFailed,
    /// Begin or commit failed.
    Commit(String),
}

async fn commit_together<E: Engine>(
    engine: &mut E,
    group: &[Box<dyn Job>],
) -> Result<(), GroupError> {
    let tx = engine.begin().await.map_err(|e| {
        tracing::error!(error = %e, "cannot begin a write transaction");
        GroupError::Commit(e)
    })?;
    for job in group {
        if !job.run(&tx).await {
            engine.rollback(tx).await;
            return Err(GroupError::JobFailed);
        }
    }
    engine.commit(tx).await.map_err(|e| {
        tracing::error!(error = %e, "group commit failed");
        GroupError::Commit(e)
    })
}
