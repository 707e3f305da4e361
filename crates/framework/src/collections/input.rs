//! Collections as API bodies describe them: a create body decoded into a new collection
//! (the schema sent is the schema saved), an update or import body applied onto a stored
//! one, auth options merged key by key, and the scaffolds new collections start from.

use super::model::{AuthOptions, Collection, CollectionType};
use super::store;
use crate::app::App;
use crate::error::Error;
use crate::fields::{Field, FieldError, FieldKind};
use serde_json::{json, Map, Value};

/// The options of auth collections a create/update body may set.
const AUTH_OPTION_KEYS: &[&str] = &[
    "authRule",
    "manageRule",
    "passwordAuth",
    "otp",
    "mfa",
    "oauth2",
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
    "verificationTemplate",
    "resetPasswordTemplate",
    "confirmEmailChangeTemplate",
];

/// Applies a create/update body onto a collection.
fn apply_input(
    c: &mut Collection,
    input: &Map<String, Value>,
    creating: bool,
) -> Result<(), Error> {
    let msg = if creating {
        "Failed to create collection."
    } else {
        "Failed to update collection."
    };
    let bad = |key: &str, text: String| {
        Error::field(msg, key, FieldError::new("validation_invalid_value", text))
    };
    let rule = |v: &Value, key: &str| -> Result<Option<String>, Error> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(bad(key, "Must be a string or null.".into())),
        }
    };
    let old_auth = c.auth.clone();
    for (k, v) in input {
        match k.as_str() {
            "id" if creating => {
                c.id = v
                    .as_str()
                    .ok_or_else(|| bad("id", "Must be a string.".into()))?
                    .to_string()
            }
            "name" => {
                c.name = v
                    .as_str()
                    .ok_or_else(|| bad("name", "Must be a string.".into()))?
                    .to_string()
            }
            "fields" => {
                let mut fields: Vec<Field> = serde_json::from_value(v.clone())
                    .map_err(|e| bad("fields", format!("Invalid fields: {e}")))?;
                // The id field may be left out of a definition; it is always there.
                if !fields.iter().any(|f| f.name == "id") {
                    if let Some(id) = c.field("id").cloned() {
                        fields.insert(0, id);
                    }
                }
                c.fields = fields;
            }
            "indexes" => {
                c.indexes = serde_json::from_value(v.clone())
                    .map_err(|_| bad("indexes", "Must be a list of strings.".into()))?
            }
            "listRule" => c.list_rule = rule(v, k)?,
            "viewRule" => c.view_rule = rule(v, k)?,
            "createRule" => c.create_rule = rule(v, k)?,
            "updateRule" => c.update_rule = rule(v, k)?,
            "deleteRule" => c.delete_rule = rule(v, k)?,
            "viewQuery" => {
                c.view_query = v
                    .as_str()
                    .ok_or_else(|| bad("viewQuery", "Must be a string.".into()))?
                    .to_string()
            }
            key if c.is_auth() && AUTH_OPTION_KEYS.contains(&key) => {
                let auth = c.auth.get_or_insert_with(AuthOptions::default);
                let secret = auth.token_secret.clone();
                let mut current = serde_json::to_value(&*auth).unwrap_or(json!({}));
                // Nested options change key by key, as PocketBase decodes onto the old value.
                if v.is_object() {
                    crate::settings::model::merge(&mut current[key], v);
                } else {
                    current[key] = v.clone();
                }
                *auth = serde_json::from_value(current)
                    .map_err(|e| bad(k, format!("Invalid value: {e}")))?;
                auth.token_secret = secret;
                // Providers sent without their secret keep the stored one.
                if let Some(old) = &old_auth {
                    for p in auth.oauth2.providers.iter_mut() {
                        if p.client_secret.is_empty() {
                            if let Some(o) = old.oauth2.providers.iter().find(|o| o.name == p.name)
                            {
                                p.client_secret = o.client_secret.clone();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn new_from_input(input: &Map<String, Value>) -> Result<Collection, Error> {
    let name = input
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = match input.get("type").and_then(Value::as_str).unwrap_or("base") {
        "base" => CollectionType::Base,
        "auth" => CollectionType::Auth,
        "view" => CollectionType::View,
        other => {
            return Err(Error::field(
                "Failed to create collection.",
                "type",
                FieldError::new(
                    "validation_in_invalid",
                    format!("Must be a valid value (base, auth or view), not '{other}'."),
                ),
            ))
        }
    };
    let mut c = match kind {
        CollectionType::Base => Collection::base(name),
        CollectionType::Auth => Collection::auth(name),
        CollectionType::View => Collection::view(name, ""),
    };
    c.id.clear();
    // The schema sent is the schema saved, as in PocketBase: no created/updated unless
    // sent (the dashboard's form adds them), the system fields the client did not send
    // kept: `id` first, the client's fields, then an auth collection's own.
    c.fields
        .retain(|f| !matches!(f.kind, FieldKind::Autodate(_)));
    let scaffold_fields = c.fields.clone();
    apply_input(&mut c, input, true)?;
    if kind != CollectionType::View && input.contains_key("fields") {
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        for f in scaffold_fields {
            if c.field(&f.name).is_none() {
                if f.name == "id" {
                    head.push(f);
                } else {
                    tail.push(f);
                }
            }
        }
        head.append(&mut c.fields);
        head.append(&mut tail);
        c.fields = head;
    }
    Ok(c)
}

/// Creates a collection from a create body (`POST /api/collections`).
pub(crate) async fn create(app: &App, input: &Map<String, Value>) -> Result<Collection, Error> {
    store::create(app, new_from_input(input)?).await
}

/// Applies an update body onto the stored collection `id_or_name` and saves it; its type
/// cannot change.
pub(crate) async fn update(
    app: &App,
    id_or_name: &str,
    input: &Map<String, Value>,
) -> Result<Collection, Error> {
    let mut c = (*app.collection(id_or_name).map_err(|_| Error::not_found())?).clone();
    if let Some(t) = input.get("type").and_then(Value::as_str) {
        if t != c.kind.as_str() {
            return Err(Error::field(
                "Failed to update collection.",
                "type",
                FieldError::new(
                    "validation_collection_type_change",
                    "The collection type cannot be changed.",
                ),
            ));
        }
    }
    apply_input(&mut c, input, false)?;
    store::update(app, c).await
}

/// Creates or updates every collection of an import body (`{collections, deleteMissing}`)
/// in one go; with `deleteMissing`, the collections it does not list go.
pub(crate) async fn import(app: &App, body: &Map<String, Value>) -> Result<(), Error> {
    let invalid = |m: &str| {
        Error::field(
            "Failed to import collections.",
            "collections",
            FieldError::new("validation_collections_import_failure", m),
        )
    };
    let list = body
        .get("collections")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("A list of collections is required."))?;
    let delete_missing = match body.get("deleteMissing") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("deleteMissing must be true or false.")),
    };
    let reg = app.registry();
    let mut parsed = Vec::new();
    for item in list {
        let obj = item
            .as_object()
            .ok_or_else(|| invalid("Each collection must be an object."))?;
        let existing = obj
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| reg.find(id))
            .or_else(|| {
                obj.get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| reg.find(n))
            });
        let c = match existing {
            Some(e) => {
                let mut c = (*e).clone();
                apply_input(&mut c, obj, false)?;
                c
            }
            None => new_from_input(obj)?,
        };
        parsed.push(c);
    }
    store::import(app, parsed, delete_missing).await
}

/// What a new collection of each type starts from (`GET /api/collections/meta/scaffolds`).
pub(crate) fn scaffolds() -> Value {
    let blank = |mut c: Collection| {
        c.id.clear();
        c.fields
            .retain(|f| !matches!(f.kind, FieldKind::Autodate(_)));
        c.to_json()
    };
    json!({
        "base": blank(Collection::base("")),
        "auth": blank(Collection::auth("")),
        "view": blank(Collection::view("", "")),
    })
}
