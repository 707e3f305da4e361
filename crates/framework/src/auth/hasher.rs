//! A small pool of threads for password hashing. Argon2 is slow and takes several MiB
//! per hash by design; doing it on a fixed thread per core (rather than on the async
//! threads, or on an ever-changing set of blocking threads, each keeping its own malloc
//! arena full of freed blocks) bounds both CPU and memory, and a burst of logins
//! simply queues.

use crate::error::{Error, Result};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

type Task = Box<dyn FnOnce() + Send>;

pub struct Hasher {
    queue: Mutex<mpsc::Sender<Task>>,
}

impl Hasher {
    pub fn new(threads: usize) -> Hasher {
        let (tx, rx) = mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    // The next task: waiting for one, or only if one is already queued.
                    // `None` once the queue is gone (or poisoned).
                    let next = |wait: bool| {
                        let rx = rx.lock().ok()?;
                        if wait {
                            rx.recv().ok()
                        } else {
                            rx.try_recv().ok()
                        }
                    };
                    while let Some(task) = next(true) {
                        task();
                        // Keep argon2's memory while more work is waiting; give it back
                        // once the queue is empty.
                        while let Some(task) = next(false) {
                            task();
                        }
                        crate::auth::tokens::release_hash_memory();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a hashing thread");
            }
        }
        Hasher {
            queue: Mutex::new(tx),
        }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let task: Task = Box::new(move || {
            let _ = tx.send(f());
        });
        self.queue
            .lock()
            .map_err(|_| Error::internal("hasher poisoned"))?
            .send(task)
            .map_err(|_| Error::internal("hasher stopped"))?;
        rx.await
            .map_err(|_| Error::internal("hashing task dropped"))
    }

    pub async fn hash(
        &self,
        password: &str,
        cost: &crate::settings::model::PasswordHashing,
    ) -> Result<String> {
        let (password, cost) = (password.to_string(), cost.clone());
        self.run(move || crate::auth::tokens::hash_password(&password, &cost))
            .await?
    }

    /// An empty `hash` (no such account) is checked against a dummy hash and fails, so a
    /// miss takes as long as a wrong password.
    pub async fn verify(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_string(), hash.to_string());
        self.run(move || {
            if hash.is_empty() {
                let _ = crate::auth::tokens::verify_password(
                    &password,
                    crate::auth::tokens::dummy_hash(),
                );
                return false;
            }
            crate::auth::tokens::verify_password(&password, &hash)
        })
        .await
        .unwrap_or(false)
    }
}
