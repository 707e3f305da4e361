//! One row of a query result, whichever engine produced it, with typed getters.

use super::error::DbError;
use sea_orm::QueryResult;
use serde_json::Value as Json;
use std::sync::Arc;

/// A SQLite value as read (rusqlite's owned value).
pub type SqliteValue = rusqlite::types::Value;

/// One row. SQLite rows are read by rusqlite (column names shared by all rows of a
/// result); PostgreSQL rows are sea-orm's.
pub enum Row {
    Sqlite {
        names: Arc<[String]>,
        values: Vec<SqliteValue>,
    },
    Postgres(QueryResult),
}

fn missing(col: &str) -> DbError {
    DbError::other(format!("no column {col}"))
}

impl Row {
    /// The SQLite value of `col` (`None`: no such column, or a PostgreSQL row).
    fn sqlite_value(&self, col: &str) -> Option<&SqliteValue> {
        match self {
            Row::Sqlite { names, values } => names
                .iter()
                .position(|n| n == col)
                .and_then(|i| values.get(i)),
            Row::Postgres(_) => None,
        }
    }

    fn sqlite(&self, col: &str) -> Result<&SqliteValue, DbError> {
        self.sqlite_value(col).ok_or_else(|| missing(col))
    }

    /// A text column; NULL reads as `None`, numbers as their text.
    pub fn opt_string(&self, col: &str) -> Result<Option<String>, DbError> {
        match self {
            Row::Postgres(r) => Ok(r.try_get::<Option<String>>("", col)?),
            Row::Sqlite { .. } => Ok(match self.sqlite(col)? {
                SqliteValue::Null => None,
                SqliteValue::Text(s) => Some(s.clone()),
                SqliteValue::Integer(n) => Some(n.to_string()),
                SqliteValue::Real(f) => Some(f.to_string()),
                SqliteValue::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
            }),
        }
    }

    /// A text column; NULL reads as the empty string.
    pub fn string(&self, col: &str) -> Result<String, DbError> {
        Ok(self.opt_string(col)?.unwrap_or_default())
    }

    pub fn i64(&self, col: &str) -> Result<i64, DbError> {
        match self {
            Row::Postgres(r) => Ok(r.try_get::<i64>("", col)?),
            Row::Sqlite { .. } => match self.sqlite(col)? {
                SqliteValue::Integer(n) => Ok(*n),
                SqliteValue::Real(f) => Ok(*f as i64),
                _ => Err(DbError::other(format!("column {col} is not an integer"))),
            },
        }
    }

    /// A number column as a float (`None` when NULL or not a number).
    pub fn f64(&self, col: &str) -> Option<f64> {
        match self {
            Row::Postgres(r) => {
                if let Ok(Some(n)) = r.try_get::<Option<f64>>("", col) {
                    return Some(n);
                }
                if let Ok(Some(n)) = r.try_get::<Option<i64>>("", col) {
                    return Some(n as f64);
                }
                r.try_get::<Option<i32>>("", col)
                    .ok()
                    .flatten()
                    .map(f64::from)
            }
            Row::Sqlite { .. } => match self.sqlite_value(col)? {
                SqliteValue::Integer(n) => Some(*n as f64),
                SqliteValue::Real(f) => Some(*f),
                _ => None,
            },
        }
    }

    /// A boolean column (SQLite keeps them as integers); `None` when NULL.
    pub fn opt_bool(&self, col: &str) -> Option<bool> {
        match self {
            Row::Postgres(r) => match r.try_get::<Option<bool>>("", col) {
                Ok(b) => b,
                Err(_) => r
                    .try_get::<Option<i64>>("", col)
                    .ok()
                    .flatten()
                    .map(|n| n != 0),
            },
            Row::Sqlite { .. } => match self.sqlite_value(col)? {
                SqliteValue::Integer(n) => Some(*n != 0),
                SqliteValue::Real(f) => Some(*f != 0.0),
                _ => None,
            },
        }
    }

    pub fn bool(&self, col: &str) -> Result<bool, DbError> {
        self.opt_bool(col)
            .ok_or_else(|| DbError::other(format!("column {col} is not a boolean")))
    }

    /// A JSON column: JSONB on PostgreSQL, text (or a bare number) on SQLite. Text
    /// that is not JSON reads as a JSON string; NULL as `None`.
    pub fn json(&self, col: &str) -> Option<Json> {
        match self {
            Row::Postgres(r) => {
                if let Ok(v) = r.try_get::<Option<Json>>("", col) {
                    return v;
                }
                r.try_get::<Option<String>>("", col)
                    .ok()
                    .flatten()
                    .map(|s| serde_json::from_str(&s).unwrap_or(Json::String(s)))
            }
            Row::Sqlite { .. } => match self.sqlite_value(col)? {
                SqliteValue::Null => None,
                SqliteValue::Text(s) => {
                    Some(serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone())))
                }
                // A top-level number is stored as an integer or a real: keep which.
                SqliteValue::Integer(n) => Some(Json::from(*n)),
                SqliteValue::Real(f) => serde_json::Number::from_f64(*f).map(Json::Number),
                SqliteValue::Blob(b) => serde_json::from_slice(b).ok(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row::Sqlite {
            names: vec!["t".into(), "n".into(), "r".into(), "z".into(), "j".into()].into(),
            values: vec![
                SqliteValue::Text("hi".into()),
                SqliteValue::Integer(3),
                SqliteValue::Real(1.5),
                SqliteValue::Null,
                SqliteValue::Text("{\"a\":1}".into()),
            ],
        }
    }

    #[test]
    fn sqlite_getters() {
        let r = row();
        assert_eq!(r.string("t").unwrap(), "hi");
        assert_eq!(r.string("z").unwrap(), "");
        assert_eq!(r.opt_string("z").unwrap(), None);
        assert_eq!(r.i64("n").unwrap(), 3);
        assert_eq!(r.f64("r"), Some(1.5));
        assert_eq!(r.f64("t"), None);
        assert!(r.bool("n").unwrap());
        assert!(r.bool("t").is_err());
        assert_eq!(r.json("j"), Some(serde_json::json!({"a": 1})));
        assert_eq!(r.json("t"), Some(Json::String("hi".into())));
        assert_eq!(r.json("z"), None);
        assert!(r.string("nope").is_err());
    }
}
