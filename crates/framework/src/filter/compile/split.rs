//! Which parts of a filter can be checked in `EXISTS` subqueries of their own. A filter
//! whose joins all sit in one `EXISTS` makes the database walk every combination of the
//! joined rows; `A || B` is the same as "some row satisfies A, or some row satisfies B",
//! and conjuncts that share no join are independent, so they are split apart. Parts that
//! name the same join stay together: they must see the same joined row.

use super::super::parser::{Expr, Operand};
use super::super::Table;
use std::collections::BTreeSet;

/// The joins an operand may need, by a key shared by every operand that would reuse the
/// same join. Unsure cases get a key, which only keeps parts together.
fn join_keys(op: &Operand, table: &dyn Table, out: &mut BTreeSet<String>) {
    match op {
        Operand::Text(_) | Operand::Number(_) => {}
        Operand::Func { args, .. } => args.iter().for_each(|a| join_keys(a, table, out)),
        Operand::Ident(path) => {
            if let Some(rest) = path.strip_prefix("@collection.") {
                let head = rest.split('.').next().unwrap_or(rest);
                out.insert(format!("@collection.{head}"));
            } else if let Some(rest) = path.strip_prefix("@request.") {
                // `@request.auth.id`, `@request.body.x`: values; longer paths may join.
                if rest.split('.').count() > 2 {
                    out.insert("@request".into());
                }
            } else if !path.starts_with('@') {
                let head = path.split(['.', ':']).next().unwrap_or(path);
                let plain = !path.contains('.') && !head.contains("_via_");
                let single = table.field(head).is_some_and(|f| !f.is_multi());
                if !(plain && single) {
                    out.insert(head.to_string());
                }
            }
        }
    }
}

fn keys_of(e: &Expr, table: &dyn Table, out: &mut BTreeSet<String>) {
    match e {
        Expr::And(parts) | Expr::Or(parts) => parts.iter().for_each(|p| keys_of(p, table, out)),
        Expr::Cmp(c) => {
            join_keys(&c.left, table, out);
            join_keys(&c.right, table, out);
        }
    }
}

/// The conjuncts of an `&&` in groups that share joins (in their original order).
pub(super) fn independent_groups<'e>(parts: &'e [Expr], table: &dyn Table) -> Vec<Vec<&'e Expr>> {
    let mut groups: Vec<(BTreeSet<String>, Vec<&Expr>)> = Vec::new();
    for part in parts {
        let mut keys = BTreeSet::new();
        keys_of(part, table, &mut keys);
        let mut merged = (keys, vec![part]);
        let mut i = 0;
        while i < groups.len() {
            if !groups[i].0.is_disjoint(&merged.0) {
                let (k, mut members) = groups.remove(i);
                merged.0.extend(k);
                members.append(&mut merged.1);
                merged.1 = members;
            } else {
                i += 1;
            }
        }
        groups.push(merged);
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// Whether `e` needs any join at all.
pub(super) fn joins_nothing(e: &Expr, table: &dyn Table) -> bool {
    let mut keys = BTreeSet::new();
    keys_of(e, table, &mut keys);
    keys.is_empty()
}
