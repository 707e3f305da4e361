//! SQLite's WAL checkpoints, kept off the commit path.
//!
//! By default the connection that commits past 1,000 WAL pages copies them all into the
//! database file before its commit returns: under steady writes every few hundred
//! milliseconds a group of writes waited 5-25 ms for that copy (the writer's `commit`
//! stage). Here a thread of its own copies pages as they come (a passive checkpoint,
//! which never blocks the writer), and the writer, between two groups, finishes the
//! little that is left once the WAL is past a size: a fully copied WAL is started over by
//! the next write, so it does not grow without end under continuous writes.

use super::error::DbError;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// WAL pages past which the writer finishes a checkpoint between groups (16 MB).
const RESTART_AFTER_PAGES: i64 = 4_000;
/// How often the checkpoint thread copies what the writer added.
const EVERY: Duration = Duration::from_millis(50);

/// What the checkpoint thread last saw of the WAL: its pages.
#[derive(Default)]
pub(crate) struct Wal {
    pages: AtomicI64,
}

impl Wal {
    /// Starts the checkpoint thread on a connection of its own to `path`; it stops when
    /// the returned handle (the writer's) is dropped.
    pub(crate) fn start(path: &Path) -> Result<Arc<Wal>, DbError> {
        let conn = super::sqlite::open(path, 256)?;
        let wal = Arc::new(Wal::default());
        let seen = Arc::downgrade(&wal);
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || loop {
                std::thread::sleep(EVERY);
                let Some(wal) = seen.upgrade() else { return };
                match passive(&conn) {
                    Ok((pages, _)) => wal.pages.store(pages, Ordering::Relaxed),
                    Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed"),
                }
            })
            .map_err(|e| DbError::internal("cannot start the checkpoint thread", e))?;
        Ok(wal)
    }

    /// Called by the writer between groups: when the WAL has grown past its size, copies
    /// the rest of it (the thread copied the bulk), so the next write starts it over.
    pub(crate) fn finish_if_due(&self, writer: &rusqlite::Connection) {
        if self.pages.load(Ordering::Relaxed) < RESTART_AFTER_PAGES {
            return;
        }
        match passive(writer) {
            // Until the thread looks again; a WAL readers kept from starting over is
            // seen as large again then, and finished again.
            Ok(_) => self.pages.store(0, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed"),
        }
    }
}

/// A passive checkpoint: copies what no reader still needs, never waits for a lock.
/// Returns the WAL's pages and how many of them are in the database file now.
fn passive(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_is_copied_by_the_thread_and_started_over_by_the_writer() {
        let dir = std::env::temp_dir().join(format!("gather_wal_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("t.db");
        let writer = super::super::sqlite::open_writer(&path, super::super::sqlite::MAIN_CACHES)
            .expect("writer");
        writer
            .execute_batch("CREATE TABLE t (v TEXT)")
            .expect("table");
        let wal = Wal::start(&path).expect("thread");
        let write = |n: usize| {
            for _ in 0..n {
                writer
                    .execute("INSERT INTO t VALUES (?1)", ["x".repeat(3000)])
                    .expect("insert");
            }
        };
        let file_size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let empty = file_size();
        write(RESTART_AFTER_PAGES as usize + 500);
        std::thread::sleep(EVERY * 4);
        assert!(wal.pages.load(Ordering::Relaxed) >= RESTART_AFTER_PAGES);
        assert!(
            file_size() > empty + 4_000 * 3_000,
            "the thread copied the pages into the database file"
        );
        wal.finish_if_due(&writer);
        write(10);
        let after = passive(&writer).expect("checkpoint");
        assert!(after.0 < 100, "the WAL started over: {after:?}");
        drop((wal, writer));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
