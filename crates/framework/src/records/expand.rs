//! `expand`: relations and back-relations of listed records, nested, fetched with one
//! query per relation and level (never one per row), through the targets' view rules.

use crate::app::App;
use crate::collections::model::Collection;
use crate::db::{quote, Dialect};
use crate::error::{Error, Result};
use crate::fields::FieldKind;
use crate::filter::RequestInfo;
use crate::records::columns::record_from_row;
use crate::records::read::{in_list, present_all, rule_access, select_all, Access, Record, MAIN};
use sea_orm::sea_query::{Alias, Expr, Order};
use sea_orm::Value as SqlValue;
use serde_json::{Map, Value};
use std::collections::HashMap;

const MAX_EXPAND_DEPTH: usize = 6;

/// Parses `a,b.c,d_via_e` into a tree of names.
fn expand_tree(param: &str) -> HashMap<String, String> {
    let mut tree: HashMap<String, Vec<String>> = HashMap::new();
    for part in param.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (head, rest) = part.split_once('.').unwrap_or((part, ""));
        let e = tree.entry(head.to_string()).or_default();
        if !rest.is_empty() {
            e.push(rest.to_string());
        }
    }
    tree.into_iter().map(|(k, v)| (k, v.join(","))).collect()
}

/// Fills `expand` of each item: one query per relation and level, never one per row.
/// Relations the requester may not view, and unknown names, are left out silently.
pub fn expand<'a>(
    app: &'a App,
    c: &'a Collection,
    items: &'a mut [Record],
    param: &'a str,
    req: &'a RequestInfo,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(expand_level(app, c, items, param, req, 0))
}

async fn expand_level(
    app: &App,
    c: &Collection,
    items: &mut [Record],
    param: &str,
    req: &RequestInfo,
    depth: usize,
) -> Result<()> {
    if depth >= MAX_EXPAND_DEPTH || items.is_empty() {
        return Ok(());
    }
    let reg = app.registry();
    for (name, nested) in expand_tree(param) {
        if let Some((back_name, back_field)) = name.split_once("_via_") {
            let Some(target) = reg.find(back_name) else {
                continue;
            };
            let Some(FieldKind::Relation(rel)) = target.field(back_field).map(|f| &f.kind) else {
                continue;
            };
            if rel.collection_id != c.id {
                continue;
            }
            let parent_ids: Vec<String> = items
                .iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            let mut related = fetch_related(
                app,
                &target,
                req,
                RelatedBy::BackRef {
                    field: back_field,
                    multi: rel.is_multi(),
                    parents: &parent_ids,
                },
            )
            .await?;
            if related.is_empty() {
                continue;
            }
            if !nested.is_empty() {
                Box::pin(expand_level(
                    app,
                    &target,
                    &mut related,
                    &nested,
                    req,
                    depth + 1,
                ))
                .await?;
            }
            // Which related records belong to which item, read before presenting them
            // (the back-relation field itself may be hidden from the requester).
            let owners: Vec<Vec<usize>> = items
                .iter()
                .map(|item| {
                    let pid = item.get("id").cloned().unwrap_or(Value::Null);
                    (0..related.len())
                        .filter(|&i| match related[i].get(back_field) {
                            Some(Value::Array(a)) => a.contains(&pid),
                            Some(v) => *v == pid,
                            None => false,
                        })
                        .collect()
                })
                .collect();
            present_all(app, &target, &mut related, req).await?;
            for (item, mine) in items.iter_mut().zip(owners) {
                if !mine.is_empty() {
                    let list = mine.iter().map(|&i| Value::Object(related[i].clone()));
                    expand_slot(item).insert(name.clone(), Value::Array(list.collect()));
                }
            }
            continue;
        }
        let Some(field) = c.field(&name) else {
            continue;
        };
        let FieldKind::Relation(rel) = &field.kind else {
            continue;
        };
        let Some(target) = reg.find(&rel.collection_id) else {
            continue;
        };
        let mut ids: Vec<String> = Vec::new();
        for it in items.iter() {
            match it.get(&name) {
                Some(Value::String(s)) if !s.is_empty() => ids.push(s.clone()),
                Some(Value::Array(a)) => {
                    ids.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)))
                }
                _ => {}
            }
        }
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let mut related = fetch_related(app, &target, req, RelatedBy::Ids(&ids)).await?;
        if !nested.is_empty() {
            Box::pin(expand_level(
                app,
                &target,
                &mut related,
                &nested,
                req,
                depth + 1,
            ))
            .await?;
        }
        present_all(app, &target, &mut related, req).await?;
        let by_id: HashMap<String, Record> = related
            .into_iter()
            .map(|r| {
                (
                    r.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    r,
                )
            })
            .collect();
        for item in items.iter_mut() {
            let value = match item.get(&name) {
                Some(Value::String(s)) => by_id.get(s).cloned().map(Value::Object),
                Some(Value::Array(a)) => {
                    let list: Vec<Value> = a
                        .iter()
                        .filter_map(|v| {
                            v.as_str()
                                .and_then(|s| by_id.get(s))
                                .cloned()
                                .map(Value::Object)
                        })
                        .collect();
                    (!list.is_empty()).then_some(Value::Array(list))
                }
                _ => None,
            };
            if let Some(v) = value {
                expand_slot(item).insert(name.clone(), v);
            }
        }
    }
    Ok(())
}

fn expand_slot(item: &mut Record) -> &mut Map<String, Value> {
    let slot = item
        .entry("expand")
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("object just ensured")
}

enum RelatedBy<'a> {
    Ids(&'a [String]),
    BackRef {
        field: &'a str,
        multi: bool,
        parents: &'a [String],
    },
}

/// The records of `target` matching `by`, filtered by its view rule (none if locked).
async fn fetch_related(
    app: &App,
    target: &Collection,
    req: &RequestInfo,
    by: RelatedBy<'_>,
) -> Result<Vec<Record>> {
    let access = match rule_access(app, target, &target.view_rule, req) {
        Ok(a) => a,
        Err(Error::Forbidden(_)) => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let d = app.dialect();
    let mut q = select_all(target);
    match by {
        RelatedBy::Ids(ids) => {
            q.and_where(in_list(
                Expr::col((Alias::new(MAIN), Alias::new("id"))),
                ids.iter().cloned(),
            ));
        }
        RelatedBy::BackRef {
            field,
            multi: false,
            parents,
        } => {
            q.and_where(in_list(
                Expr::col((Alias::new(MAIN), Alias::new(field))),
                parents.iter().cloned(),
            ));
        }
        RelatedBy::BackRef {
            field,
            multi: true,
            parents,
        } => {
            let col = format!("{}.{}", quote(MAIN), quote(field));
            let list = parents
                .iter()
                .map(|_| {
                    if d == Dialect::Sqlite {
                        "?".to_string()
                    } else {
                        "$N".to_string()
                    }
                })
                .collect::<Vec<_>>();
            let sql = match d {
                Dialect::Sqlite => format!(
                    "EXISTS (SELECT 1 FROM json_each({col}) WHERE json_each.value IN ({}))",
                    list.join(", ")
                ),
                Dialect::Postgres => {
                    let numbered: Vec<String> =
                        (1..=parents.len()).map(|i| format!("${i}")).collect();
                    format!("EXISTS (SELECT 1 FROM jsonb_array_elements_text({col}) AS __v(value) WHERE __v.value IN ({}))", numbered.join(", "))
                }
            };
            let values: Vec<SqlValue> = parents
                .iter()
                .map(|p| SqlValue::String(Some(p.clone())))
                .collect();
            q.and_where(Expr::cust_with_values(sql, values));
        }
    }
    if let Access::Where(e) = access {
        q.and_where(e);
    }
    q.order_by((Alias::new(MAIN), Alias::new("id")), Order::Asc);
    let rows = app.db().query_all(d.build(&q)).await?;
    Ok(rows.iter().map(|r| record_from_row(r, target)).collect())
}
