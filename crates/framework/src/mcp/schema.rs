//! OpenAPI 3.0 schemas turned into the self-contained JSON Schema (2020-12) that MCP tools
//! carry: references inlined, `nullable` as a `null` type, OpenAPI-only keywords dropped.

use serde_json::{Map, Value};

/// Formats JSON Schema defines; OpenAPI's own (`int64`, `uint64`, `double`, `binary`...)
/// say nothing a JSON validator checks, and strict validators refuse unknown ones.
const JSON_SCHEMA_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords of OpenAPI's schema object that JSON Schema does not have.
const OPENAPI_ONLY: &[&str] = &[
    "nullable",
    "discriminator",
    "xml",
    "externalDocs",
    "example",
];

/// How deep references may nest before the rest is left open (`{}`): the document's
/// types are not recursive today, and a recursive one must not hang the server.
const MAX_DEPTH: usize = 32;

/// `schema` (from `doc`) as JSON Schema.
pub(crate) fn convert(doc: &Value, schema: &Value) -> Value {
    convert_at(doc, schema, &mut Vec::new())
}

fn convert_at(doc: &Value, schema: &Value, seen: &mut Vec<String>) -> Value {
    let Some(obj) = schema.as_object() else {
        return schema.clone();
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        if seen.iter().any(|s| s == target) || seen.len() >= MAX_DEPTH {
            return Value::Object(Map::new());
        }
        let Some(found) = resolve(doc, target) else {
            return Value::Object(Map::new());
        };
        seen.push(target.to_string());
        let mut inlined = convert_at(doc, found, seen);
        seen.pop();
        // Siblings of `$ref` (a description of this use of the type) win.
        if let Value::Object(inlined) = &mut inlined {
            for (k, v) in obj.iter().filter(|(k, _)| *k != "$ref") {
                if k == "description" {
                    inlined.insert(k.clone(), v.clone());
                }
            }
        }
        return inlined;
    }
    let mut out = Map::new();
    for (key, value) in obj {
        // Every string the server takes refuses NUL: saying so on each one costs the
        // model tokens and tells it nothing.
        let no_nul = key == "pattern" && value == crate::http::document::NO_NUL_PATTERN;
        if OPENAPI_ONLY.contains(&key.as_str()) || no_nul || says_nothing(key, value) {
            continue;
        }
        let converted = match key.as_str() {
            "properties" | "patternProperties" => map_values(doc, value, seen),
            "items" | "additionalProperties" | "not" if value.is_object() => {
                convert_at(doc, value, seen)
            }
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(list) => list.iter().map(|s| convert_at(doc, s, seen)).collect(),
                None => value.clone(),
            },
            "format"
                if !value
                    .as_str()
                    .is_some_and(|f| JSON_SCHEMA_FORMATS.contains(&f)) =>
            {
                continue
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if let Some(example) = obj.get("example") {
        out.insert("examples".into(), Value::Array(vec![example.clone()]));
    }
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        return with_null(out);
    }
    Value::Object(out)
}

/// Keywords that cost a model tokens and say nothing to it: a Rust type's name
/// (`title`), and the bounds of a machine integer (`maximum: 18446744073709551615`).
fn says_nothing(key: &str, value: &Value) -> bool {
    const MACHINE_BOUNDS: [f64; 6] = [
        i64::MIN as f64,
        i64::MAX as f64,
        u64::MAX as f64,
        i32::MIN as f64,
        i32::MAX as f64,
        u32::MAX as f64,
    ];
    match key {
        "title" => true,
        "minimum" | "maximum" => value.as_f64().is_some_and(|v| MACHINE_BOUNDS.contains(&v)),
        _ => false,
    }
}

fn map_values(doc: &Value, value: &Value, seen: &mut Vec<String>) -> Value {
    match value.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), convert_at(doc, v, seen)))
                .collect(),
        ),
        None => value.clone(),
    }
}

/// The schema, also allowing `null`.
fn with_null(mut schema: Map<String, Value>) -> Value {
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
            if let Some(Value::Array(values)) = schema.get_mut("enum") {
                values.push(Value::Null);
            }
            Value::Object(schema)
        }
        _ => {
            let mut either = Map::new();
            if let Some(d) = schema.remove("description") {
                either.insert("description".into(), d);
            }
            let null = Value::Object(Map::from_iter([("type".into(), "null".into())]));
            either.insert("anyOf".into(), Value::Array(vec![schema.into(), null]));
            Value::Object(either)
        }
    }
}

/// A local reference (`#/components/schemas/Skill`) in the document.
fn resolve<'a>(doc: &'a Value, target: &str) -> Option<&'a Value> {
    let pointer = target.strip_prefix('#')?;
    doc.pointer(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Item": {"type": "object", "title": "Item", "required": ["id"], "properties": {
                "id": {"type": "string", "example": "abc"},
                "size": {"type": "integer", "format": "uint64", "nullable": true,
                         "minimum": 0, "maximum": 18446744073709551615u64},
                "kind": {"$ref": "#/components/schemas/Kind"},
                "parent": {"$ref": "#/components/schemas/Item"}
            }},
            "Kind": {"type": "string", "enum": ["a", "b"]}
        }}})
    }

    #[test]
    fn references_are_inlined_and_nullable_becomes_a_null_type() {
        let doc = doc();
        let out = convert(&doc, &json!({"$ref": "#/components/schemas/Item"}));
        assert_eq!(
            out["properties"]["kind"],
            json!({"type": "string", "enum": ["a", "b"]})
        );
        // A machine integer's upper bound and the type's name are left out; 0 stays.
        assert_eq!(
            out["properties"]["size"],
            json!({"type": ["integer", "null"], "minimum": 0})
        );
        assert!(out.get("title").is_none());
        assert_eq!(
            out["properties"]["id"],
            json!({"type": "string", "examples": ["abc"]})
        );
        // The type names itself: the inner use is left open rather than unrolled forever.
        assert_eq!(out["properties"]["parent"], json!({}));
        assert_eq!(out["required"], json!(["id"]));
    }

    #[test]
    fn a_nullable_reference_is_any_of_it_or_null() {
        let doc = doc();
        let out = convert(
            &doc,
            &json!({"allOf": [{"$ref": "#/components/schemas/Kind"}], "nullable": true, "description": "d"}),
        );
        assert_eq!(out["description"], "d");
        assert_eq!(out["anyOf"][1], json!({"type": "null"}));
        assert_eq!(out["anyOf"][0]["allOf"][0]["enum"], json!(["a", "b"]));
    }

    #[test]
    fn json_schema_formats_stay_and_openapi_ones_go() {
        let out = convert(
            &Value::Null,
            &json!({"type": "string", "format": "date-time"}),
        );
        assert_eq!(out["format"], "date-time");
        let out = convert(&Value::Null, &json!({"type": "string", "format": "binary"}));
        assert!(out.get("format").is_none());
    }
}
