//! Field types of a collection: one file per type, each owning its column type per
//! dialect, its JSON conversion and its validation with PocketBase's error codes.

mod autodate;
mod bool;
mod date;
mod editor;
mod email;
mod file;
mod geo_point;
mod json;
mod modifiers;
mod number;
mod password;
mod relation;
mod select;
mod text;
mod url;

pub use autodate::AutodateField;
pub use bool::BoolField;
pub use date::{format_datetime, parse_datetime, DateField};
pub use editor::EditorField;
pub use email::{is_email, EmailField};
pub use file::FileField;
pub use geo_point::GeoPointField;
pub use json::JsonField;
pub use modifiers::Change;
pub use number::number_json as number_json_value;
pub use number::NumberField;
pub use password::PasswordField;
pub use relation::RelationField;
pub use select::SelectField;
pub use text::TextField;
pub use url::UrlField;

use crate::db::Dialect;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One field of a collection, as PocketBase serialises it (`{"id","name","type",...options}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    #[serde(default)]
    pub id: String,
    /// Missing is blank, so that it is reported as `validation_required` on the field.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub system: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub presentable: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FieldKind {
    Text(TextField),
    Editor(EditorField),
    Number(NumberField),
    Bool(BoolField),
    Email(EmailField),
    Url(UrlField),
    Date(DateField),
    Autodate(AutodateField),
    Select(SelectField),
    Json(JsonField),
    Relation(RelationField),
    File(FileField),
    Password(PasswordField),
    GeoPoint(GeoPointField),
}

/// How a field's value is stored in its column, which decides binding and reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `TEXT NOT NULL DEFAULT ''`.
    Text,
    /// A double, `NOT NULL DEFAULT 0`.
    Number,
    /// `BOOLEAN NOT NULL DEFAULT FALSE`.
    Bool,
    /// Any JSON value, nullable (`JSON` on SQLite, `JSONB` on PostgreSQL).
    Json,
    /// A JSON array of strings, `NOT NULL DEFAULT '[]'`.
    JsonArray,
    /// `{"lon":..,"lat":..}`, `NOT NULL`.
    GeoPoint,
}

impl Storage {
    /// The column definition (type, nullability, default) in this dialect.
    pub fn column_sql(self, dialect: Dialect) -> &'static str {
        match (self, dialect) {
            (Storage::Text, _) => "TEXT NOT NULL DEFAULT ''",
            (Storage::Number, Dialect::Sqlite) => "REAL NOT NULL DEFAULT 0",
            (Storage::Number, Dialect::Postgres) => "DOUBLE PRECISION NOT NULL DEFAULT 0",
            (Storage::Bool, _) => "BOOLEAN NOT NULL DEFAULT FALSE",
            (Storage::Json, Dialect::Sqlite) => "JSON DEFAULT NULL",
            (Storage::Json, Dialect::Postgres) => "JSONB DEFAULT NULL",
            (Storage::JsonArray, Dialect::Sqlite) => "JSON NOT NULL DEFAULT '[]'",
            (Storage::JsonArray, Dialect::Postgres) => "JSONB NOT NULL DEFAULT '[]'",
            (Storage::GeoPoint, Dialect::Sqlite) => r#"JSON NOT NULL DEFAULT '{"lon":0,"lat":0}'"#,
            (Storage::GeoPoint, Dialect::Postgres) => {
                r#"JSONB NOT NULL DEFAULT '{"lon":0,"lat":0}'"#
            }
        }
    }
}

/// A field-level validation failure, rendered as `{"code","message"[,"params"]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
    pub params: Option<Value>,
}

impl FieldError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            code,
            message: message.into(),
            params: None,
        }
    }
    pub fn with_params(mut self, params: Value) -> Self {
        self.params = Some(params);
        self
    }
    pub fn required() -> Self {
        Self::new("validation_required", "Cannot be blank.")
    }
    pub fn invalid_type(expected: &str) -> Self {
        Self::new("validation_invalid_type", format!("Must be {expected}."))
    }
    pub fn to_json(&self) -> Value {
        let mut v = json!({"code": self.code, "message": self.message});
        if let Some(p) = &self.params {
            v["params"] = p.clone();
        }
        v
    }
}

/// What every field type implements.
pub trait FieldType {
    fn storage(&self) -> Storage;
    /// The value of an unset field (what PocketBase shows: `""`, `0`, `false`, `[]`, `null`).
    fn zero(&self) -> Value;
    /// Converts client input into the canonical stored value and validates it.
    /// `required` is the field's `required` flag.
    fn prepare(&self, input: &Value, required: bool) -> Result<Value, FieldError>;
    /// Problems with the field's own options, checked when a collection is saved.
    fn check_options(&self) -> Result<(), OptionError> {
        Ok(())
    }
    /// The checked value `change` (a set and the `+`/`-` modifiers) makes of `current`.
    fn apply(&self, current: &Value, change: &Change, required: bool) -> Result<Value, FieldError> {
        let multi = self.storage() == Storage::JsonArray;
        self.prepare(&change.combine(multi, current), required)
    }
    /// A value for a create that does not give one (text fields' `autogeneratePattern`).
    fn autogenerate(&self) -> Option<Value> {
        None
    }
    /// A secret (passwords): stored as a hash, never read back into any output.
    fn is_secret(&self) -> bool {
        false
    }
    /// Indexed for full-text search (text and editor fields that ask for it).
    fn is_searchable(&self) -> bool {
        false
    }
}

/// A field option that is not valid: which one (`max`, `values`, ...), and why, with
/// PocketBase's codes.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionError {
    pub option: &'static str,
    pub error: Box<FieldError>,
}

impl OptionError {
    pub fn new(option: &'static str, error: FieldError) -> Self {
        OptionError {
            option,
            error: Box::new(error),
        }
    }
    /// `option` must be at least `threshold`.
    pub fn at_least(option: &'static str, threshold: impl Into<Value> + std::fmt::Display) -> Self {
        let message = format!("Must be no less than {threshold}.");
        let params = json!({"threshold": threshold.into()});
        let error = FieldError::new("validation_min_greater_equal_than_required", message);
        Self::new(option, error.with_params(params))
    }
    /// `option` must be at most `threshold`.
    pub fn at_most(option: &'static str, threshold: impl Into<Value> + std::fmt::Display) -> Self {
        let message = format!("Must be no greater than {threshold}.");
        let params = json!({"threshold": threshold.into()});
        let error = FieldError::new("validation_max_less_equal_than_required", message);
        Self::new(option, error.with_params(params))
    }
}

impl FieldKind {
    pub fn as_type(&self) -> &dyn FieldType {
        match self {
            FieldKind::Text(f) => f,
            FieldKind::Editor(f) => f,
            FieldKind::Number(f) => f,
            FieldKind::Bool(f) => f,
            FieldKind::Email(f) => f,
            FieldKind::Url(f) => f,
            FieldKind::Date(f) => f,
            FieldKind::Autodate(f) => f,
            FieldKind::Select(f) => f,
            FieldKind::Json(f) => f,
            FieldKind::Relation(f) => f,
            FieldKind::File(f) => f,
            FieldKind::Password(f) => f,
            FieldKind::GeoPoint(f) => f,
        }
    }

    /// The PocketBase type name (`text`, `geoPoint`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text(_) => "text",
            FieldKind::Editor(_) => "editor",
            FieldKind::Number(_) => "number",
            FieldKind::Bool(_) => "bool",
            FieldKind::Email(_) => "email",
            FieldKind::Url(_) => "url",
            FieldKind::Date(_) => "date",
            FieldKind::Autodate(_) => "autodate",
            FieldKind::Select(_) => "select",
            FieldKind::Json(_) => "json",
            FieldKind::Relation(_) => "relation",
            FieldKind::File(_) => "file",
            FieldKind::Password(_) => "password",
            FieldKind::GeoPoint(_) => "geoPoint",
        }
    }
}

impl Field {
    pub fn new(name: &str, kind: FieldKind) -> Self {
        Field {
            id: String::new(),
            name: name.to_string(),
            system: false,
            hidden: false,
            presentable: false,
            required: false,
            kind,
        }
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    pub fn system(mut self) -> Self {
        self.system = true;
        self
    }
    pub fn storage(&self) -> Storage {
        self.kind.as_type().storage()
    }
    pub fn zero(&self) -> Value {
        self.kind.as_type().zero()
    }
    pub fn prepare(&self, input: &Value) -> Result<Value, FieldError> {
        self.kind.as_type().prepare(input, self.required)
    }
    /// The checked value `change` makes of `current`, as the field's type applies it.
    pub(crate) fn apply(&self, current: &Value, change: &Change) -> Result<Value, FieldError> {
        self.kind.as_type().apply(current, change, self.required)
    }
    /// The value a create that leaves the field out gets, if the field makes one.
    pub(crate) fn autogenerate(&self) -> Option<Value> {
        self.kind.as_type().autogenerate()
    }
    /// Whether the field holds several values (multi select/relation/file).
    pub fn is_multi(&self) -> bool {
        self.storage() == Storage::JsonArray
    }
    /// Secret fields (passwords) are write-only: stored hashed, never part of any output.
    pub fn is_write_only(&self) -> bool {
        self.kind.as_type().is_secret()
    }
    pub fn is_searchable(&self) -> bool {
        self.kind.as_type().is_searchable()
    }
}

/// Shared helper: a JSON value as a string, accepting numbers and bools from forms.
pub(crate) fn as_text(input: &Value) -> Result<String, FieldError> {
    match input {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(FieldError::invalid_type("a string")),
    }
}

/// Shared helper for text-like fields: length bounds (in characters) and a regex.
/// `max` is the effective maximum (callers apply their own default for 0).
pub(crate) fn check_text(s: &str, min: usize, max: usize, pattern: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    if min > 0 && len < min {
        return Err(FieldError::new(
            "validation_min_text_constraint",
            format!("Must be at least {min} character(s)."),
        )
        .with_params(json!({"min": min})));
    }
    if len > max {
        return Err(FieldError::new(
            "validation_max_text_constraint",
            format!("Must be no more than {max} character(s)."),
        )
        .with_params(json!({"max": max})));
    }
    if !pattern.is_empty() {
        let invalid = || FieldError::new("validation_invalid_format", "Invalid value format.");
        let re = regex::Regex::new(pattern).map_err(|_| invalid())?;
        if !re.is_match(s) {
            return Err(invalid());
        }
    }
    Ok(())
}

/// Shared helper for select/relation/file: a list column when multiple, else text.
pub(crate) fn list_storage(multi: bool) -> Storage {
    if multi {
        Storage::JsonArray
    } else {
        Storage::Text
    }
}

/// Shared helper for select/relation/file: `[]` when multiple, else `""`.
pub(crate) fn list_zero(multi: bool) -> Value {
    if multi {
        json!([])
    } else {
        json!("")
    }
}

/// Shared helper: a list of strings from a string, a list, or null (multi-valued fields).
pub(crate) fn as_string_list(input: &Value) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = match input {
        Value::Null => vec![],
        Value::String(s) if s.is_empty() => vec![],
        Value::String(s) => vec![s.clone()],
        // A number is the text it reads as (PocketBase casts it too): `5` is then an
        // unknown select value or relation id rather than a type error.
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(FieldError::invalid_type("a list of strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(FieldError::invalid_type("a string or a list of strings")),
    };
    out.retain(|s| !s.is_empty());
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    Ok(out)
}

/// Shared helper: the canonical form of a single-or-multi value, after its items were checked.
pub(crate) fn single_or_multi(
    items: Vec<String>,
    multi: bool,
    required: bool,
) -> Result<Value, FieldError> {
    if required && items.is_empty() {
        return Err(FieldError::required());
    }
    if multi {
        Ok(Value::Array(items.into_iter().map(Value::String).collect()))
    } else {
        Ok(Value::String(items.into_iter().next().unwrap_or_default()))
    }
}

/// Shared helper for email/url: the host must (not) be in the allow/deny lists.
pub(crate) fn check_domain(
    host: &str,
    only: &[String],
    except: &[String],
    code: &'static str,
) -> Result<(), FieldError> {
    let host = host.to_ascii_lowercase();
    if !only.is_empty() && !only.iter().any(|d| d.eq_ignore_ascii_case(&host)) {
        return Err(FieldError::new(code, "Domain is not allowed."));
    }
    if except.iter().any(|d| d.eq_ignore_ascii_case(&host)) {
        return Err(FieldError::new(code, "Domain is not allowed."));
    }
    Ok(())
}

/// The names in a single or multi value, as a set (for comparing stored file names).
pub fn as_string_list_pub(v: &Value) -> std::collections::HashSet<String> {
    as_string_list(v).unwrap_or_default().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_json_round_trip() {
        let raw = json!({"id":"text1","name":"title","type":"text","required":true,"max":10,"pattern":"","system":false,"hidden":false,"presentable":false});
        let f: Field = serde_json::from_value(raw).unwrap();
        assert!(matches!(f.kind, FieldKind::Text(TextField { max: 10, .. })));
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!(back["type"], "text");
        assert_eq!(back["max"], 10);
        let geo: Field = serde_json::from_value(json!({"name":"loc","type":"geoPoint"})).unwrap();
        assert_eq!(geo.kind.type_name(), "geoPoint");
        assert!(serde_json::from_value::<Field>(json!({"name":"x","type":"nope"})).is_err());
    }

    #[test]
    fn string_lists_dedupe_and_drop_empty() {
        assert_eq!(
            as_string_list(&json!(["a", "", "b", "a"])).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(as_string_list(&json!("a")).unwrap(), vec!["a"]);
        assert!(as_string_list(&json!({"a":1})).is_err());
    }
}
