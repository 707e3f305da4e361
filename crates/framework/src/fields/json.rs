//! `json`: any JSON value up to a size limit.

use super::{FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const DEFAULT_MAX_SIZE: usize = 1 << 20;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct JsonField {
    pub max_size: usize,
}

impl FieldType for JsonField {
    fn storage(&self) -> Storage {
        Storage::Json
    }
    fn zero(&self) -> Value {
        Value::Null
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let empty = match input {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if required && empty {
            return Err(FieldError::required());
        }
        let size = serde_json::to_string(input).map(|s| s.len()).unwrap_or(0);
        let max = if self.max_size == 0 {
            DEFAULT_MAX_SIZE
        } else {
            self.max_size
        };
        if size > max {
            return Err(FieldError::new(
                "validation_json_size_limit",
                format!("The maximum allowed JSON size is {max} bytes."),
            )
            .with_params(json!({"maxSize": max})));
        }
        Ok(canonical(input))
    }
}

/// A whole-number float at the top level becomes an integer: SQLite stores such a column
/// value as an integer, and what is answered must be what reads back.
fn canonical(input: &Value) -> Value {
    match input.as_f64() {
        Some(n) if input.is_f64() && n.fract() == 0.0 && n.abs() < 9.2e18 => json!(n as i64),
        _ => input.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn values_and_limit() {
        let f = JsonField { max_size: 10 };
        assert_eq!(
            f.prepare(&json!({"k":[1]}), false).unwrap(),
            json!({"k":[1]})
        );
        assert_eq!(
            f.prepare(&json!({"k":"0123456789"}), false)
                .unwrap_err()
                .code,
            "validation_json_size_limit"
        );
        assert_eq!(
            f.prepare(&json!(null), true).unwrap_err().code,
            "validation_required"
        );
        assert_eq!(f.prepare(&json!(5.0), false).unwrap(), json!(5));
        assert_eq!(f.prepare(&json!([5.0]), false).unwrap(), json!([5.0]));
        assert_eq!(f.prepare(&json!(1e300), false).unwrap(), json!(1e300));
    }
}
