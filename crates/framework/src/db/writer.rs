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

use super::checkpoint::Wal;
use super::error::DbError;
use super::stages::{JobTimes, Stages, WriteStages};
use super::statements::Epoch;
use super::tx::{Facts, PgTx, SqliteTx, WriteTx};
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Instant;
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
    /// When it was queued, and when its last run started and finished.
    fn times(&self) -> JobTimes;
}

struct Pending<T, E> {
    work: WriteFn<T, E>,
    outcome: StdMutex<Option<Result<T, E>>>,
    reply: oneshot::Sender<Result<T, E>>,
    queued: Instant,
    ran: StdMutex<Option<(Instant, Instant)>>,
}

impl<T: Send + 'static, E: From<DbError> + Send + 'static> Job for Pending<T, E> {
    fn run<'c>(&'c self, tx: &'c dyn WriteTx) -> BoxFuture<'c, bool> {
        async move {
            let started = Instant::now();
            let out = AssertUnwindSafe((self.work)(tx)).catch_unwind().await;
            let out = out.unwrap_or_else(|_| Err(DbError::fault("a write panicked").into()));
            let ok = out.is_ok();
            if let Ok(mut slot) = self.outcome.lock() {
                *slot = Some(out);
            }
            if let Ok(mut ran) = self.ran.lock() {
                *ran = Some((started, Instant::now()));
            }
            ok
        }
        .boxed()
    }

    fn times(&self) -> JobTimes {
        let ran = self.ran.lock().ok().and_then(|r| *r);
        JobTimes {
            queued: self.queued,
            started: ran.map(|r| r.0),
            finished: ran.map(|r| r.1),
        }
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
    stages: Arc<Stages>,
}

impl Writer {
    /// The SQLite writer: a thread of its own around `conn` (opened on `path`), and the
    /// thread that checkpoints its WAL.
    pub fn start_sqlite(conn: rusqlite::Connection, path: &Path) -> Result<Writer, DbError> {
        let wal = Wal::start(path)?;
        let (tx, mut rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let mut engine = SqliteEngine {
            conn: Arc::new(StdMutex::new(conn)),
        };
        let generation = Arc::new(AtomicU64::new(0));
        let stages = Arc::new(Stages::default());
        let seen = Seen {
            generation: generation.clone(),
            stages: stages.clone(),
        };
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let group = drain(first, &mut rx);
                    futures::executor::block_on(process_group(&mut engine, group, &seen));
                    if let Ok(conn) = engine.conn.lock() {
                        wal.finish_if_due(&conn);
                    }
                }
            })
            .map_err(|e| DbError::internal("cannot start the writer thread", e))?;
        Ok(Writer {
            queue: tx,
            generation,
            stages,
        })
    }

    /// The PostgreSQL writers: one task per connection, sharing one queue.
    pub fn start_postgres(conns: Vec<DatabaseConnection>, epoch: Epoch) -> Writer {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        let generation = Arc::new(AtomicU64::new(0));
        let stages = Arc::new(Stages::default());
        for conn in conns {
            let rx = rx.clone();
            let seen = Seen {
                generation: generation.clone(),
                stages: stages.clone(),
            };
            let epoch = epoch.clone();
            tokio::spawn(async move {
                let mut engine = PgEngine { conn, epoch };
                loop {
                    let group = {
                        let mut rx = rx.lock().await;
                        match rx.recv().await {
                            Some(first) => drain(first, &mut rx),
                            None => return,
                        }
                    };
                    process_group(&mut engine, group, &seen).await;
                }
            });
        }
        Writer {
            queue: tx,
            generation,
            stages,
        }
    }

    /// Where writes spent their time in the queue, per stage, since it started.
    pub fn stages(&self) -> WriteStages {
        self.stages.report()
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
            queued: Instant::now(),
            ran: StdMutex::new(None),
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
            facts: Facts::default(),
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
    epoch: Epoch,
}

impl Engine for PgEngine {
    type Tx = PgTx;
    fn begin(&mut self) -> BoxFuture<'_, Result<PgTx, String>> {
        Box::pin(async move {
            let tx = self.conn.begin().await.map_err(|e| e.to_string())?;
            Ok(PgTx {
                tx,
                epoch: self.epoch.clone(),
                facts: Facts::default(),
            })
        })
    }
    fn commit(&mut self, tx: PgTx) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { tx.tx.commit().await.map_err(|e| e.to_string()) })
    }
    fn rollback(&mut self, tx: PgTx) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = tx.tx.rollback().await;
        })
    }
}

/// What the writer tasks keep up to date for everyone else.
struct Seen {
    generation: Arc<AtomicU64>,
    stages: Arc<Stages>,
}

/// Commits `group` together, or, when a job fails, each job on its own.
async fn process_group<E: Engine>(engine: &mut E, group: Vec<Box<dyn Job>>, seen: &Seen) {
    let answer = |group: Vec<Box<dyn Job>>, commit: Result<(), String>, at: GroupTimes| {
        seen.generation.fetch_add(1, Ordering::SeqCst);
        let times: Vec<JobTimes> = group.iter().map(|j| j.times()).collect();
        seen.stages
            .record_group(at.began, at.commit_began, Instant::now(), times.iter());
        group.into_iter().for_each(|j| j.answer(commit.clone()));
    };
    let (outcome, at) = commit_together(engine, &group).await;
    match outcome {
        Ok(()) => answer(group, Ok(()), at),
        Err(GroupError::Commit(e)) => answer(group, Err(e), at),
        Err(GroupError::JobFailed) if group.len() == 1 => answer(group, Ok(()), at),
        Err(GroupError::JobFailed) => {
            for job in group {
                let (outcome, at) = commit_together(engine, std::slice::from_ref(&job)).await;
                let commit = match outcome {
                    Ok(()) | Err(GroupError::JobFailed) => Ok(()),
                    Err(GroupError::Commit(e)) => Err(e),
                };
                answer(vec![job], commit, at);
            }
        }
    }
}

/// When a transaction began and when its commit (or rollback) began.
struct GroupTimes {
    began: Instant,
    commit_began: Instant,
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
) -> (Result<(), GroupError>, GroupTimes) {
    let began = Instant::now();
    let times = || GroupTimes {
        began,
        commit_began: Instant::now(),
    };
    let tx = match engine.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "cannot begin a write transaction");
            return (Err(GroupError::Commit(e)), times());
        }
    };
    for job in group {
        if !job.run(&tx).await {
            let at = times();
            engine.rollback(tx).await;
            return (Err(GroupError::JobFailed), at);
        }
    }
    let at = times();
    let committed = engine.commit(tx).await.map_err(|e| {
        tracing::error!(error = %e, "group commit failed");
        GroupError::Commit(e)
    });
    (committed, at)
}
