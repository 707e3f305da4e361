//! Storage: one connection abstraction over SQLite (embedded default) and PostgreSQL
//! (scale-out), a pool of readers plus a group-committing writer queue. Apps may read
//! with their own queries ([`Db::query_all`]) and run their own statements in one write
//! transaction ([`Db::write`]) for set-based work; records are written through records.

mod checkpoint;
mod error;
mod row;
mod sqlite;
mod stages;
mod statements;
mod tx;
mod writer;

pub mod system_migrations;
pub use error::{DbError, DbErrorKind};
pub use row::Row;
/// What an app's own statements are made of ([`Dialect::raw`]).
pub use sea_orm::{Statement, Value as SqlValue};
pub use stages::{StageFigures, WriteStages};
pub use tx::WriteTx;
pub use writer::WriteFn;
pub(crate) use writer::Writer;

use sea_orm::sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Value,
};
use std::path::Path;
use std::time::Duration;

/// The SQL dialect in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn backend(self) -> DatabaseBackend {
        match self {
            Dialect::Sqlite => DatabaseBackend::Sqlite,
            Dialect::Postgres => DatabaseBackend::Postgres,
        }
    }

    /// Renders a sea-query statement with bound values for this dialect.
    pub fn build<S: QueryStatementWriter>(self, stmt: &S) -> Statement {
        let (sql, values) = match self {
            Dialect::Sqlite => stmt.build(SqliteQueryBuilder),
            Dialect::Postgres => stmt.build(PostgresQueryBuilder),
        };
        Statement::from_sql_and_values(self.backend(), sql, values)
    }

    /// The `i`-th (from 1) bind parameter in raw SQL: `?i` or `$i` (numbered on both
    /// engines, so one value may be used twice).
    pub fn param(self, i: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{i}"),
            Dialect::Postgres => format!("${i}"),
        }
    }

    /// A raw statement; `sql` must only contain names that came from the schema.
    pub fn raw(self, sql: impl Into<String>, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), sql, values)
    }
}

/// Quotes an identifier for both dialects (`"name"`, with `"` doubled).
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DbTarget {
    /// The SQLite file `data.db` in this directory.
    SqliteDir(std::path::PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

/// Opens `path` and waits for an exclusive lock on it (released when the file closes).
async fn lock_file(path: std::path::PathBuf) -> Result<std::fs::File, DbError> {
    let locked = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        f.lock()?;
        Ok(f)
    })
    .await
    .map_err(|e| DbError::internal("the migration lock task", e))?;
    locked.map_err(|e| DbError::internal("cannot lock for migrations", e))
}

/// Beside a SQLite database: locked while a process migrates it.
const MIGRATION_LOCK_FILE: &str = "migrate.lock";

/// The SQLite files in the data directory: records and the rest, and the logs.
const MAIN_FILE: &str = "data.db";
const AUXILIARY_FILE: &str = "auxiliary.db";

/// The auxiliary file's tables: the logs, as the system migration makes them in the
/// main database (PostgreSQL's, and SQLite's before they moved).
const AUXILIARY_TABLES: &str = "CREATE TABLE IF NOT EXISTS \"_logs\" (\
     \"id\" TEXT NOT NULL PRIMARY KEY, \"level\" INTEGER NOT NULL DEFAULT 0, \
     \"message\" TEXT NOT NULL DEFAULT '', \"data\" TEXT NOT NULL DEFAULT '{}', \
     \"created\" TEXT NOT NULL DEFAULT ''); \
     CREATE INDEX IF NOT EXISTS \"idx_logs_created\" ON \"_logs\" (\"created\")";

/// The advisory lock key of migrations (six ASCII letters; instances of every version on
/// one database must use the same one).
const MIGRATION_LOCK_KEY: i64 = 0x6761_7468_6572;

/// The database handles of one app: readers for queries, one writer queue for changes.
#[derive(Clone)]
pub struct Db {
    pub dialect: Dialect,
    /// sea-orm's connection: migrations on both engines, and every read on PostgreSQL.
    pub(crate) sea: DatabaseConnection,
    /// SQLite's reader threads (reads on PostgreSQL go through `sea`).
    sqlite_readers: Option<sqlite::Readers>,
    pub(crate) writer: Writer,
    /// SQLite: the file whose lock serialises migrations of processes sharing the database.
    lock_file: Option<std::path::PathBuf>,
    /// PostgreSQL: the schema epoch in every statement's text (see `statements`).
    epoch: statements::Epoch,
}

impl Db {
    pub async fn connect(target: &DbTarget) -> Result<Db, DbError> {
        match target {
            DbTarget::SqliteDir(dir) => {
                Self::connect_sqlite(dir, MAIN_FILE, num_readers(), sqlite::MAIN_CACHES).await
            }
            DbTarget::Postgres(url) => Self::connect_postgres(url).await,
        }
    }

    /// The auxiliary database (see [`crate::filter::Store::Auxiliary`]): on SQLite the
    /// file `auxiliary.db` beside `data.db`, with its writer, one reader and the tables
    /// it holds; on PostgreSQL none (the main database holds those tables).
    pub(crate) async fn connect_auxiliary(target: &DbTarget) -> Result<Option<Db>, DbError> {
        let DbTarget::SqliteDir(dir) = target else {
            return Ok(None);
        };
        let db = Self::connect_sqlite(dir, AUXILIARY_FILE, 1, sqlite::AUXILIARY_CACHES).await?;
        db.execute(db.dialect.raw(AUXILIARY_TABLES, Vec::new()))
            .await?;
        // What a version before kept in the main file moves here, once.
        let (main, aux) = (dir.join(MAIN_FILE), dir.join(AUXILIARY_FILE));
        let moved = tokio::task::spawn_blocking(move || sqlite::move_logs(&main, &aux))
            .await
            .map_err(|e| DbError::internal("the log move task", e))??;
        if moved > 0 {
            tracing::info!(moved, "logs moved to {AUXILIARY_FILE}");
        }
        Ok(Some(db))
    }

    async fn connect_sqlite(
        dir: &Path,
        file: &str,
        readers: usize,
        caches: sqlite::Caches,
    ) -> Result<Db, DbError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbError::internal(format!("cannot create data dir {}", dir.display()), e)
        })?;
        let path = dir.join(file);
        // The writer's own connection is opened first, so WAL mode is set before readers attach.
        let writer = Writer::start_sqlite(sqlite::open_writer(&path, caches)?, &path)?;
        let readers = sqlite::Readers::start(&path, readers, caches)?;
        // sea-orm's own connection is only for migrations: one, closed when idle.
        let mut o = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
        o.max_connections(1)
            .min_connections(0)
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(30))
            .idle_timeout(Duration::from_secs(10))
            .map_sqlx_sqlite_opts(|o| {
                use sea_orm::sqlx::sqlite::SqliteSynchronous;
                o.synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        let sea = Database::connect(o).await?;
        Ok(Db {
            dialect: Dialect::Sqlite,
            sea,
            sqlite_readers: Some(readers),
            writer,
            lock_file: Some(dir.join(MIGRATION_LOCK_FILE)),
            epoch: statements::Epoch::default(),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Db, DbError> {
        let url = &loopback_without_tls(url);
        // Statements stay prepared per connection; `statements` says how a schema change
        // lets them go.
        let opts = |max: u32| {
            let mut o = ConnectOptions::new(url.to_string());
            o.max_connections(max)
                .min_connections(1)
                .sqlx_logging(false)
                .acquire_timeout(Duration::from_secs(30))
                .map_sqlx_postgres_opts(|o| {
                    o.statement_cache_capacity(statements::CACHED_PER_CONNECTION)
                });
            o
        };
        // Several writer tasks: PostgreSQL handles concurrent writers; each still group-commits.
        let (sea, writers) = futures::join!(
            Database::connect(opts(16)),
            futures::future::try_join_all((0..4).map(|_| Database::connect(opts(1))))
        );
        let (sea, writers) = (sea?, writers?);
        let epoch = statements::Epoch::default();
        Ok(Db {
            dialect: Dialect::Postgres,
            sea,
            sqlite_readers: None,
            writer: Writer::start_postgres(writers, epoch.clone()),
            lock_file: None,
            epoch,
        })
    }

    /// Runs `work` while holding the database-wide migration lock, so instances that
    /// start together apply system and code migrations one after the other (the later
    /// ones find them applied): on PostgreSQL a session advisory lock on a connection of
    /// its own, on SQLite an exclusive lock on a file beside the database.
    pub(crate) async fn with_migration_lock<T, E, F>(&self, work: F) -> Result<T, E>
    where
        E: From<DbError>,
        F: std::future::Future<Output = Result<T, E>>,
    {
        if let Some(path) = &self.lock_file {
            let held = lock_file(path.clone()).await?;
            let out = work.await;
            drop(held);
            return out;
        }
        use sea_orm::sqlx;
        let pool = self.sea.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| DbError::internal("cannot get a connection for the migration lock", e))?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await
            .map_err(|e| DbError::internal("cannot take the migration lock", e))?;
        let out = work.await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // A connection that may still hold the lock must not go back to the pool.
            conn.detach();
        }
        out
    }

    /// Runs `f` inside a write transaction and answers once it has committed; if `f`
    /// fails, none of its changes are kept. `f` may run twice (a group that fails is
    /// replayed job by job), so it must only read and write through `tx`. For an app's
    /// set-based statements: record hooks and realtime do not see such writes.
    pub async fn write<T, E>(&self, f: WriteFn<T, E>) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Where this instance's writes spent their time in the writer queue, per stage.
    pub fn write_stages(&self) -> WriteStages {
        self.writer.stages()
    }

    /// Changes whenever a write may have been committed through this instance.
    pub(crate) fn write_generation(&self) -> u64 {
        self.writer.generation()
    }

    /// Runs one statement through the writer; returns the number of rows changed. For an
    /// app's own tables and maintenance: record hooks and realtime do not see such writes.
    pub async fn execute(&self, stmt: Statement) -> Result<u64, DbError> {
        self.write(Box::new(move |tx| {
            let stmt = stmt.clone();
            Box::pin(async move { tx.execute(stmt).await })
        }))
        .await
    }

    /// Statements prepared before now are not used again: the schema may have changed
    /// (called on every schema reload).
    pub(crate) fn forget_prepared(&self) {
        self.epoch.advance();
    }

    /// Runs one statement on PostgreSQL's read pool, outside the writer's group commits
    /// (for bookkeeping no write waits on, such as `pg_notify`).
    pub(crate) async fn read_execute(&self, stmt: Statement) -> Result<u64, DbError> {
        self.on_postgres(stmt, async |sea, stmt| {
            Ok(sea.execute_raw(stmt).await?.rows_affected())
        })
        .await
    }

    pub async fn query_all(&self, stmt: Statement) -> Result<Vec<Row>, DbError> {
        match &self.sqlite_readers {
            Some(readers) => readers.query(stmt, None).await,
            None => {
                self.on_postgres(stmt, async |sea, stmt| {
                    let rows = sea.query_all_raw(stmt).await?;
                    Ok(rows.into_iter().map(Row::Postgres).collect())
                })
                .await
            }
        }
    }

    pub async fn query_one(&self, stmt: Statement) -> Result<Option<Row>, DbError> {
        match &self.sqlite_readers {
            Some(readers) => Ok(readers.query(stmt, Some(1)).await?.pop()),
            None => {
                self.on_postgres(stmt, async |sea, stmt| {
                    Ok(sea.query_one_raw(stmt).await?.map(Row::Postgres))
                })
                .await
            }
        }
    }

    /// Runs `stmt` on the read pool in this epoch's text, and once more in the next
    /// epoch's when the schema no longer fits it (a plan prepared before a change made
    /// by another instance; a table really gone fails the same way twice).
    async fn on_postgres<T, F>(&self, stmt: Statement, run: F) -> Result<T, DbError>
    where
        F: AsyncFn(&DatabaseConnection, Statement) -> Result<T, DbError>,
    {
        let first = run(&self.sea, self.epoch.mark(stmt.clone())).await;
        if self.epoch.advance_on_mismatch(&first) {
            return run(&self.sea, self.epoch.mark(stmt)).await;
        }
        first
    }
}

/// A PostgreSQL URL on this machine with no `sslmode` gets `sslmode=disable`: TLS to
/// loopback protects nothing, and trying it costs ~90 ms per new connection. Remote
/// servers keep the driver's default; ask for `sslmode=require` explicitly.
fn loopback_without_tls(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return raw.to_string();
    };
    let local = matches!(
        url.host_str(),
        None | Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if local && !url.query_pairs().any(|(k, _)| k == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.to_string()
}

fn num_readers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .clamp(2, 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn loopback_urls_skip_tls() {
        assert_eq!(
            loopback_without_tls("postgres://u@127.0.0.1:5432/db"),
            "postgres://u@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            loopback_without_tls("postgres://u@localhost/db?x=1"),
            "postgres://u@localhost/db?x=1&sslmode=disable"
        );
        assert_eq!(
            loopback_without_tls("postgres://u@127.0.0.1/db?sslmode=require"),
            "postgres://u@127.0.0.1/db?sslmode=require"
        );
        assert_eq!(
            loopback_without_tls("postgres://u@db.example.com/db"),
            "postgres://u@db.example.com/db"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a"), "\"a\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
