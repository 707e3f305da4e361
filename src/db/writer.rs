//! The single-writer queue with group commit: concurrent write requests are queued,
//! committed together in one transaction, each isolated by a savepoint so one failure
//! does not fail its neighbours, and each answered only after the commit.

use crate::core::Error;
use futures::future::BoxFuture;
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// The work of one write request, run inside the writer's transaction.
pub type WriteFn<T> =
    Box<dyn for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<T, Error>> + Send>;

/// Sent after the commit: the commit's outcome decides what the caller hears.
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, (bool, Reply)> + Send>;

/// Most jobs committed in one transaction.
const MAX_GROUP: usize = 256;
const QUEUE_DEPTH: usize = 8192;

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// One task per connection; they share one queue.
    pub fn start(conns: Vec<DatabaseConnection>) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let rx = Arc::new(Mutex::new(rx));
        for conn in conns {
            tokio::spawn(run(conn, rx.clone()));
        }
        Writer { queue: tx }
    }

    /// Runs `f` in a write transaction and returns its result once that transaction
    /// has committed. If `f` fails, only its own changes are rolled back.
    pub async fn write<T: Send + 'static>(&self, f: WriteFn<T>) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel::<Result<T, Error>>();
        let job: Job = Box::new(move |txn| {
            async move {
                let outcome = AssertUnwindSafe(f(txn)).catch_unwind().await;
                let outcome =
                    outcome.unwrap_or_else(|_| Err(Error::Internal("a write panicked".into())));
                let ok = outcome.is_ok();
                let reply: Reply = Box::new(move |commit| {
                    let answer = match (outcome, commit) {
                        (Ok(v), Ok(())) => Ok(v),
                        (Ok(_), Err(e)) => Err(Error::Internal(format!("commit failed: {e}"))),
                        (Err(e), _) => Err(e),
                    };
                    let _ = tx.send(answer);
                });
                (ok, reply)
            }
            .boxed()
        });
        self.queue
            .send(job)
            .await
            .map_err(|_| Error::Internal("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| Error::Internal("the writer dropped a request".into()))?
    }
}

async fn run(conn: DatabaseConnection, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
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
        commit_group(&conn, group).await;
    }
}

async fn commit_group(conn: &DatabaseConnection, group: Vec<Job>) {
    let txn = match conn.begin().await {
        Ok(t) => t,
        Err(e) => {
            // Dropping the jobs answers each caller with an internal error.
            tracing::error!(error = %e, "cannot begin a write transaction");
            return;
        }
    };
    let mut replies = Vec::with_capacity(group.len());
    if group.len() == 1 {
        // Alone: no savepoint needed; a failure rolls the whole transaction back.
        let job = group.into_iter().next().expect("one job");
        let (ok, reply) = job(&txn).await;
        if !ok {
            let _ = txn.rollback().await;
            reply(Ok(()));
            return;
        }
        replies.push(reply);
    } else {
        for job in group {
            let sp = match txn.begin().await {
                Ok(sp) => sp,
                Err(e) => {
                    tracing::error!(error = %e, "cannot open a savepoint");
                    continue;
                }
            };
            let (ok, reply) = job(&sp).await;
            let released = if ok {
                sp.commit().await
            } else {
                sp.rollback().await
            };
            match (ok, released) {
                (true, Err(e)) => reply(Err(e.to_string())),
                _ => replies.push(reply),
            }
        }
    }
    let commit = txn.commit().await.map_err(|e| e.to_string());
    if let Err(e) = &commit {
        tracing::error!(error = %e, "group commit failed");
    }
    for reply in replies {
        reply(commit.clone());
    }
}
