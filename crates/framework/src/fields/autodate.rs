//! `autodate`: set by the server on create and/or update; clients cannot write it.

use super::{FieldError, FieldType, OptionError, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct AutodateField {
    pub on_create: bool,
    pub on_update: bool,
}

impl FieldType for AutodateField {
    fn storage(&self) -> Storage {
        Storage::Text
    }
    fn zero(&self) -> Value {
        Value::String(String::new())
    }
    /// Client input is ignored by the record layer; this only normalises server values.
    fn prepare(&self, input: &Value, _required: bool) -> Result<Value, FieldError> {
        match input {
            Value::String(_) | Value::Null => Ok(input
                .as_str()
                .map(|s| Value::String(s.to_string()))
                .unwrap_or_else(|| self.zero())),
            _ => Err(FieldError::invalid_type("a date string")),
        }
    }
    fn check_options(&self) -> Result<(), OptionError> {
        if !self.on_create && !self.on_update {
            let e = FieldError::new("validation_required", "Set onCreate, onUpdate or both.");
            return Err(OptionError::new("onCreate", e));
        }
        Ok(())
    }
}
