//! `geoPoint`: `{"lon": -180..180, "lat": -90..90}`.

use super::{FieldError, FieldType, Storage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GeoPointField {}

impl FieldType for GeoPointField {
    fn storage(&self) -> Storage {
        Storage::GeoPoint
    }
    fn zero(&self) -> Value {
        json!({"lon": 0, "lat": 0})
    }
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError> {
        let (lon, lat) = match input {
            Value::Null => (0.0, 0.0),
            Value::Object(o) => {
                let get = |k: &str| match o.get(k) {
                    None | Some(Value::Null) => Ok(0.0),
                    Some(v) => v
                        .as_f64()
                        .ok_or_else(|| FieldError::invalid_type("an object {lon, lat} of numbers")),
                };
                (get("lon")?, get("lat")?)
            }
            _ => return Err(FieldError::invalid_type("an object {lon, lat}")),
        };
        if !(-180.0..=180.0).contains(&lon) {
            return Err(FieldError::new(
                "validation_invalid_longitude",
                "Longitude must be between -180 and 180 degrees.",
            ));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(FieldError::new(
                "validation_invalid_latitude",
                "Latitude must be between -90 and 90 degrees.",
            ));
        }
        if required && lon == 0.0 && lat == 0.0 {
            return Err(FieldError::required());
        }
        Ok(json!({"lon": super::number::number_json(lon), "lat": super::number::number_json(lat)}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ranges() {
        let f = GeoPointField {};
        assert_eq!(
            f.prepare(&json!({"lon": 23.3, "lat": 42.7}), false)
                .unwrap(),
            json!({"lon": 23.3, "lat": 42.7})
        );
        assert_eq!(
            f.prepare(&json!({"lon": 200, "lat": 0}), false)
                .unwrap_err()
                .code,
            "validation_invalid_longitude"
        );
        assert_eq!(
            f.prepare(&json!("x"), false).unwrap_err().code,
            "validation_invalid_type"
        );
        assert_eq!(
            f.prepare(&json!(null), true).unwrap_err().code,
            "validation_required"
        );
    }
}
