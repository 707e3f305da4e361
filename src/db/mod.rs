//! One connection abstraction over SQLite (embedded default) and PostgreSQL (scale-out):
//! a pool of readers plus a group-committing writer queue.

mod tx;
mod writer;

pub use gather_migrations::Migrator;
pub use tx::{Row, WriteTx};
pub use writer::{WriteFn, Writer};

use sea_orm::sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement, Value,
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

    /// The `i`-th (from 1) bind parameter in raw SQL: `?` or `$i`.
    pub fn param(self, i: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
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

/// The database handles of one app: readers for queries, one writer queue for changes.
#[derive(Clone)]
pub struct Db {
    pub dialect: Dialect,
    /// Pool used for reads (and for migrations and DDL on PostgreSQL).
    pub read: DatabaseConnection,
    pub writer: Writer,
}

impl Db {
    pub async fn connect(target: &DbTarget) -> Result<Db, DbErr> {
        match target {
            DbTarget::SqliteDir(dir) => Self::connect_sqlite(dir).await,
            DbTarget::Postgres(url) => Self::connect_postgres(url).await,
        }
    }

    async fn connect_sqlite(dir: &Path) -> Result<Db, DbErr> {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create data dir {}: {e}", dir.display())))?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("data.db").display());
        let read_opts = {
            let mut o = ConnectOptions::new(url.clone());
            o.max_connections(num_readers())
                .min_connections(1)
                .sqlx_logging(false)
                .acquire_timeout(Duration::from_secs(30))
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>)
                .map_sqlx_sqlite_opts(|o| {
                    use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                        .pragma("temp_store", "MEMORY")
                        .pragma("cache_size", "-8000")
                        .pragma("mmap_size", "268435456")
                        .pragma("journal_size_limit", "200000000")
                        .statement_cache_capacity(256)
                });
            o
        };
        // The writer's own connection is opened first, so WAL mode is set before readers attach.
        let writer = Writer::start_sqlite(open_sqlite_writer(&dir.join("data.db"))?)
            .map_err(|e| DbErr::Custom(format!("cannot start the writer thread: {e}")))?;
        let read = Database::connect(read_opts).await?;
        Ok(Db {
            dialect: Dialect::Sqlite,
            read,
            writer,
        })
    }

    async fn connect_postgres(url: &str) -> Result<Db, DbErr> {
        let url = &loopback_without_tls(url);
        // No statement cache: a cached plan fails once a schema change alters a column's
        // type ("cached plan must not change result type"), and tables change at runtime.
        let opts = |max: u32| {
            let mut o = ConnectOptions::new(url.to_string());
            o.max_connections(max)
                .min_connections(1)
                .sqlx_logging(false)
                .acquire_timeout(Duration::from_secs(30))
                .map_sqlx_postgres_opts(|o| o.statement_cache_capacity(0));
            o
        };
        // Several writer tasks: PostgreSQL handles concurrent writers; each still group-commits.
        let (read, writers) = futures::join!(
            Database::connect(opts(16)),
            futures::future::try_join_all((0..4).map(|_| Database::connect(opts(1))))
        );
        let (read, writers) = (read?, writers?);
        Ok(Db {
            dialect: Dialect::Postgres,
            read,
            writer: Writer::start_postgres(writers),
        })
    }

    /// Runs `f` inside the writer's transaction; see [`Writer::write`].
    pub async fn write<T: Send + 'static>(&self, f: WriteFn<T>) -> Result<T, crate::core::Error> {
        self.writer.write(f).await
    }

    /// Runs one statement through the writer; returns the number of rows changed.
    pub async fn execute(&self, stmt: Statement) -> Result<u64, crate::core::Error> {
        self.write(Box::new(move |tx| {
            let stmt = stmt.clone();
            Box::pin(async move { Ok(tx.execute(stmt).await?) })
        }))
        .await
    }

    /// Runs one statement on the read pool, outside the writer's group commits (for
    /// bookkeeping no write waits on, such as `pg_notify`).
    pub async fn read_execute(&self, stmt: Statement) -> Result<u64, DbErr> {
        use sea_orm::ConnectionTrait;
        Ok(self.read.execute_raw(stmt).await?.rows_affected())
    }

    pub async fn query_all(&self, stmt: Statement) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.read.query_all_raw(stmt).await
    }

    pub async fn query_one(&self, stmt: Statement) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        self.read.query_one_raw(stmt).await
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

/// The one read-write SQLite connection, with the pragmas every connection gets.
fn open_sqlite_writer(path: &Path) -> Result<rusqlite::Connection, DbErr> {
    let err = |e: rusqlite::Error| DbErr::Custom(format!("cannot open {}: {e}", path.display()));
    let conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000; PRAGMA journal_size_limit = 200000000;",
    )
    .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn num_readers() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32 * 2)
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
