//! `email`: an address, with optional allowed / excluded domains.

use super::{as_text, check_domain, FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::LazyLock;

static EMAIL_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
        .expect("static regex")
});

pub fn is_email(s: &str) -> bool {
    s.len() <= 254 && EMAIL_RE.is_match(s)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EmailField {
    pub only_domains: Vec<String>,
    pub except_domains: Vec<String>,
}

impl FieldType for EmailField {
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
        if !is_email(&s) {
            return Err(FieldError::new(
                "validation_is_email",
                "Must be a valid email address.",
            ));
        }
        let domain = s.rsplit('@').next().unwrap_or_default();
        check_domain(
            domain,
            &self.only_domains,
            &self.except_domains,
            "validation_email_domain_not_allowed",
        )?;
        Ok(Value::String(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn addresses_and_domains() {
        let f = EmailField::default();
        assert!(f.prepare(&json!("a@b.co"), false).is_ok());
        for bad in ["a", "a@b", "@b.co", "a b@c.co"] {
            assert_eq!(
                f.prepare(&json!(bad), false).unwrap_err().code,
                "validation_is_email",
                "{bad}"
            );
        }
        let only = EmailField {
            only_domains: vec!["x.org".into()],
            except_domains: vec![],
        };
        assert!(only.prepare(&json!("a@x.org"), false).is_ok());
        assert_eq!(
            only.prepare(&json!("a@y.org"), false).unwrap_err().code,
            "validation_email_domain_not_allowed"
        );
        let except = EmailField {
            only_domains: vec![],
            except_domains: vec!["y.org".into()],
        };
        assert!(except.prepare(&json!("a@Y.org"), false).is_err());
    }
}
