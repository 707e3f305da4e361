//! Prepared statements on PostgreSQL, and how they are let go when the schema changes.
//!
//! Every PostgreSQL connection keeps its statements prepared (the driver's cache, keyed
//! by the SQL text), so a query is one round trip instead of two (parse and describe,
//! then bind and execute). A prepared statement fixes its result's columns: after a
//! column changes type it fails with "cached plan must not change result type". So the
//! text carries an epoch (a leading comment once it is above zero) that moves on every
//! schema reload and whenever the database says a plan no longer fits: the same query
//! is then new text, prepared afresh, and the old statements age out of the cache.

use super::error::{DbError, DbErrorKind};
use sea_orm::Statement;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Statements each PostgreSQL connection keeps prepared (least recently used go first).
pub(crate) const CACHED_PER_CONNECTION: usize = 512;

/// The schema epoch shared by every connection of one database.
#[derive(Clone, Default)]
pub(crate) struct Epoch(Arc<AtomicU64>);

impl Epoch {
    /// `stmt` as this epoch's text.
    pub(crate) fn mark(&self, mut stmt: Statement) -> Statement {
        let n = self.0.load(Ordering::Relaxed);
        if n > 0 {
            stmt.sql = format!("/* epoch {n} */ {}", stmt.sql);
        }
        stmt
    }

    /// Statements prepared before now are not used again.
    pub(crate) fn advance(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Advances when `result` says the schema no longer fits a statement (a plan prepared
    /// before a change, or a table or column gone); true when it did.
    pub(crate) fn advance_on_mismatch<T>(&self, result: &Result<T, DbError>) -> bool {
        let mismatch = matches!(result, Err(e) if e.kind() == DbErrorKind::MissingSchema);
        if mismatch {
            self.advance();
        }
        mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DatabaseBackend;

    #[test]
    fn the_text_changes_with_the_epoch() {
        let epoch = Epoch::default();
        let stmt = || Statement::from_string(DatabaseBackend::Postgres, "SELECT 1");
        assert_eq!(epoch.mark(stmt()).sql, "SELECT 1");
        epoch.advance();
        assert_eq!(epoch.mark(stmt()).sql, "/* epoch 1 */ SELECT 1");
        let failed: Result<(), DbError> = Err(DbError::other("unrelated"));
        assert!(!epoch.advance_on_mismatch(&failed));
        assert_eq!(epoch.mark(stmt()).sql, "/* epoch 1 */ SELECT 1");

        let conn = rusqlite::Connection::open_in_memory().expect("open");
        let gone: Result<usize, DbError> =
            conn.execute("DELETE FROM gone", []).map_err(DbError::from);
        assert!(epoch.advance_on_mismatch(&gone));
        assert_eq!(epoch.mark(stmt()).sql, "/* epoch 2 */ SELECT 1");
    }
}
