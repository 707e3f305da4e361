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
        Ok(input.clone())
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
    }
}
