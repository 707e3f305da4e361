//! The values a write stores: the body's fields (and modifiers) checked against the
//! collection's fields and the auth steps, passwords hashed, relations checked to exist,
//! and unique-index violations named after their fields.

use crate::app::App;
use crate::collections::ids::{is_valid_record_id, new_record_id};
use crate::collections::model::Collection;
use crate::db::{Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::{format_datetime, Change, Field, FieldError, FieldKind};
use crate::records::auth_steps::{self, FieldStep};
use crate::records::read::{in_list, Record};
use sea_orm::sea_query::{Alias, Expr, Query};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Values sent for one field: a plain set, or `field+` / `+field` / `field-` modifiers,
/// applied as the field's type does.
pub(crate) fn apply_body(
    f: &Field,
    current: &Value,
    body: &Map<String, Value>,
) -> Option<std::result::Result<Value, FieldError>> {
    let change = Change::of(&f.name, body)?;
    Some(f.apply(current, &change))
}

/// The checked values to write for a create (`existing = None`) or an update.
/// `manager`: the requester is a superuser or satisfies the auth collection's
/// `manageRule` for this record, and so may set `verified` and `email` directly.
pub(crate) fn build_values(
    c: &Collection,
    body: &Map<String, Value>,
    existing: Option<&Record>,
    manager: bool,
    action: &str,
    uploaded: &HashSet<String>,
) -> Result<Record> {
    let mut errors: Vec<(String, FieldError)> = Vec::new();
    let mut out = Record::new();
    let now = format_datetime(chrono::Utc::now());
    for f in &c.fields {
        let current = existing
            .and_then(|e| e.get(&f.name))
            .cloned()
            .unwrap_or_else(|| f.zero());
        match &f.kind {
            FieldKind::Autodate(a) => {
                if (existing.is_none() && a.on_create) || a.on_update {
                    out.insert(f.name.clone(), Value::String(now.clone()));
                }
                continue;
            }
            // Numbered inside the create's transaction; never set by a request.
            FieldKind::Number(n) if n.sequence_of.is_some() => continue,
            _ if f.name == "id" => {
                if existing.is_some() {
                    if body.get("id").is_some_and(|v| {
                        v.as_str() != existing.and_then(|e| e.get("id")).and_then(Value::as_str)
                    }) {
                        errors.push((
                            "id".into(),
                            FieldError::new(
                                "validation_id_change",
                                "The record id cannot be changed.",
                            ),
                        ));
                    }
                    continue;
                }
                let id = match body.get("id") {
                    Some(Value::String(s)) if !s.is_empty() => {
                        if !is_valid_record_id(s) {
                            errors.push((
                                "id".into(),
                                FieldError::new("validation_invalid_format", "Invalid id format."),
                            ));
                            continue;
                        }
                        if let Err(e) = f.prepare(&Value::String(s.clone())) {
                            errors.push(("id".into(), e));
                            continue;
                        }
                        s.clone()
                    }
                    Some(Value::String(_)) | Some(Value::Null) | None => new_record_id(),
                    Some(_) => {
                        errors.push(("id".into(), FieldError::invalid_type("a string")));
                        continue;
                    }
                };
                out.insert("id".into(), Value::String(id));
                continue;
            }
            FieldKind::File(_)
                if body.contains_key(&f.name)
                    || body.contains_key(&format!("{}+", f.name))
                    || body.contains_key(&format!("+{}", f.name)) =>
            {
                // Names must be of files already stored or uploaded with this request.
                let requested = apply_body(f, &current, body);
                if let Some(Ok(v)) = &requested {
                    let stored: HashSet<String> = crate::fields::as_string_list_pub(&current);
                    let mut unknown: Vec<String> = crate::fields::as_string_list_pub(v)
                        .into_iter()
                        .filter(|n| !stored.contains(n) && !uploaded.contains(n))
                        .collect();
                    if !unknown.is_empty() {
                        unknown.sort();
                        errors.push((
                            f.name.clone(),
                            FieldError::new(
                                "validation_invalid_file",
                                format!(
                                    "Unknown file name(s): {}. New files are uploaded as multipart/form-data.",
                                    unknown.join(", ")
                                ),
                            ),
                        ));
                        continue;
                    }
                }
            }
            _ => {}
        }
        if c.is_auth() {
            match auth_steps::field_step(f, body, existing, manager) {
                FieldStep::Set(v) => {
                    out.insert(f.name.clone(), v);
                    continue;
                }
                FieldStep::Keep => continue,
                FieldStep::Refuse(e) => {
                    errors.push((f.name.clone(), e));
                    continue;
                }
                FieldStep::AsAnyField => {}
            }
        }
        match apply_body(f, &current, body) {
            None if existing.is_some() => {}
            None => {
                // A create without this field: autogenerate or validate the zero value.
                if let Some(v) = f.autogenerate() {
                    out.insert(f.name.clone(), v);
                    continue;
                }
                match f.prepare(&Value::Null) {
                    Ok(v) => {
                        out.insert(f.name.clone(), v);
                    }
                    Err(e) => errors.push((f.name.clone(), e)),
                }
            }
            Some(Ok(v)) => {
                out.insert(f.name.clone(), v);
            }
            Some(Err(e)) => errors.push((f.name.clone(), e)),
        }
    }
    if c.is_auth() {
        errors.extend(auth_steps::body_errors(body));
    }
    if !errors.is_empty() {
        return Err(Error::fields(format!("Failed to {action} record."), errors));
    }
    Ok(out)
}

/// Turns the plain values of secret fields (passwords) into hashes, just before writing.
pub(crate) async fn hash_passwords(app: &App, c: &Collection, values: &mut Record) -> Result<()> {
    for f in c.fields.iter().filter(|f| f.is_write_only()) {
        if let Some(Value::String(p)) = values.get(&f.name).cloned() {
            if !p.is_empty() {
                let h = app.hash_password(&p).await?;
                values.insert(f.name.clone(), Value::String(h));
            }
        }
    }
    Ok(())
}

/// Checks that every relation id exists in its target collection (inside the write).
pub(crate) async fn check_relations(
    txn: &dyn WriteTx,
    d: Dialect,
    reg: &crate::collections::registry::Registry,
    c: &Collection,
    values: &Record,
    action: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    for f in &c.fields {
        let FieldKind::Relation(rel) = &f.kind else {
            continue;
        };
        let Some(v) = values.get(&f.name) else {
            continue;
        };
        let ids: Vec<String> = match v {
            Value::String(s) if !s.is_empty() => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        };
        if ids.is_empty() {
            continue;
        }
        let Some(target) = reg.find(&rel.collection_id) else {
            errors.push((
                f.name.clone(),
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            ));
            continue;
        };
        // A group commit's writes often name the same records (their owner): what an
        // earlier one found stays known until a statement could have removed it.
        let fact = |id: &str| format!("row {} {id}", target.id);
        let unknown: Vec<String> = ids.into_iter().filter(|id| !txn.knows(&fact(id))).collect();
        if unknown.is_empty() {
            continue;
        }
        let mut q = Query::select();
        q.from(Alias::new(target.name.as_str()))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .and_where(in_list(
                Expr::col(Alias::new("id")),
                unknown.iter().cloned(),
            ));
        let n: i64 = txn
            .query_one(d.build(&q))
            .await?
            .map(|r| r.i64("n"))
            .transpose()?
            .unwrap_or(0);
        if n as usize == unknown.len() {
            unknown.iter().for_each(|id| txn.note(&fact(id)));
        } else {
            errors.push((
                f.name.clone(),
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(format!("Failed to {action} record."), errors))
    }
}

/// Maps a unique-index violation to the field(s) of that index.
pub(crate) fn unique_error(c: &Collection, err: Error, action: &str) -> Error {
    if !err.is_unique_violation() {
        return err;
    }
    let text = err.to_string();
    let mut fields: Vec<String> = c
        .indexes
        .iter()
        .filter_map(|s| crate::collections::schema::IndexDef::parse(s).ok())
        .filter(|i| {
            text.contains(&i.name)
                || i.columns
                    .iter()
                    .any(|(col, _)| text.contains(&format!("{}.{}", c.name, col)))
        })
        .flat_map(|i| i.columns.into_iter().map(|(col, _)| col))
        .collect();
    if fields.is_empty() && (text.contains(&format!("{}.id", c.name)) || text.contains("_pkey")) {
        fields.push("id".into());
    }
    if fields.is_empty() {
        return Error::BadRequest(format!(
            "Failed to {action} record: a value must be unique."
        ));
    }
    Error::fields(
        format!("Failed to {action} record."),
        fields
            .into_iter()
            .map(|f| {
                (
                    f,
                    FieldError::new("validation_not_unique", "Value must be unique."),
                )
            })
            .collect(),
    )
}
