//! Converting between a record's JSON values and database columns, per field storage
//! and dialect: what to bind on write, how to read a row back.

use crate::collections::model::auth_fields::{PASSWORD, TOKEN_KEY};
use crate::db::{Dialect, Row};
use crate::error::{Error, Result};
use crate::fields::{Field, Storage};
use crate::filter::Table;
use sea_orm::Value as SqlValue;
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
pub fn from_row(row: &Row, f: &Field) -> Value {
    let col = f.name.as_str();
    let value = match f.storage() {
        Storage::Text => row.opt_string(col).ok().flatten().map(Value::String),
        Storage::Number => row.f64(col).map(crate::fields::number_json_value),
        Storage::Bool => row.opt_bool(col).map(Value::Bool),
        Storage::Json | Storage::JsonArray | Storage::GeoPoint => row.json(col),
    };
    value.unwrap_or_else(|| f.zero())
}

/// A whole record from a row: every readable field plus `collectionId`/`collectionName`.
/// Write-only fields (passwords) and, for auth collections, `tokenKey` are never included.
pub fn record_from_row(row: &Row, c: &dyn Table) -> Map<String, Value> {
    let mut m = Map::with_capacity(c.fields().len() + 2);
    m.insert(
        "collectionId".into(),
        Value::String(c.table_id().to_string()),
    );
    m.insert(
        "collectionName".into(),
        Value::String(c.table_name().to_string()),
    );
    for f in c.fields() {
        if f.is_write_only() {
            continue;
        }
        m.insert(f.name.clone(), from_row(row, f));
    }
    m
}

/// The stored password hash and token key of an auth record row.
pub fn auth_secrets(row: &Row) -> Result<(String, String)> {
    let hash = row.string(PASSWORD).map_err(Error::from)?;
    let key = row.string(TOKEN_KEY).map_err(Error::from)?;
    Ok((hash, key))
}
