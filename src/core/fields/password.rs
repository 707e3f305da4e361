//! `password`: write-only; stored as an argon2id hash, never returned.

use super::{as_text, FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
        let len = s.chars().count();
        if self.min > 0 && len < self.min {
            return Err(FieldError::new(
                "validation_min_text_constraint",
                format!("Must be at least {} character(s).", self.min),
            )
            .with_params(json!({"min": self.min})));
        }
        let max = if self.max == 0 { 71 } else { self.max };
        if len > max {
            return Err(FieldError::new(
                "validation_max_text_constraint",
                format!("Must be no more than {max} character(s)."),
            )
            .with_params(json!({"max": max})));
        }
        if !self.pattern.is_empty() {
            let re = regex::Regex::new(&self.pattern).map_err(|_| {
                FieldError::new("validation_invalid_format", "Invalid value format.")
            })?;
            if !re.is_match(&s) {
                return Err(FieldError::new(
                    "validation_invalid_format",
                    "Invalid value format.",
                ));
            }
        }
        Ok(Value::String(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
