//! The engine's error type; the HTTP layer maps each variant to a status in one place.

use crate::db::{DbError, DbErrorKind};
use crate::fields::FieldError;
use crate::filter::FilterError;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400 with per-field details in `data`.
    #[error("{message}")]
    Validation {
        message: String,
        fields: Map<String, Value>,
    },
    /// 400 without field details.
    #[error("{0}")]
    BadRequest(String),
    /// A filter, sort or rule that does not parse or does not resolve.
    #[error("invalid filter: {0}")]
    Filter(#[from] FilterError),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// 409: the request clashes with what exists (a name taken, say).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 402: a payment the request relies on is missing or does not count (yet).
    #[error("{0}")]
    PaymentRequired(String),
    /// 408: the request did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// 429; `retry_after` seconds go into the `Retry-After` header.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// 503: an outside service this needs cannot be reached or is not configured.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// The collection's schema changed between planning a write and running it (the
    /// write is planned again; a 400 if that keeps happening).
    #[error("the collection's schema changed while the write ran")]
    SchemaChanged,
    /// Request `index` (from 0) of a batch failed with `error`; nothing was written.
    #[error("batch request {index} failed: {error}")]
    Batch { index: usize, error: Box<Error> },
    #[error("database error: {0}")]
    Db(#[from] DbError),
    /// 500: a fault of the server, not of the request. `source` keeps the cause for code
    /// that walks the chain; the text shows it too, so every log line has it.
    #[error("{message}{}", cause(.source))]
    Internal {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

/// `: <cause>` after an internal error's message, when it has one.
fn cause(source: &Option<BoxError>) -> String {
    source
        .as_ref()
        .map(|c| format!(": {c}"))
        .unwrap_or_default()
}

/// Any error, as the cause of an [`Error::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Puts `value` at the dotted path `key` (the first error for a path wins).
fn insert_nested(map: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            map.entry(key.to_string()).or_insert(value);
        }
        Some((head, rest)) => {
            let inner = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = inner {
                insert_nested(m, rest, value);
            }
        }
    }
}

impl Error {
    /// A server fault described by `message` alone.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
            source: None,
        }
    }

    /// A server fault: what was being done, and the error that stopped it.
    pub fn internal_from(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Internal {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub fn not_found() -> Self {
        Error::NotFound("The requested resource wasn't found.".into())
    }
    pub fn superusers_only() -> Self {
        Error::Forbidden("Only superusers can perform this action.".into())
    }
    /// A validation error on one field.
    pub fn field(message: impl Into<String>, name: &str, err: FieldError) -> Self {
        Self::fields(message, vec![(name.to_string(), err)])
    }
    /// A validation error built from several field errors. A dotted key nests, as
    /// PocketBase nests them: `fields.1.max` is `{"fields": {"1": {"max": {...}}}}`.
    pub fn fields(message: impl Into<String>, errors: Vec<(String, FieldError)>) -> Self {
        let mut fields = Map::new();
        for (key, e) in errors {
            insert_nested(&mut fields, &key, e.to_json());
        }
        Error::Validation {
            message: message.into(),
            fields,
        }
    }

    /// True when the database says a column or table a write names is not there: the
    /// write was planned against a schema that changed before it ran.
    pub fn is_schema_mismatch(&self) -> bool {
        match self {
            Error::Db(e) => e.kind() == DbErrorKind::MissingSchema,
            Error::SchemaChanged => true,
            Error::Batch { error, .. } => error.is_schema_mismatch(),
            _ => false,
        }
    }

    /// True when the database rejected a row as a duplicate of a unique index.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Db(e) if e.kind() == DbErrorKind::UniqueViolation)
    }
}

/// sea-orm's errors (migrations, PostgreSQL reads) are storage errors too.
impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        Error::Db(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_cause() {
        let e = Error::internal_from("cannot write", std::io::Error::other("disk full"));
        assert_eq!(e.to_string(), "cannot write: disk full");
        let cause = std::error::Error::source(&e).map(|c| c.to_string());
        assert_eq!(cause.as_deref(), Some("disk full"));
        assert_eq!(Error::internal("plain").to_string(), "plain");
    }
}
