//! `bool`: true/false; forms may send "true"/"false"/"1"/"0"/"on".

use super::{FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BoolField {}

impl FieldType for BoolField {
    fn storage(&self) -> Storage {
        Storage::Bool
    }
    fn zero(&self) -> Value {
        Value::Bool(false)
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let b = match input {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) if n.as_f64() == Some(1.0) => true,
            Value::Number(n) if n.as_f64() == Some(0.0) => false,
            Value::String(s) => match s.as_str() {
                "true" | "1" | "on" => true,
                "false" | "0" | "" => false,
                _ => return Err(FieldError::invalid_type("a boolean")),
            },
            _ => return Err(FieldError::invalid_type("a boolean")),
        };
        // PocketBase: a required bool must be true.
        if required && !b {
            return Err(FieldError::required());
        }
        Ok(Value::Bool(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn forms_and_required() {
        let f = BoolField {};
        assert_eq!(f.prepare(&json!("true"), false).unwrap(), json!(true));
        assert_eq!(f.prepare(&json!(0), false).unwrap(), json!(false));
        assert_eq!(
            f.prepare(&json!("yes"), false).unwrap_err().code,
            "validation_invalid_type"
        );
        assert_eq!(
            f.prepare(&json!(false), true).unwrap_err().code,
            "validation_required"
        );
    }
}
