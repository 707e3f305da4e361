//! Sequence fields: a create's number among the records of its group (the same value of
//! the field the sequence counts by), taken inside the write transaction so numbers
//! follow commit order: a reader who saw number N has seen every number below it.

use crate::collections::model::Collection;
use crate::db::{quote, Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::{Field, FieldKind};
use crate::records::columns::to_sql;
use crate::records::read::Record;
use serde_json::{json, Value};

/// The collection's sequence fields with the field each counts by.
pub(crate) fn fields(c: &Collection) -> impl Iterator<Item = (&Field, &str)> {
    c.fields.iter().filter_map(|f| match &f.kind {
        FieldKind::Number(n) => n.sequence_of.as_deref().map(|by| (f, by)),
        _ => None,
    })
}

/// Numbers `stored` (a record about to be inserted) in each of its collection's
/// sequences; returns the numbers given.
pub(crate) async fn assign(
    txn: &dyn WriteTx,
    d: Dialect,
    c: &Collection,
    stored: &mut Record,
) -> Result<Record> {
    let mut assigned = Record::new();
    for (f, by) in fields(c) {
        let group_field = c
            .field(by)
            .ok_or_else(|| Error::internal(format!("{}: no field {by}", c.name)))?;
        let group = stored.get(by).cloned().unwrap_or(Value::Null);
        if d == Dialect::Postgres {
            // Writers of one group take turns until they commit; SQLite has one writer.
            let key = format!("{}.{}:{}", c.name, f.name, group);
            let sql = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
            txn.execute(d.raw(sql, vec![key.into()])).await?;
        }
        let sql = format!(
            "SELECT COALESCE(MAX({col}), 0) + 1 AS \"n\" FROM {table} WHERE {by} = {p}",
            col = quote(&f.name),
            table = quote(&c.name),
            by = quote(by),
            p = d.param(1),
        );
        let value = to_sql(group_field.storage(), &group, d);
        let row = txn.query_one(d.raw(sql, vec![value])).await?;
        // Numbers are stored as doubles (PostgreSQL answers one); they are whole here.
        let n = row.and_then(|r| r.f64("n")).unwrap_or(1.0) as i64;
        stored.insert(f.name.clone(), json!(n));
        assigned.insert(f.name.clone(), json!(n));
    }
    Ok(assigned)
}
