//! What a collection must be to be saved: its name, fields, indexes and rules checked
//! (rules compiled on both engines), ids and defaults filled in.

use crate::collections::ids::{field_id, random_token};
use crate::collections::model::{Collection, CollectionType, RESERVED_FIELD_NAMES};
use crate::collections::registry::Registry;
use crate::collections::schema::IndexDef;
use crate::db::Dialect;
use crate::error::{Error, Result};
use crate::fields::{FieldError, FieldKind};
use crate::filter::{compile_filter, RequestInfo, Scope};
use crate::records::read::MAIN;
use std::collections::HashSet;
use std::sync::LazyLock;

static NAME_RE: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[A-Za-z0-9_]+$").expect("static regex"));

/// Longest collection name: PostgreSQL identifiers are at most 63 bytes, and index names
/// are made from a collection's name (PocketBase allows 255).
const MAX_NAME_LEN: usize = 55;

/// Tables of the server's own that a collection's table must not collide with.
const INTERNAL_TABLES: [&str; 6] = [
    "_collections",
    "_params",
    "_logs",
    "_migrations",
    "_realtime_events",
    "seaql_migrations",
];

/// Fills ids and defaults and checks everything about a collection before it is saved.
pub(crate) fn prepare(
    c: &mut Collection,
    old: Option<&Collection>,
    reg: &Registry,
    action: &str,
) -> Result<()> {
    let msg = format!("Failed to {action} collection.");
    let fail = |key: &str, code: &'static str, text: String| {
        Error::fields(
            msg.clone(),
            vec![(key.to_string(), FieldError::new(code, text))],
        )
    };

    if c.id.is_empty() {
        c.id = crate::collections::ids::collection_id(c.kind, &c.name);
        if old.is_none() && reg.find(&c.id).is_some_and(|o| o.id == c.id) {
            // Same type and name as a collection renamed away: pick a fresh id.
            c.id = format!(
                "pbc_{}",
                crate::collections::ids::random_from(b"0123456789", 10)
            );
        }
    }
    if c.name.is_empty() {
        return Err(fail(
            "name",
            "validation_required",
            "Cannot be blank.".into(),
        ));
    }
    if c.name.len() > MAX_NAME_LEN {
        return Err(Error::field(
            msg.clone(),
            "name",
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between 1 and {MAX_NAME_LEN}."),
            )
            .with_params(serde_json::json!({"min": 1, "max": MAX_NAME_LEN})),
        ));
    }
    if !NAME_RE.is_match(&c.name) {
        return Err(fail(
            "name",
            "validation_match_invalid",
            "Must be in a valid format.".into(),
        ));
    }
    let lower = c.name.to_lowercase();
    if INTERNAL_TABLES.contains(&lower.as_str())
        || lower.starts_with("sqlite_")
        || lower.starts_with(crate::collections::search_index::SEARCH_PREFIX)
    {
        return Err(fail(
            "name",
            "validation_collection_name_invalid",
            "The name shouldn't match with an existing internal table.".into(),
        ));
    }
    if reg
        .all()
        .iter()
        .any(|o| o.id != c.id && o.name.eq_ignore_ascii_case(&c.name))
    {
        return Err(fail(
            "name",
            "validation_collection_name_exists",
            "Collection name must be unique (case insensitive).".into(),
        ));
    }
    if let Some(o) = old {
        if o.kind != c.kind {
            return Err(fail(
                "type",
                "validation_collection_type_change",
                "The collection type cannot be changed.".into(),
            ));
        }
        if o.system && o.name != c.name {
            return Err(fail(
                "name",
                "validation_system_collection_name_change",
                "System collections cannot be renamed.".into(),
            ));
        }
        for f in o.fields.iter().filter(|f| f.system) {
            match c.fields.iter().find(|n| n.id == f.id) {
                Some(n) if n.name == f.name => {}
                _ => {
                    return Err(fail(
                        "fields",
                        "validation_system_field_change",
                        format!(
                            "The system field '{}' cannot be removed or renamed.",
                            f.name
                        ),
                    ))
                }
            }
        }
    }
    match c.kind {
        CollectionType::View => {
            let q = c.view_query.trim().trim_end_matches(';').trim().to_string();
            let starts = q.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("select"))
                || q.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("with"));
            if q.is_empty() {
                return Err(fail(
                    "viewQuery",
                    "validation_required",
                    "Cannot be blank.".into(),
                ));
            }
            if !starts || q.contains(';') {
                return Err(fail(
                    "viewQuery",
                    "validation_invalid_view_query",
                    "The view query must be a single SELECT statement.".into(),
                ));
            }
            c.view_query = q;
            c.create_rule = None;
            c.update_rule = None;
            c.delete_rule = None;
            c.indexes.clear();
        }
        CollectionType::Auth => {
            c.ensure_auth_fields();
            let auth = c.auth.get_or_insert_with(Default::default);
            if let Some(p) = auth
                .oauth2
                .providers
                .iter()
                .find(|p| !crate::auth::oauth2::is_known_provider(&p.name))
            {
                return Err(fail(
                    "oauth2",
                    "validation_invalid_provider",
                    format!(
                        "Unknown OAuth2 provider {:?} (known: github, google, oidc*).",
                        p.name
                    ),
                ));
            }
            if !(4..=16).contains(&auth.otp.length) {
                return Err(fail(
                    "otp",
                    "validation_invalid_length",
                    "The OTP length must be between 4 and 16.".into(),
                ));
            }
            if auth.token_secret.is_empty() {
                auth.token_secret = old
                    .and_then(|o| o.auth.as_ref())
                    .map(|a| a.token_secret.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| random_token(50));
            }
        }
        CollectionType::Base => {
            c.auth = None;
        }
    }
    if !c.is_view() {
        let has_id = c
            .fields
            .iter()
            .any(|f| f.name == "id" && matches!(&f.kind, FieldKind::Text(t) if t.primary_key));
        if !has_id {
            c.fields.insert(0, crate::collections::model::id_field());
        }
        check_fields(c, reg, &msg)?;
        normalize_indexes(c, &msg)?;
    }
    check_rules(c, reg, &msg)?;
    Ok(())
}

fn check_fields(c: &mut Collection, reg: &Registry, msg: &str) -> Result<()> {
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for (i, f) in c.fields.iter_mut().enumerate() {
        let key = |option: &str| format!("fields.{i}.{option}");
        if f.id.is_empty() {
            f.id = field_id(f.kind.type_name(), &f.name);
        }
        // The id field is the collection's text primary key; any other is a second "id".
        let bad_id = f.name == "id" && !matches!(&f.kind, FieldKind::Text(t) if t.primary_key);
        let problem = if f.name.is_empty() {
            Some(("name", FieldError::required()))
        } else if !NAME_RE.is_match(&f.name) || f.name.len() > 100 {
            Some((
                "name",
                FieldError::new("validation_match_invalid", "Must be in a valid format."),
            ))
        } else if RESERVED_FIELD_NAMES.contains(&f.name.as_str()) {
            Some((
                "name",
                FieldError::new("validation_not_in_invalid", "Must not be in list."),
            ))
        } else if bad_id || !seen.insert(f.name.to_lowercase()) {
            Some((
                "name",
                FieldError::new(
                    "validation_duplicated_field_name",
                    format!("Duplicated or invalid field name {}.", f.name),
                )
                .with_params(serde_json::json!({"fieldName": f.name})),
            ))
        } else if let Err(e) = f.kind.as_type().check_options() {
            Some((e.option, *e.error))
        } else {
            None
        };
        if let Some((option, e)) = problem {
            errors.push((key(option), e));
            continue;
        }
        if let FieldKind::Relation(rel) = &mut f.kind {
            // Accept the target by name too; store its id.
            match reg
                .find(&rel.collection_id)
                .map(|t| t.id.clone())
                .or_else(|| {
                    (rel.collection_id == c.id || rel.collection_id == c.name).then(|| c.id.clone())
                }) {
                Some(id) => rel.collection_id = id,
                None => errors.push((
                    key("collectionId"),
                    FieldError::new(
                        "validation_field_relation_missing_collection",
                        "The relation collection doesn't exist.",
                    ),
                )),
            }
        }
    }
    for (i, f) in c.fields.iter().enumerate() {
        let FieldKind::Number(n) = &f.kind else {
            continue;
        };
        let Some(by) = n.sequence_of.as_deref() else {
            continue;
        };
        let groups = c.fields.iter().find(|g| g.name == by);
        if groups.is_none_or(|g| g.name == f.name || g.is_multi()) {
            errors.push((
                format!("fields.{i}.sequenceOf"),
                FieldError::new(
                    "validation_invalid_sequence",
                    "A sequence counts by another single-valued field of the collection.",
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(msg, errors))
    }
}

fn normalize_indexes(c: &mut Collection, msg: &str) -> Result<()> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut names = HashSet::new();
    for (i, sql) in c.indexes.iter().enumerate() {
        let key = format!("indexes.{i}");
        match IndexDef::parse(sql) {
            Err(e) => errors.push((
                key,
                FieldError::new("validation_invalid_index_expression", e),
            )),
            Ok(def) => {
                let missing = def
                    .columns
                    .iter()
                    .map(|(n, _)| n)
                    .chain(def.where_not_empty.iter())
                    .find(|n| c.field(n).is_none());
                if let Some(m) = missing {
                    errors.push((
                        key,
                        FieldError::new(
                            "validation_invalid_index_expression",
                            format!("Unknown column '{m}'."),
                        ),
                    ));
                } else if !names.insert(def.name.to_lowercase()) {
                    errors.push((
                        key,
                        FieldError::new(
                            "validation_duplicated_index_name",
                            "Duplicated index name.",
                        ),
                    ));
                } else {
                    out.push(def.to_sql(&c.name));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::fields(msg, errors));
    }
    c.indexes = out;
    Ok(())
}

fn check_rules(c: &Collection, reg: &Registry, msg: &str) -> Result<()> {
    // Compile against a registry that already holds the new definition.
    let mut all: Vec<Collection> = reg
        .all()
        .iter()
        .filter(|o| o.id != c.id)
        .map(|o| (**o).clone())
        .collect();
    all.push(c.clone());
    let reg = Registry::new(all);
    let req = RequestInfo::default();
    let mut errors = Vec::new();
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        for (key, rule) in c.rules() {
            let Some(rule) = rule.filter(|r| !r.trim().is_empty()) else {
                continue;
            };
            let scope = Scope::new(&reg, c, MAIN, &req, d);
            if let Err(e) = compile_filter(rule, &scope) {
                if !errors.iter().any(|(k, _): &(String, FieldError)| k == key) {
                    let err =
                        FieldError::new("validation_invalid_rule", format!("Invalid rule: {e}."));
                    errors.push((key.to_string(), err));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(msg, errors))
    }
}
