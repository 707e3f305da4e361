//! `url`: an absolute http(s) URL, with optional allowed / excluded domains.

use super::{as_text, check_domain, FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct UrlField {
    pub only_domains: Vec<String>,
    pub except_domains: Vec<String>,
}

impl FieldType for UrlField {
    fn storage(&self) -> Storage {
        Storage::Text
    }
    fn zero(&self) -> Value {
        Value::String(String::new())
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let s = as_text(input)?.trim().to_string();
        if s.is_empty() {
            return if required {
                Err(FieldError::required())
            } else {
                Ok(Value::String(s))
            };
        }
        let invalid = || FieldError::new("validation_invalid_url", "Must be a valid url.");
        // The parser would percent-encode inner whitespace; PocketBase refuses it.
        if s.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let parsed = ::url::Url::parse(&s).map_err(|_| invalid())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid());
        }
        let host = parsed.host_str().ok_or_else(invalid)?;
        check_domain(
            host,
            &self.only_domains,
            &self.except_domains,
            "validation_url_domain_not_allowed",
        )?;
        Ok(Value::String(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn urls() {
        let f = UrlField::default();
        assert!(f
            .prepare(&json!("https://example.com/a?b=1"), false)
            .is_ok());
        for bad in [
            "example.com",
            "ftp://x.org",
            "http://",
            "javascript:alert(1)",
            "https://x.com/a b",
        ] {
            assert_eq!(
                f.prepare(&json!(bad), false).unwrap_err().code,
                "validation_invalid_url",
                "{bad}"
            );
        }
        let only = UrlField {
            only_domains: vec!["a.org".into()],
            except_domains: vec![],
        };
        assert_eq!(
            only.prepare(&json!("http://b.org"), false)
                .unwrap_err()
                .code,
            "validation_url_domain_not_allowed"
        );
    }
}
