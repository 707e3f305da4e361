//! `date`: a UTC datetime stored as PocketBase's text form `2024-01-02 03:04:05.000Z`.

use super::{as_text, FieldError, FieldType, OptionError, Storage};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// PocketBase's datetime text form; sorts lexicographically in time order.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string()
}

/// Accepts PocketBase's form, RFC 3339, `YYYY-MM-DD HH:MM:SS` and a bare date.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let no_z = s.strip_suffix('Z').unwrap_or(s);
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(no_z, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DateField {
    pub min: String,
    pub max: String,
}

impl FieldType for DateField {
    fn storage(&self) -> Storage {
        Storage::Text
    }
    fn zero(&self) -> Value {
        Value::String(String::new())
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let s = as_text(input)?;
        if s.trim().is_empty() {
            return if required {
                Err(FieldError::required())
            } else {
                Ok(Value::String(String::new()))
            };
        }
        let t = parse_datetime(&s)
            .ok_or_else(|| FieldError::new("validation_invalid_date", "Must be a valid date."))?;
        if let Some(min) = parse_datetime(&self.min) {
            if t < min {
                return Err(date_bound(
                    "validation_min_greater_equal_than_required",
                    "less",
                    min,
                ));
            }
        }
        if let Some(max) = parse_datetime(&self.max) {
            if t > max {
                return Err(date_bound(
                    "validation_max_less_equal_than_required",
                    "greater",
                    max,
                ));
            }
        }
        Ok(Value::String(format_datetime(t)))
    }
    fn check_options(&self) -> Result<(), OptionError> {
        for (name, v) in [("min", &self.min), ("max", &self.max)] {
            if !v.is_empty() && parse_datetime(v).is_none() {
                let e = FieldError::new("validation_invalid_date", "Must be a valid date.");
                return Err(OptionError::new(name, e));
            }
        }
        Ok(())
    }
}

/// A date outside `min`/`max`, worded and coded as PocketBase words it.
fn date_bound(code: &'static str, side: &str, bound: chrono::DateTime<chrono::Utc>) -> FieldError {
    FieldError::new(
        code,
        format!(
            "Must be no {side} than {}.",
            bound.format("%Y-%m-%d %H:%M:%S +0000 UTC")
        ),
    )
    .with_params(serde_json::json!({"threshold": bound.format("%Y-%m-%dT%H:%M:%SZ").to_string()}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn formats_and_bounds() {
        let f = DateField::default();
        assert_eq!(
            f.prepare(&json!("2024-01-02 03:04:05.000Z"), false)
                .unwrap(),
            json!("2024-01-02 03:04:05.000Z")
        );
        assert_eq!(
            f.prepare(&json!("2024-01-02T03:04:05+02:00"), false)
                .unwrap(),
            json!("2024-01-02 01:04:05.000Z")
        );
        assert_eq!(
            f.prepare(&json!("2024-01-02"), false).unwrap(),
            json!("2024-01-02 00:00:00.000Z")
        );
        assert_eq!(
            f.prepare(&json!("yesterday"), false).unwrap_err().code,
            "validation_invalid_date"
        );
        let b = DateField {
            min: "2024-01-01".into(),
            max: "2024-12-31".into(),
        };
        assert_eq!(
            b.prepare(&json!("2023-06-01"), false).unwrap_err().code,
            "validation_min_greater_equal_than_required"
        );
        assert_eq!(
            b.prepare(&json!("2025-06-01"), false).unwrap_err().code,
            "validation_max_less_equal_than_required"
        );
        assert!(DateField {
            min: "x".into(),
            max: String::new()
        }
        .check_options()
        .is_err());
    }
}
