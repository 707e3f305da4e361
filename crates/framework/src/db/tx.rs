//! What a write job sees: one transaction, whichever engine runs it. SQLite's runs on a
//! dedicated thread with a plain rusqlite connection (no hand-off per statement);
//! PostgreSQL's is a sea-orm transaction.

use super::error::DbError;
use super::row::Row;
use super::sqlite;
use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use std::sync::{Arc, Mutex};

/// A write transaction. Jobs may only await these methods: on SQLite they run on the
/// writer's own thread, outside any async runtime.
pub trait WriteTx: Send + Sync {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbError>>;
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbError>>;
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbError>>;
}

impl WriteTx for DatabaseTransaction {
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbError>> {
        Box::pin(async move { Ok(self.execute_raw(stmt).await?.rows_affected()) })
    }
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbError>> {
        Box::pin(async move { Ok(self.query_one_raw(stmt).await?.map(Row::Postgres)) })
    }
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            Ok(self
                .query_all_raw(stmt)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect())
        })
    }
}

/// The SQLite writer's transaction: statements run synchronously on its connection.
pub struct SqliteTx {
    pub(crate) conn: Arc<Mutex<rusqlite::Connection>>,
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
        let result = self.with_conn(|c| sqlite::execute(c, &stmt));
        Box::pin(std::future::ready(result))
    }
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbError>> {
        let result = self
            .with_conn(|c| sqlite::query(c, &stmt, Some(1)))
            .map(|mut v| v.pop());
        Box::pin(std::future::ready(result))
    }
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbError>> {
        let result = self.with_conn(|c| sqlite::query(c, &stmt, None));
        Box::pin(std::future::ready(result))
    }
}
