//! `editor`: rich text (HTML) with a size limit.

use super::{as_text, FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const DEFAULT_MAX_SIZE: usize = 5 << 20;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EditorField {
    pub max_size: usize,
    #[serde(rename = "convertURLs")]
    pub convert_urls: bool,
    /// Part of the collection's full-text index, as on text fields.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub searchable: bool,
}

impl FieldType for EditorField {
    fn storage(&self) -> Storage {
        Storage::Text
    }
    fn zero(&self) -> Value {
        Value::String(String::new())
    }
    fn is_searchable(&self) -> bool {
        self.searchable
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let s = as_text(input)?;
        if s.is_empty() && required {
            return Err(FieldError::required());
        }
        let max = if self.max_size == 0 {
            DEFAULT_MAX_SIZE
        } else {
            self.max_size
        };
        if s.len() > max {
            return Err(FieldError::new(
                "validation_content_size_limit",
                format!("The maximum allowed content size is {max} bytes."),
            )
            .with_params(json!({"maxSize": max})));
        }
        Ok(Value::String(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn size_limit() {
        let f = EditorField {
            max_size: 4,
            ..Default::default()
        };
        assert_eq!(f.prepare(&json!("<p>"), false).unwrap(), json!("<p>"));
        assert_eq!(
            f.prepare(&json!("<p>x</p>"), false).unwrap_err().code,
            "validation_content_size_limit"
        );
        assert_eq!(
            f.prepare(&json!(""), true).unwrap_err().code,
            "validation_required"
        );
    }
}
