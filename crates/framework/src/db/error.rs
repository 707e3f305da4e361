//! Storage errors, classified by what the engines report (SQLite's extended result
//! codes, PostgreSQL's SQLSTATE), so the engine above reacts to a kind, not to a text.

use sea_orm::{DbErr, RuntimeErr};
use std::ops::Deref;

/// The causes the engine treats on purpose; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A row duplicates a unique index or primary key.
    UniqueViolation,
    /// A row refers to a missing row, or a referenced row is still referred to.
    ForeignKeyViolation,
    /// A table or column the statement names is not there (the schema changed since the
    /// statement was built), or a prepared plan no longer fits it.
    MissingSchema,
    /// A fault of this process (a writer thread gone, a lock not taken).
    Internal,
    Other,
}

/// An error from the database or from the layer that talks to it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    kind: DbErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DbError {
    pub fn kind(&self) -> DbErrorKind {
        self.kind
    }

    /// A fault of this process, with the error that caused it (shown after the message,
    /// so every log line has it, and kept as the source).
    pub(crate) fn internal(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let source = source.into();
        DbError {
            kind: DbErrorKind::Internal,
            message: format!("{}: {source}", message.into()),
            source: Some(source),
        }
    }

    /// A fault of this process that has no underlying error.
    pub(crate) fn fault(message: impl Into<String>) -> Self {
        DbError {
            kind: DbErrorKind::Internal,
            message: message.into(),
            source: None,
        }
    }

    /// A value that does not fit what the caller asked for (a column's type).
    pub(crate) fn other(message: impl Into<String>) -> Self {
        DbError {
            kind: DbErrorKind::Other,
            message: message.into(),
            source: None,
        }
    }
}

/// PostgreSQL's SQLSTATE classes and codes the engine reacts to.
fn postgres_kind(sqlstate: &str) -> DbErrorKind {
    match sqlstate {
        "23505" => DbErrorKind::UniqueViolation,
        "23503" => DbErrorKind::ForeignKeyViolation,
        // undefined_table, undefined_column, and feature_not_supported, which is what
        // "cached plan must not change result type" is after an ALTER TABLE.
        "42P01" | "42703" | "0A000" => DbErrorKind::MissingSchema,
        _ => DbErrorKind::Other,
    }
}

/// SQLite: constraints by extended result code; a missing table or column has no code
/// of its own (it is a plain SQLITE_ERROR), so its message is the only sign.
fn sqlite_kind(extended_code: i32, message: &str) -> DbErrorKind {
    const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;
    const SQLITE_CONSTRAINT_PRIMARYKEY: i32 = 1555;
    const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
    const SQLITE_ERROR: i32 = 1;
    match extended_code {
        SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => DbErrorKind::UniqueViolation,
        SQLITE_CONSTRAINT_FOREIGNKEY => DbErrorKind::ForeignKeyViolation,
        SQLITE_ERROR
            if message.contains("no such table")
                || message.contains("no such column")
                || message.contains("has no column named") =>
        {
            DbErrorKind::MissingSchema
        }
        _ => DbErrorKind::Other,
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, msg) => {
                sqlite_kind(f.extended_code, msg.as_deref().unwrap_or_default())
            }
            _ => DbErrorKind::Other,
        };
        DbError {
            kind,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

impl From<DbErr> for DbError {
    fn from(e: DbErr) -> Self {
        let kind = match &e {
            DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
                match x.deref() {
                    sea_orm::sqlx::Error::Database(d) => match d.code() {
                        Some(code)
                            if d.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                                .is_some() =>
                        {
                            postgres_kind(&code)
                        }
                        Some(code) => sqlite_kind(code.parse().unwrap_or_default(), d.message()),
                        None => DbErrorKind::Other,
                    },
                    _ => DbErrorKind::Other,
                }
            }
            _ => DbErrorKind::Other,
        };
        DbError {
            kind,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_constraints_are_known_by_their_codes() {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE p (id TEXT PRIMARY KEY, u TEXT UNIQUE);
             CREATE TABLE c (id TEXT PRIMARY KEY, p TEXT REFERENCES p(id));
             INSERT INTO p VALUES ('a', 'x');",
        )
        .expect("schema");
        let kind = |sql: &str| DbError::from(conn.execute(sql, []).expect_err(sql)).kind();
        assert_eq!(
            kind("INSERT INTO p VALUES ('b', 'x')"),
            DbErrorKind::UniqueViolation
        );
        assert_eq!(
            kind("INSERT INTO p VALUES ('a', 'y')"),
            DbErrorKind::UniqueViolation
        );
        assert_eq!(
            kind("INSERT INTO c VALUES ('c', 'zz')"),
            DbErrorKind::ForeignKeyViolation
        );
        assert_eq!(
            kind("INSERT INTO nope VALUES (1)"),
            DbErrorKind::MissingSchema
        );
        assert_eq!(
            kind("INSERT INTO p (nope) VALUES (1)"),
            DbErrorKind::MissingSchema
        );
        assert_eq!(kind("SELECT nope FROM p"), DbErrorKind::MissingSchema);
        assert_eq!(kind("INSERT INTO"), DbErrorKind::Other);
    }

    #[test]
    fn postgres_states_map_to_kinds() {
        assert_eq!(postgres_kind("23505"), DbErrorKind::UniqueViolation);
        assert_eq!(postgres_kind("23503"), DbErrorKind::ForeignKeyViolation);
        assert_eq!(postgres_kind("42P01"), DbErrorKind::MissingSchema);
        assert_eq!(postgres_kind("42703"), DbErrorKind::MissingSchema);
        assert_eq!(postgres_kind("0A000"), DbErrorKind::MissingSchema);
        assert_eq!(postgres_kind("22P02"), DbErrorKind::Other);
    }
}
