//! `file`: stored file names (schema only for now: uploads arrive with the files feature).

use super::{
    as_string_list, list_storage, list_zero, single_or_multi, FieldError, FieldType, Storage,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct FileField {
    pub max_select: usize,
    pub max_size: u64,
    pub mime_types: Vec<String>,
    pub thumbs: Vec<String>,
    pub protected: bool,
}

impl FileField {
    pub fn is_multi(&self) -> bool {
        self.max_select > 1
    }
}

impl FieldType for FileField {
    fn storage(&self) -> Storage {
        list_storage(self.is_multi())
    }
    fn zero(&self) -> Value {
        list_zero(self.is_multi())
    }
    /// Only names of already stored files are accepted here; the record layer checks that.
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let items = as_string_list(input)?;
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
}
