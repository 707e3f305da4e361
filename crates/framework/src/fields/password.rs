//! `password`: write-only; stored as an argon2id hash, never returned.

use super::{as_text, check_text, FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordField {
    pub min: usize,
    pub max: usize,
    pub pattern: String,
    /// Kept for PocketBase schema compatibility (bcrypt cost); argon2 parameters live in settings.
    pub cost: u32,
}

impl FieldType for PasswordField {
    fn is_secret(&self) -> bool {
        true
    }
    fn storage(&self) -> Storage {
        Storage::Text
    }
    fn zero(&self) -> Value {
        Value::String(String::new())
    }
    /// Validates the plain password; the record layer hashes it before storing.
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let s = as_text(input)?;
        if s.is_empty() {
            return if required {
                Err(FieldError::required())
            } else {
                Ok(Value::String(s))
            };
        }
        // 71: what bcrypt (and so PocketBase) accepts.
        let max = if self.max == 0 { 71 } else { self.max };
        check_text(&s, self.min, max, &self.pattern)?;
        Ok(Value::String(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn lengths() {
        let f = PasswordField {
            min: 8,
            ..Default::default()
        };
        assert_eq!(
            f.prepare(&json!("short"), false).unwrap_err().code,
            "validation_min_text_constraint"
        );
        assert!(f.prepare(&json!("long enough"), false).is_ok());
        assert_eq!(
            f.prepare(&json!("x".repeat(72)), false).unwrap_err().code,
            "validation_max_text_constraint"
        );
    }
}
