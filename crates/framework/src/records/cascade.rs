//! Deleting a record inside the write transaction and what refers to it: relations
//! that cascade, refuse the delete, or are unset, to a bounded depth.

use crate::collections::model::Collection;
use crate::db::{quote, Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::FieldKind;
use sea_orm::Value as SqlValue;

pub(crate) const MAX_CASCADE_DEPTH: usize = 16;

/// Deletes one record and resolves references to it: cascade, refuse, or unset. Adds
/// every record it deletes to `deleted` as (collection id, record id).
pub(crate) fn delete_in_tx<'a>(
    txn: &'a dyn WriteTx,
    d: Dialect,
    reg: &'a crate::collections::registry::Registry,
    c: &'a Collection,
    id: String,
    depth: usize,
    deleted: &'a mut Vec<(String, String)>,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if depth > MAX_CASCADE_DEPTH {
            return Err(Error::BadRequest("Cascade delete goes too deep.".into()));
        }
        for other in reg.all() {
            for f in &other.fields {
                let FieldKind::Relation(rel) = &f.kind else {
                    continue;
                };
                if rel.collection_id != c.id || other.is_view() {
                    continue;
                }
                let table = quote(&other.name);
                let col = quote(&f.name);
                let (ph, ph2) = match d {
                    Dialect::Sqlite => ("?", "?"),
                    Dialect::Postgres => ("$1", "$1"),
                };
                let matches = match (rel.is_multi(), d) {
                    (false, _) => format!("{col} = {ph}"),
                    (true, Dialect::Sqlite) => format!(
                        "EXISTS (SELECT 1 FROM json_each({col}) WHERE json_each.value = {ph})"
                    ),
                    (true, Dialect::Postgres) => {
                        format!("{col} @> jsonb_build_array(CAST({ph} AS TEXT))")
                    }
                };
                let rows = txn
                    .query_all(d.raw(
                        format!("SELECT \"id\" FROM {table} WHERE {matches}"),
                        vec![id.clone().into()],
                    ))
                    .await?;
                let ids: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.string("id").ok())
                    .filter(|x| !(other.id == c.id && *x == id))
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                if rel.cascade_delete {
                    for rid in ids {
                        delete_in_tx(txn, d, reg, other, rid, depth + 1, deleted).await?;
                    }
                    continue;
                }
                if f.required {
                    return Err(Error::BadRequest(format!(
                        "The record cannot be deleted because it is part of a required reference in '{}'.",
                        other.name
                    )));
                }
                let unset = match (rel.is_multi(), d) {
                    (false, _) => format!("UPDATE {table} SET {col} = '' WHERE {matches}"),
                    (true, Dialect::Sqlite) => format!(
                        "UPDATE {table} SET {col} = (SELECT COALESCE(json_group_array(value), '[]') FROM json_each({col}) WHERE value != {ph2}) WHERE {matches}"
                    ),
                    (true, Dialect::Postgres) => format!("UPDATE {table} SET {col} = {col} - CAST({ph2} AS TEXT) WHERE {matches}"),
                };
                let values: Vec<SqlValue> = match d {
                    Dialect::Sqlite if rel.is_multi() => vec![id.clone().into(), id.clone().into()],
                    _ => vec![id.clone().into()],
                };
                txn.execute(d.raw(unset, values)).await?;
            }
        }
        let res = txn
            .execute(d.raw(
                format!(
                    "DELETE FROM {} WHERE \"id\" = {}",
                    quote(&c.name),
                    if d == Dialect::Sqlite { "?" } else { "$1" }
                ),
                vec![id.clone().into()],
            ))
            .await?;
        if res == 0 && depth == 0 {
            return Err(Error::not_found());
        }
        if res > 0 {
            deleted.push((c.id.clone(), id));
        }
        Ok(())
    })
}
