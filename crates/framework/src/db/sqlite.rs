//! SQLite through rusqlite: opening connections with our pragmas, binding sea-query
//! values, reading rows, and the pool of reader threads.

use super::error::DbError;
use super::row::{Row, SqliteValue};
use sea_orm::{Statement, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Page cache per connection, in KiB. Each connection has its own, so these add up (one
/// writer, a reader per thread); pages beyond them come from the OS's file cache, a copy
/// away.
#[derive(Debug, Clone, Copy)]
pub struct Caches {
    pub writer_kib: u32,
    pub reader_kib: u32,
}

/// The main file's: records are read and written all over their tables and indexes.
pub const MAIN_CACHES: Caches = Caches {
    writer_kib: 8_000,
    reader_kib: 2_000,
};
/// The auxiliary file's: logs are appended at the end of their table and index, and read
/// rarely, so a few pages do.
pub const AUXILIARY_CACHES: Caches = Caches {
    writer_kib: 1_000,
    reader_kib: 1_000,
};

/// Pragmas every connection gets (the journal mode is the file's, set by the writer).
const PRAGMAS: &str = "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
     PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 200000000;";

/// Opens `path` with the shared pragmas and a statement cache. The query planner
/// stability guarantee is on: without it, SQLite (built with STAT4) re-prepares a
/// statement whenever a bound value in its WHERE clause changes, which is every request.
pub fn open(path: &Path, cache_kib: u32) -> Result<rusqlite::Connection, DbError> {
    let err = |e: rusqlite::Error| DbError::internal(format!("cannot open {}", path.display()), e);
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    conn.execute_batch(PRAGMAS).map_err(err)?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{cache_kib};"))
        .map_err(err)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// The one read-write connection; it puts the file in WAL mode before readers attach.
/// Its commits do not checkpoint the WAL (see `checkpoint`).
/// Processes starting together on a new file race to switch it: SQLite answers "busy"
/// to that switch at once rather than through the busy timeout, so it is tried again.
pub fn open_writer(path: &Path, caches: Caches) -> Result<rusqlite::Connection, DbError> {
    let conn = open(path, caches.writer_kib)?;
    // Commits never checkpoint: `checkpoint` does it beside them.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")
        .map_err(db_err)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(conn),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                let what = format!("cannot use WAL for {}", path.display());
                return Err(DbError::internal(what, e));
            }
        }
    }
}

/// Moves the rows of the main file's `_logs` (where versions before the auxiliary file
/// kept them) into the auxiliary file's; returns how many moved.
pub fn move_logs(main: &Path, aux: &Path) -> Result<u64, DbError> {
    let conn = open(aux, 1_000)?;
    conn.execute(
        "ATTACH DATABASE ?1 AS \"old\"",
        [main.to_string_lossy().as_ref()],
    )?;
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM \"old\".sqlite_master WHERE type = 'table' AND name = '_logs')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM \"old\".\"_logs\"", [], |r| r.get(0))?;
    if n > 0 {
        conn.execute_batch(
            "BEGIN IMMEDIATE; \
             INSERT OR IGNORE INTO \"main\".\"_logs\" (\"id\", \"level\", \"message\", \"data\", \"created\") \
             SELECT \"id\", \"level\", \"message\", \"data\", \"created\" FROM \"old\".\"_logs\"; \
             DELETE FROM \"old\".\"_logs\"; \
             COMMIT;",
        )?;
    }
    Ok(n as u64)
}

fn to_sqlite(v: &Value) -> SqliteValue {
    use SqliteValue as V;
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

fn db_err(e: rusqlite::Error) -> DbError {
    DbError::from(e)
}

fn params(stmt: &Statement) -> Vec<SqliteValue> {
    stmt.values
        .as_ref()
        .map(|v| v.0.iter().map(to_sqlite).collect())
        .unwrap_or_default()
}

/// Statements binding more values than this are not kept prepared: they are multi-row
/// inserts (a batch of log lines), seldom sent twice in the same shape, and their
/// compiled programs are large enough to crowd out the statements that do repeat.
const KEEP_PREPARED_MAX_VALUES: usize = 100;

/// Runs `f` on `sql` prepared, from the connection's cache unless it binds many values.
fn with_prepared<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    values: usize,
    f: impl FnOnce(&mut rusqlite::Statement<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    if values > KEEP_PREPARED_MAX_VALUES {
        f(&mut conn.prepare(sql).map_err(db_err)?)
    } else {
        let mut cached = conn.prepare_cached(sql).map_err(db_err)?;
        f(&mut cached)
    }
}

/// Runs a query on `conn`; at most `limit` rows.
pub fn query(
    conn: &rusqlite::Connection,
    stmt: &Statement,
    limit: Option<usize>,
) -> Result<Vec<Row>, DbError> {
    let params = params(stmt);
    with_prepared(conn, &stmt.sql, params.len(), |prepared| {
        rows_of(prepared, params, limit)
    })
}

fn rows_of(
    prepared: &mut rusqlite::Statement<'_>,
    params: Vec<SqliteValue>,
    limit: Option<usize>,
) -> Result<Vec<Row>, DbError> {
    let names: Arc<[String]> = prepared
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut rows = prepared
        .query(rusqlite::params_from_iter(params))
        .map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let mut values = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            values.push(r.get::<_, SqliteValue>(i).map_err(db_err)?);
        }
        out.push(Row::Sqlite {
            names: names.clone(),
            values,
        });
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(out)
}

/// Runs a statement on `conn`; returns the number of rows changed.
pub fn execute(conn: &rusqlite::Connection, stmt: &Statement) -> Result<u64, DbError> {
    let params = params(stmt);
    if params.is_empty() && !stmt.sql.contains('?') {
        // DDL and other parameterless statements (possibly several).
        conn.execute_batch(&stmt.sql).map_err(db_err)?;
        return Ok(conn.changes());
    }
    with_prepared(conn, &stmt.sql, params.len(), |prepared| {
        prepared
            .execute(rusqlite::params_from_iter(params))
            .map(|n| n as u64)
            .map_err(db_err)
    })
}

type ReadJob = Box<dyn FnOnce(&rusqlite::Connection) + Send>;

/// Reader threads, each with its own read-only connection. A query is one hand-off to
/// a reader and one back, however many rows it returns; several readers let a slow
/// query run beside fast ones.
#[derive(Clone)]
pub struct Readers {
    jobs: flume::Sender<ReadJob>,
}

impl Readers {
    pub fn start(path: &Path, count: usize, caches: Caches) -> Result<Readers, DbError> {
        let (tx, rx) = flume::unbounded::<ReadJob>();
        for i in 0..count {
            let conn = open(path, caches.reader_kib)?;
            conn.execute_batch("PRAGMA query_only = ON;")
                .map_err(db_err)?;
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("db-reader-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        // A panicking query fails alone (its caller sees a dropped
                        // reply); the thread and its connection carry on.
                        let run = std::panic::AssertUnwindSafe(|| job(&conn));
                        if std::panic::catch_unwind(run).is_err() {
                            tracing::error!("a read panicked");
                        }
                    }
                })
                .map_err(|e| DbError::internal("cannot start a reader thread", e))?;
        }
        Ok(Readers { jobs: tx })
    }

    /// Runs `f` on a reader's connection.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.jobs
            .send(job)
            .map_err(|_| DbError::fault("the readers have stopped"))?;
        rx.await
            .map_err(|_| DbError::fault("a reader dropped a query"))?
    }

    pub async fn query(&self, stmt: Statement, limit: Option<usize>) -> Result<Vec<Row>, DbError> {
        self.run(move |conn| query(conn, &stmt, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readers_see_what_the_writer_committed() {
        let dir = std::env::temp_dir().join(format!("db-readers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let w = open_writer(&path, MAIN_CACHES).unwrap();
        w.execute_batch(
            "CREATE TABLE t (a TEXT, b REAL); INSERT INTO t VALUES ('x', 1.5), (NULL, 2);",
        )
        .unwrap();
        let readers = Readers::start(&path, 2, MAIN_CACHES).unwrap();
        let stmt = Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT a, b FROM t WHERE b > ? ORDER BY b",
            [Value::Double(Some(1.0))],
        );
        let rows = readers.query(stmt.clone(), None).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].string("a").unwrap(), "x");
        assert_eq!(rows[1].opt_string("a").unwrap(), None);
        assert_eq!(rows[1].f64("b"), Some(2.0));
        assert_eq!(readers.query(stmt, Some(1)).await.unwrap().len(), 1);
        // Readers cannot write.
        let insert = Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "INSERT INTO t VALUES ('y', 3)",
        );
        let err = readers.run(move |c| execute(c, &insert)).await.unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        // A job that panics fails alone; its reader goes on.
        let readers = Readers::start(&path, 1, MAIN_CACHES).unwrap();
        let panicked = readers
            .run(|_| -> Result<(), DbError> { panic!("boom") })
            .await;
        assert!(panicked.is_err());
        for _ in 0..4 {
            let stmt = Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "SELECT 1 AS x");
            assert_eq!(
                readers.query(stmt, None).await.unwrap()[0]
                    .i64("x")
                    .unwrap(),
                1
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
