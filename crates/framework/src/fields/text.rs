//! `text`: plain string with length bounds, an optional regex pattern and autogeneration.

use super::{as_text, check_text, FieldError, FieldType, OptionError, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Applied when `max` is 0, as PocketBase does.
pub const DEFAULT_MAX_TEXT: usize = 5000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TextField {
    pub min: usize,
    pub max: usize,
    pub pattern: String,
    pub autogenerate_pattern: String,
    pub primary_key: bool,
    /// Part of the collection's full-text index (`?search=`); not a PocketBase option,
    /// so it is left out of the JSON while off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub searchable: bool,
}

impl TextField {
    /// A value for `autogeneratePattern` when it is of the form `[chars]{n}` (ids, token
    /// keys): `n` characters drawn from the class (ranges such as `a-z` allowed).
    fn generated(&self) -> Option<String> {
        let (class, rest) = self
            .autogenerate_pattern
            .strip_prefix('[')?
            .split_once(']')?;
        let n: usize = rest.strip_prefix('{')?.strip_suffix('}')?.parse().ok()?;
        let mut alphabet = Vec::new();
        let bytes = class.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if i + 2 < bytes.len() && bytes[i + 1] == b'-' {
                alphabet.extend(bytes[i]..=bytes[i + 2]);
                i += 3;
            } else {
                alphabet.push(bytes[i]);
                i += 1;
            }
        }
        (!alphabet.is_empty()).then(|| crate::collections::ids::random_from(&alphabet, n))
    }
}

impl FieldType for TextField {
    fn storage(&self) -> Storage {
        Storage::Text
    }
    fn autogenerate(&self) -> Option<Value> {
        self.generated().map(Value::String)
    }
    fn is_searchable(&self) -> bool {
        self.searchable
    }
    fn zero(&self) -> Value {
        Value::String(String::new())
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let s = as_text(input)?;
        if s.is_empty() {
            return if required {
                Err(FieldError::required())
            } else {
                Ok(Value::String(s))
            };
        }
        let max = if self.max == 0 {
            DEFAULT_MAX_TEXT
        } else {
            self.max
        };
        check_text(&s, self.min, max, &self.pattern)?;
        Ok(Value::String(s))
    }
    fn check_options(&self) -> Result<(), OptionError> {
        if self.max > 0 && self.min > self.max {
            return Err(OptionError::at_least("max", self.min as u64));
        }
        if !self.pattern.is_empty() {
            regex::Regex::new(&self.pattern).map_err(|e| {
                OptionError::new(
                    "pattern",
                    FieldError::new("validation_invalid_regex", format!("Invalid pattern: {e}")),
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn autogenerate_patterns_of_a_class_and_a_count_make_values() {
        let t = TextField {
            autogenerate_pattern: "[a-c0-1_]{12}".into(),
            ..Default::default()
        };
        let v = t.autogenerate().expect("a value");
        let s = v.as_str().expect("text");
        assert_eq!(s.len(), 12);
        assert!(s.bytes().all(|b| b"abc01_".contains(&b)), "{s}");
        for other in ["", "abc", "[a-z]", "[]{5}", "[a-z]{x}"] {
            let t = TextField {
                autogenerate_pattern: other.into(),
                ..Default::default()
            };
            assert!(t.autogenerate().is_none(), "{other}");
        }
    }

    fn f(min: usize, max: usize, pattern: &str) -> TextField {
        TextField {
            min,
            max,
            pattern: pattern.into(),
            ..Default::default()
        }
    }

    #[test]
    fn bounds_and_pattern() {
        assert_eq!(
            f(0, 0, "").prepare(&json!("hi"), false).unwrap(),
            json!("hi")
        );
        assert_eq!(f(0, 0, "").prepare(&json!(null), false).unwrap(), json!(""));
        assert_eq!(
            f(0, 0, "").prepare(&json!(""), true).unwrap_err().code,
            "validation_required"
        );
        assert_eq!(
            f(3, 0, "").prepare(&json!("ab"), false).unwrap_err().code,
            "validation_min_text_constraint"
        );
        assert_eq!(
            f(0, 2, "").prepare(&json!("abc"), false).unwrap_err().code,
            "validation_max_text_constraint"
        );
        assert_eq!(
            f(0, 2, "").prepare(&json!("é✓"), false).unwrap(),
            json!("é✓")
        );
        assert_eq!(
            f(0, 0, "^[a-z]+$")
                .prepare(&json!("Ab"), false)
                .unwrap_err()
                .code,
            "validation_invalid_format"
        );
        assert!(f(0, 0, "")
            .prepare(&json!("x".repeat(5001)), false)
            .is_err());
        assert_eq!(f(0, 0, "").prepare(&json!(12), false).unwrap(), json!("12"));
        assert_eq!(
            f(0, 0, "").prepare(&json!([1]), false).unwrap_err().code,
            "validation_invalid_type"
        );
        assert!(f(5, 2, "").check_options().is_err());
        assert!(f(0, 0, "(").check_options().is_err());
    }
}
