//! What a write job sees: one transaction, whichever engine runs it. SQLite's runs on a
//! dedicated thread with a plain rusqlite connection (no hand-off per statement);
//! PostgreSQL's is a sea-orm transaction whose statements carry the schema epoch.

use super::error::DbError;
use super::row::Row;
use super::sqlite;
use super::statements::Epoch;
use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A write transaction. Jobs may only await these methods: on SQLite they run on the
/// writer's own thread, outside any async runtime.
pub trait WriteTx: Send + Sync {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbError>>;
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbError>>;
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbError>>;
    /// Notes `fact`: something a query established (a row exists, a schema row is as
    /// expected). The jobs of a group commit share their transaction, so the next one to
    /// need the fact need not ask the database again. Facts survive inserts and reads
    /// only: any other statement (a delete, an update, DDL) forgets them all.
    fn note(&self, fact: &str);
    /// Whether `fact` was noted in this transaction.
    fn knows(&self, fact: &str) -> bool;
}

/// The facts noted in one transaction ([`WriteTx::note`]).
#[derive(Default)]
pub(crate) struct Facts(Mutex<HashSet<String>>);

impl Facts {
    /// Forgets every fact unless `stmt` can only add rows or read.
    fn after(&self, stmt: &Statement) {
        if !adds_or_reads(&stmt.sql) {
            if let Ok(mut set) = self.0.lock() {
                set.clear();
            }
        }
    }
    fn note(&self, fact: &str) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(fact.to_string());
        }
    }
    fn knows(&self, fact: &str) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(fact))
    }
}

/// True when `sql` is an INSERT or a SELECT (after leading blanks and comments).
fn adds_or_reads(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    while let Some(after) = rest.strip_prefix("/*") {
        match after.find("*/") {
            Some(end) => rest = after[end + 2..].trim_start(),
            None => return false,
        }
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    word.eq_ignore_ascii_case("insert") || word.eq_ignore_ascii_case("select")
}

/// The PostgreSQL writer's transaction.
pub struct PgTx {
    pub(crate) tx: DatabaseTransaction,
    pub(crate) epoch: Epoch,
    pub(crate) facts: Facts,
}

impl PgTx {
    /// `result`, after moving the epoch on if the schema no longer fits the statement:
    /// the write is planned again (see `records::commit`) and its text is then new.
    fn checked<T>(&self, result: Result<T, DbError>) -> Result<T, DbError> {
        self.epoch.advance_on_mismatch(&result);
        result
    }
}

impl WriteTx for PgTx {
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbError>> {
        Box::pin(async move {
            self.facts.after(&stmt);
            let done = self.tx.execute_raw(self.epoch.mark(stmt)).await;
            self.checked(done.map(|r| r.rows_affected()).map_err(DbError::from))
        })
    }
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbError>> {
        Box::pin(async move {
            self.facts.after(&stmt);
            let row = self.tx.query_one_raw(self.epoch.mark(stmt)).await;
            self.checked(row.map(|r| r.map(Row::Postgres)).map_err(DbError::from))
        })
    }
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            self.facts.after(&stmt);
            let rows = self.tx.query_all_raw(self.epoch.mark(stmt)).await;
            self.checked(
                rows.map(|r| r.into_iter().map(Row::Postgres).collect())
                    .map_err(DbError::from),
            )
        })
    }
    fn note(&self, fact: &str) {
        self.facts.note(fact)
    }
    fn knows(&self, fact: &str) -> bool {
        self.facts.knows(fact)
    }
}

/// The SQLite writer's transaction: statements run synchronously on its connection.
pub struct SqliteTx {
    pub(crate) conn: Arc<Mutex<rusqlite::Connection>>,
    pub(crate) facts: Facts,
}

impl SqliteTx {
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| DbError::fault("writer connection poisoned"))?;
        f(&conn)
    }
}

impl WriteTx for SqliteTx {
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbError>> {
        self.facts.after(&stmt);
        let result = self.with_conn(|c| sqlite::execute(c, &stmt));
        Box::pin(std::future::ready(result))
    }
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbError>> {
        self.facts.after(&stmt);
        let result = self
            .with_conn(|c| sqlite::query(c, &stmt, Some(1)))
            .map(|mut v| v.pop());
        Box::pin(std::future::ready(result))
    }
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbError>> {
        self.facts.after(&stmt);
        let result = self.with_conn(|c| sqlite::query(c, &stmt, None));
        Box::pin(std::future::ready(result))
    }
    fn note(&self, fact: &str) {
        self.facts.note(fact)
    }
    fn knows(&self, fact: &str) -> bool {
        self.facts.knows(fact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DatabaseBackend;

    #[test]
    fn facts_survive_inserts_and_reads_only() {
        let facts = Facts::default();
        let stmt = |sql: &str| Statement::from_string(DatabaseBackend::Sqlite, sql);
        facts.note("row users a");
        for kept in [
            "SELECT 1",
            "  insert INTO t VALUES (1)",
            "/* epoch 3 */ SELECT \"id\" FROM t",
        ] {
            facts.after(&stmt(kept));
            assert!(facts.knows("row users a"), "{kept}");
        }
        for forgets in [
            "DELETE FROM users",
            "UPDATE users SET x = 1",
            "ALTER TABLE t ADD c TEXT",
            "WITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d",
            "/* unclosed SELECT",
        ] {
            facts.note("row users a");
            facts.after(&stmt(forgets));
            assert!(!facts.knows("row users a"), "{forgets}");
        }
    }
}
