//! `relation`: ids of records in another collection (existence is checked by the record layer).

use super::{
    as_string_list, list_storage, list_zero, single_or_multi, FieldError, FieldType, OptionError,
    Storage,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RelationField {
    pub collection_id: String,
    pub cascade_delete: bool,
    pub min_select: usize,
    pub max_select: usize,
}

impl RelationField {
    pub fn is_multi(&self) -> bool {
        self.max_select != 1
    }
}

impl FieldType for RelationField {
    fn storage(&self) -> Storage {
        list_storage(self.is_multi())
    }
    fn zero(&self) -> Value {
        list_zero(self.is_multi())
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let items = as_string_list(input)?;
        if self.max_select > 0 && items.len() > self.max_select {
            return Err(FieldError::new(
                "validation_too_many_values",
                format!("Select no more than {}.", self.max_select),
            )
            .with_params(json!({"maxSelect": self.max_select})));
        }
        if !items.is_empty() && items.len() < self.min_select {
            return Err(FieldError::new(
                "validation_not_enough_values",
                format!("Select at least {}.", self.min_select),
            )
            .with_params(json!({"minSelect": self.min_select})));
        }
        single_or_multi(items, self.is_multi(), required)
    }
    fn check_options(&self) -> Result<(), OptionError> {
        if self.collection_id.is_empty() {
            return Err(OptionError::new("collectionId", FieldError::required()));
        }
        if self.max_select > 0 && self.min_select > self.max_select {
            return Err(OptionError::at_least("maxSelect", self.min_select as u64));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn counts() {
        let single = RelationField {
            collection_id: "c".into(),
            max_select: 1,
            ..Default::default()
        };
        assert_eq!(single.prepare(&json!("abc"), false).unwrap(), json!("abc"));
        assert_eq!(
            single.prepare(&json!(["a", "b"]), false).unwrap_err().code,
            "validation_too_many_values"
        );
        let multi = RelationField {
            collection_id: "c".into(),
            min_select: 2,
            max_select: 0,
            ..Default::default()
        };
        assert_eq!(
            multi.prepare(&json!(["a"]), false).unwrap_err().code,
            "validation_not_enough_values"
        );
        assert_eq!(
            multi.prepare(&json!(["a", "b", "c"]), false).unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            multi.prepare(&json!([]), true).unwrap_err().code,
            "validation_required"
        );
        assert!(RelationField::default().check_options().is_err());
    }
}
