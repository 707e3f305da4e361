//! What a write job sees: one transaction, whichever engine runs it. SQLite's runs on a
//! dedicated thread with a plain rusqlite connection (no hand-off per statement);
//! PostgreSQL's is a sea-orm transaction.

use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, QueryResult, Statement, Value};
use std::sync::{Arc, Mutex};

/// One row read inside a write, with typed getters for the few types writes need.
pub enum Row {
    Sqlite(Vec<(String, rusqlite::types::Value)>),
    Postgres(QueryResult),
}

impl Row {
    pub fn string(&self, col: &str) -> Result<String, DbErr> {
        match self {
            Row::Postgres(r) => r
                .try_get::<Option<String>>("", col)
                .map(Option::unwrap_or_default),
            Row::Sqlite(cols) => match cols.iter().find(|(n, _)| n == col).map(|(_, v)| v) {
                Some(rusqlite::types::Value::Text(s)) => Ok(s.clone()),
                Some(rusqlite::types::Value::Null) => Ok(String::new()),
                Some(other) => Ok(sqlite_value_text(other)),
                None => Err(DbErr::Custom(format!("no column {col}"))),
            },
        }
    }

    pub fn i64(&self, col: &str) -> Result<i64, DbErr> {
        match self {
            Row::Postgres(r) => r.try_get::<i64>("", col),
            Row::Sqlite(cols) => match cols.iter().find(|(n, _)| n == col).map(|(_, v)| v) {
                Some(rusqlite::types::Value::Integer(n)) => Ok(*n),
                Some(rusqlite::types::Value::Real(f)) => Ok(*f as i64),
                _ => Err(DbErr::Custom(format!("column {col} is not an integer"))),
            },
        }
    }
}

fn sqlite_value_text(v: &rusqlite::types::Value) -> String {
    match v {
        rusqlite::types::Value::Null => String::new(),
        rusqlite::types::Value::Integer(n) => n.to_string(),
        rusqlite::types::Value::Real(f) => f.to_string(),
        rusqlite::types::Value::Text(s) => s.clone(),
        rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// A write transaction. Jobs may only await these methods: on SQLite they run on the
/// writer's own thread, outside any async runtime.
pub trait WriteTx: Send + Sync {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbErr>>;
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbErr>>;
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbErr>>;
}

impl WriteTx for DatabaseTransaction {
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbErr>> {
        Box::pin(async move { Ok(self.execute_raw(stmt).await?.rows_affected()) })
    }
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbErr>> {
        Box::pin(async move { Ok(self.query_one_raw(stmt).await?.map(Row::Postgres)) })
    }
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbErr>> {
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

fn to_sqlite(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Bool(b) => b.map(|b| V::Integer(b as i64)).unwrap_or(V::Null),
        Value::TinyInt(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::SmallInt(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::Int(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::BigInt(n) => n.map(V::Integer).unwrap_or(V::Null),
        Value::TinyUnsigned(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::SmallUnsigned(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::Unsigned(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::BigUnsigned(n) => n.map(|n| V::Integer(n as i64)).unwrap_or(V::Null),
        Value::Float(f) => f.map(|f| V::Real(f as f64)).unwrap_or(V::Null),
        Value::Double(f) => f.map(V::Real).unwrap_or(V::Null),
        Value::String(s) => s.clone().map(V::Text).unwrap_or(V::Null),
        Value::Char(c) => c.map(|c| V::Text(c.to_string())).unwrap_or(V::Null),
        Value::Bytes(b) => b.clone().map(V::Blob).unwrap_or(V::Null),
        Value::Json(j) => j
            .as_ref()
            .map(|j| V::Text(j.to_string()))
            .unwrap_or(V::Null),
        other => V::Text(format!("{other:?}")),
    }
}

fn db_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(e.to_string())
}

impl SqliteTx {
    fn params(stmt: &Statement) -> Vec<rusqlite::types::Value> {
        stmt.values
            .as_ref()
            .map(|v| v.0.iter().map(to_sqlite).collect())
            .unwrap_or_default()
    }

    fn run_query(&self, stmt: &Statement, limit: Option<usize>) -> Result<Vec<Row>, DbErr> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| DbErr::Custom("writer connection poisoned".into()))?;
        let mut prepared = conn.prepare_cached(&stmt.sql).map_err(db_err)?;
        let names: Vec<String> = prepared
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut rows = prepared
            .query(rusqlite::params_from_iter(Self::params(stmt)))
            .map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db_err)? {
            let mut cols = Vec::with_capacity(names.len());
            for (i, n) in names.iter().enumerate() {
                cols.push((
                    n.clone(),
                    r.get::<_, rusqlite::types::Value>(i).map_err(db_err)?,
                ));
            }
            out.push(Row::Sqlite(cols));
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }
}

impl WriteTx for SqliteTx {
    fn execute(&self, stmt: Statement) -> BoxFuture<'_, Result<u64, DbErr>> {
        let result = (|| {
            let conn = self
                .conn
                .lock()
                .map_err(|_| DbErr::Custom("writer connection poisoned".into()))?;
            let params = Self::params(&stmt);
            if params.is_empty() && !stmt.sql.contains('?') {
                // DDL and other parameterless statements.
                conn.execute_batch(&stmt.sql).map_err(db_err)?;
                return Ok(conn.changes());
            }
            let mut prepared = conn.prepare_cached(&stmt.sql).map_err(db_err)?;
            prepared
                .execute(rusqlite::params_from_iter(params))
                .map(|n| n as u64)
                .map_err(db_err)
        })();
        Box::pin(std::future::ready(result))
    }
    fn query_one(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<Row>, DbErr>> {
        let result = self.run_query(&stmt, Some(1)).map(|mut v| v.pop());
        Box::pin(std::future::ready(result))
    }
    fn query_all(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<Row>, DbErr>> {
        Box::pin(std::future::ready(self.run_query(&stmt, None)))
    }
}
