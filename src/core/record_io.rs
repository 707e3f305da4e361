//! Converting between a record's JSON values and database columns, per field storage
//! and dialect: what to bind on write, how to read a row back.

use super::collection::Collection;
use super::error::{Error, Result};
use super::fields::{Field, Storage};
use crate::db::Dialect;
use sea_orm::{QueryResult, Value as SqlValue};
use serde_json::{Map, Value};

/// The value to bind for `v` in a column of this storage.
pub fn to_sql(storage: Storage, v: &Value, d: Dialect) -> SqlValue {
    match storage {
        Storage::Text => SqlValue::String(Some(match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })),
        Storage::Number => SqlValue::Double(Some(v.as_f64().unwrap_or(0.0))),
        Storage::Bool => SqlValue::Bool(Some(v.as_bool().unwrap_or(false))),
        Storage::Json | Storage::JsonArray | Storage::GeoPoint => {
            let empty = v.is_null() && storage == Storage::Json;
            match d {
                Dialect::Sqlite => SqlValue::String(if empty { None } else { Some(v.to_string()) }),
                Dialect::Postgres => SqlValue::Json(if empty {
                    None
                } else {
                    Some(Box::new(v.clone()))
                }),
            }
        }
    }
}

/// Reads one field of a row; a NULL or unreadable value becomes the field's zero value.
pub fn from_row(row: &QueryResult, f: &Field, d: Dialect) -> Value {
    let col = f.name.as_str();
    let zero = || f.zero();
    match f.storage() {
        Storage::Text => match row.try_get::<Option<String>>("", col) {
            Ok(Some(s)) => Value::String(s),
            _ => zero(),
        },
        Storage::Number => read_number(row, col)
            .map(super::fields::number_json_value)
            .unwrap_or_else(zero),
        Storage::Bool => match row.try_get::<Option<bool>>("", col) {
            Ok(Some(b)) => Value::Bool(b),
            _ => match row.try_get::<Option<i64>>("", col) {
                Ok(Some(n)) => Value::Bool(n != 0),
                _ => zero(),
            },
        },
        Storage::Json | Storage::JsonArray | Storage::GeoPoint => {
            read_json(row, col, d).unwrap_or_else(zero)
        }
    }
}

pub(crate) fn read_number(row: &QueryResult, col: &str) -> Option<f64> {
    if let Ok(Some(n)) = row.try_get::<Option<f64>>("", col) {
        return Some(n);
    }
    if let Ok(Some(n)) = row.try_get::<Option<i64>>("", col) {
        return Some(n as f64);
    }
    if let Ok(Some(n)) = row.try_get::<Option<i32>>("", col) {
        return Some(n as f64);
    }
    None
}

fn read_json(row: &QueryResult, col: &str, d: Dialect) -> Option<Value> {
    if d == Dialect::Postgres {
        if let Ok(v) = row.try_get::<Option<Value>>("", col) {
            return v;
        }
    }
    match row.try_get::<Option<String>>("", col) {
        Ok(Some(s)) => return Some(serde_json::from_str(&s).unwrap_or(Value::String(s))),
        Ok(None) => return None,
        Err(_) => {}
    }
    // A top-level number is stored by SQLite as an integer or a real: keep which.
    if let Ok(Some(n)) = row.try_get::<Option<i64>>("", col) {
        return Some(Value::from(n));
    }
    if let Ok(Some(n)) = row.try_get::<Option<f64>>("", col) {
        return serde_json::Number::from_f64(n).map(Value::Number);
    }
    row.try_get::<Option<bool>>("", col)
        .ok()
        .flatten()
        .map(Value::Bool)
}

/// A whole record from a row: every readable field plus `collectionId`/`collectionName`.
/// Write-only fields (passwords) and, for auth collections, `tokenKey` are never included.
pub fn record_from_row(row: &QueryResult, c: &Collection, d: Dialect) -> Map<String, Value> {
    let mut m = Map::with_capacity(c.fields.len() + 2);
    m.insert("collectionId".into(), Value::String(c.id.clone()));
    m.insert("collectionName".into(), Value::String(c.name.clone()));
    for f in &c.fields {
        if f.is_write_only() {
            continue;
        }
        m.insert(f.name.clone(), from_row(row, f, d));
    }
    m
}

/// The stored password hash and token key of an auth record row.
pub fn auth_secrets(row: &QueryResult) -> Result<(String, String)> {
    let hash: String = row.try_get("", "password").map_err(Error::from)?;
    let key: String = row.try_get("", "tokenKey").map_err(Error::from)?;
    Ok((hash, key))
}
