//! `select`: one (maxSelect ≤ 1) or several values from a fixed list.

use super::{
    as_string_list, list_storage, list_zero, single_or_multi, FieldError, FieldType, OptionError,
    Storage,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct SelectField {
    pub values: Vec<String>,
    pub max_select: usize,
}

impl SelectField {
    pub fn is_multi(&self) -> bool {
        self.max_select > 1
    }
}

impl FieldType for SelectField {
    fn storage(&self) -> Storage {
        list_storage(self.is_multi())
    }
    fn zero(&self) -> Value {
        list_zero(self.is_multi())
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let items = as_string_list(input)?;
        if let Some(bad) = items.iter().find(|v| !self.values.contains(v)) {
            return Err(FieldError::new(
                "validation_invalid_value",
                format!("Invalid value {bad}."),
            )
            .with_params(json!({"value": bad})));
        }
        let max = self.max_select.max(1);
        if items.len() > max {
            return Err(FieldError::new(
                "validation_too_many_values",
                format!("Select no more than {max}."),
            )
            .with_params(json!({"maxSelect": max})));
        }
        single_or_multi(items, self.is_multi(), required)
    }
    fn check_options(&self) -> Result<(), OptionError> {
        if self.values.is_empty() {
            return Err(OptionError::new("values", FieldError::required()));
        }
        if self.max_select > self.values.len() {
            return Err(OptionError::at_most("maxSelect", self.values.len() as u64));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn single_and_multi() {
        let single = SelectField {
            values: vec!["a".into(), "b".into()],
            max_select: 1,
        };
        assert_eq!(single.prepare(&json!("a"), false).unwrap(), json!("a"));
        assert_eq!(
            single.prepare(&json!("z"), false).unwrap_err().code,
            "validation_invalid_value"
        );
        assert_eq!(
            single.prepare(&json!(["a", "b"]), false).unwrap_err().code,
            "validation_too_many_values"
        );
        let multi = SelectField {
            values: vec!["a".into(), "b".into(), "c".into()],
            max_select: 2,
        };
        assert_eq!(
            multi.prepare(&json!(["a", "b"]), false).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(multi.prepare(&json!("a"), false).unwrap(), json!(["a"]));
        assert_eq!(
            multi.prepare(&json!([]), true).unwrap_err().code,
            "validation_required"
        );
        assert!(SelectField::default().check_options().is_err());
    }
}
