//! The single-writer queue with group commit: concurrent write requests are queued and
//! committed together in one transaction, and each is answered only after that commit.
//!
//! Groups are optimistic: the jobs run back to back with no savepoints (each extra
//! statement costs a thread hand-off in the SQLite driver). If one fails, the group is
//! rolled back and every job is run again on its own, so a failing write never fails
//! its neighbours. Jobs are therefore `Fn`: they must be safe to run twice.

use crate::core::Error;
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex as StdMutex};
use tokio::sync::{mpsc, oneshot, Mutex};

/// The work of one write request, run inside the writer's transaction.
pub type WriteFn<T> =
    Box<dyn for<'c> Fn(&'c DatabaseTransaction) -> BoxFuture<'c, Result<T, Error>> + Send + Sync>;

/// One queued request: `run` executes it and keeps its outcome; `answer` sends the
/// kept outcome (or the commit error) to the caller.
trait Job: Send + Sync {
    fn run<'c>(&'c self, txn: &'c DatabaseTransaction) -> BoxFuture<'c, bool>;
    fn answer(self: Box<Self>, commit: Result<(), String>);
}

struct Pending<T> {
    work: WriteFn<T>,
    outcome: StdMutex<Option<Result<T, Error>>>,
    reply: oneshot::Sender<Result<T, Error>>,
}

impl<T: Send + 'static> Job for Pending<T> {
    fn run<'c>(&'c self, txn: &'c DatabaseTransaction) -> BoxFuture<'c, bool> {
        async move {
            let out = AssertUnwindSafe((self.work)(txn)).catch_unwind().await;
            let out = out.unwrap_or_else(|_| Err(Error::Internal("a write panicked".into())));
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
            (Some(Ok(_)), Err(e)) => Err(Error::Internal(format!("commit failed: {e}"))),
            (None, _) => Err(Error::Internal("the write did not run".into())),
        };
        let _ = self.reply.send(answer);
    }
}

/// Most jobs committed in one transaction.
const MAX_GROUP: usize = 256;
const QUEUE_DEPTH: usize = 8192;

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// One task per connection; they share one queue.
    pub fn start(conns: Vec<DatabaseConnection>) -> Writer {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        for conn in conns {
            tokio::spawn(run(conn, rx.clone()));
        }
        Writer { queue: tx }
    }

    /// Runs `work` in a write transaction and returns its result once that transaction
    /// has committed. If `work` fails, none of its changes are kept.
    pub async fn write<T: Send + 'static>(&self, work: WriteFn<T>) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        let job = Pending {
            work,
            outcome: StdMutex::new(None),
            reply: tx,
        };
        self.queue
            .send(Box::new(job))
            .await
            .map_err(|_| Error::Internal("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| Error::Internal("the writer dropped a request".into()))?
    }
}

async fn run(conn: DatabaseConnection, rx: Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>) {
    loop {
        let mut group = Vec::with_capacity(16);
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(job) => group.push(job),
                None => return,
            }
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
        }
        match commit_group(&conn, &group).await {
            Ok(()) => group.into_iter().for_each(|j| j.answer(Ok(()))),
            Err(GroupError::Commit(e)) => group.into_iter().for_each(|j| j.answer(Err(e.clone()))),
            Err(GroupError::JobFailed) if group.len() == 1 => {
                group.into_iter().for_each(|j| j.answer(Ok(())))
            }
            Err(GroupError::JobFailed) => {
                // Someone failed: redo each job alone so only the failing ones fail.
                for job in group {
                    let commit = match commit_group(&conn, std::slice::from_ref(&job)).await {
                        Ok(()) | Err(GroupError::JobFailed) => Ok(()),
                        Err(GroupError::Commit(e)) => Err(e),
                    };
                    job.answer(commit);
                }
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

async fn commit_group(conn: &DatabaseConnection, group: &[Box<dyn Job>]) -> Result<(), GroupError> {
    let txn = conn.begin().await.map_err(|e| {
        tracing::error!(error = %e, "cannot begin a write transaction");
        GroupError::Commit(e.to_string())
    })?;
    for job in group {
        if !job.run(&txn).await {
            let _ = txn.rollback().await;
            return Err(GroupError::JobFailed);
        }
    }
    txn.commit().await.map_err(|e| {
        tracing::error!(error = %e, "group commit failed");
        GroupError::Commit(e.to_string())
    })
}
