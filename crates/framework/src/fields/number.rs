//! `number`: a finite double, optionally integer-only and bounded.

use super::{Change, FieldError, FieldType, OptionError, Storage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct NumberField {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub only_int: bool,
    /// A sequence (Gather's option, not PocketBase's): the server numbers each new record
    /// 1, 2, 3… among the records with the same value of the named field, inside the
    /// create's transaction, so numbers follow commit order and never repeat; clients
    /// cannot set or change it. Pair it with a unique index on (that field, this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_of: Option<String>,
}

/// A float as PocketBase prints it: integers without a fraction.
pub fn number_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        json!(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

impl FieldType for NumberField {
    fn storage(&self) -> Storage {
        Storage::Number
    }
    /// `n+` adds and `n-` subtracts, from the value set in the same body or the stored one.
    fn apply(&self, current: &Value, change: &Change, required: bool) -> Result<Value, FieldError> {
        let base = match change.set {
            Some(s) => self.prepare(s, required)?.as_f64().unwrap_or(0.0),
            None => current.as_f64().unwrap_or(0.0),
        };
        let delta = |x: Option<&Value>| -> Result<f64, FieldError> {
            match x {
                None => Ok(0.0),
                Some(x) => self.prepare(x, false).map(|n| n.as_f64().unwrap_or(0.0)),
            }
        };
        let (added, removed) = (delta(change.append)?, delta(change.remove)?);
        Ok(number_json(base + added - removed))
    }
    fn zero(&self) -> Value {
        json!(0)
    }
    /// Strict where PocketBase is lax: `"abc"` is an error, not 0.
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let n = match input {
            Value::Null => 0.0,
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| FieldError::invalid_type("a number"))?,
            Value::String(s) if s.trim().is_empty() => 0.0,
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| FieldError::invalid_type("a number"))?,
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                return Err(FieldError::invalid_type("a number"))
            }
        };
        if !n.is_finite() {
            return Err(FieldError::invalid_type("a finite number"));
        }
        if n == 0.0 {
            // Zero is the blank number: only `required` applies to it, as in PocketBase.
            return if required {
                Err(FieldError::required())
            } else {
                Ok(number_json(n))
            };
        }
        if self.only_int && n.fract() != 0.0 {
            return Err(FieldError::new(
                "validation_only_int_constraint",
                "Decimal numbers are not allowed.",
            ));
        }
        if let Some(min) = self.min {
            if n < min {
                return Err(FieldError::new(
                    "validation_min_number_constraint",
                    format!("Must be greater or equal than {min}."),
                )
                .with_params(json!({"min": number_json(min)})));
            }
        }
        if let Some(max) = self.max {
            if n > max {
                return Err(FieldError::new(
                    "validation_max_number_constraint",
                    format!("Must be less or equal than {max}."),
                )
                .with_params(json!({"max": number_json(max)})));
            }
        }
        Ok(number_json(n))
    }
    fn check_options(&self) -> Result<(), OptionError> {
        if self.sequence_of.as_deref() == Some("") {
            return Err(OptionError::new(
                "sequenceOf",
                FieldError::new(
                    "validation_required",
                    "Name the field the sequence counts by.",
                ),
            ));
        }
        match (self.min, self.max) {
            (Some(a), Some(b)) if a > b => Err(OptionError::new(
                "max",
                FieldError::new(
                    "validation_min_number_constraint",
                    format!("Must be greater or equal than {a}."),
                )
                .with_params(json!({"min": number_json(a)})),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn conversion_and_bounds() {
        let f = NumberField {
            min: Some(-1.0),
            max: Some(10.0),
            only_int: false,
            sequence_of: None,
        };
        assert_eq!(f.prepare(&json!(2.5), false).unwrap(), json!(2.5));
        assert_eq!(f.prepare(&json!("3"), false).unwrap(), json!(3));
        assert_eq!(f.prepare(&json!(null), false).unwrap(), json!(0));
        assert_eq!(
            f.prepare(&json!("abc"), false).unwrap_err().code,
            "validation_invalid_type"
        );
        assert_eq!(
            f.prepare(&json!(true), false).unwrap_err().code,
            "validation_invalid_type"
        );
        assert_eq!(
            f.prepare(&json!(11), false).unwrap_err().code,
            "validation_max_number_constraint"
        );
        assert_eq!(
            f.prepare(&json!(-2), false).unwrap_err().code,
            "validation_min_number_constraint"
        );
        assert_eq!(
            f.prepare(&json!(0), true).unwrap_err().code,
            "validation_required"
        );
        let positive = NumberField {
            min: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            positive.prepare(&json!(0), false).unwrap(),
            json!(0),
            "blank"
        );
        let i = NumberField {
            only_int: true,
            ..Default::default()
        };
        assert_eq!(
            i.prepare(&json!(1.5), false).unwrap_err().code,
            "validation_only_int_constraint"
        );
        assert_eq!(number_json(10.0), json!(10));
    }
}
