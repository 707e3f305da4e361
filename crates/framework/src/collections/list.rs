//! Listing collections (`GET /api/collections`): `_collections` read through the filter
//! language, then shown from the registry, paged.

use super::model::Collection;
use super::registry::Registry;
use crate::app::App;
use crate::error::Result;
use crate::fields::{Field, FieldKind, TextField};
use crate::filter::{compile_filter, compile_sort, RequestInfo, Scope};
use crate::records::read::{ListParams, DEFAULT_PER_PAGE, MAIN, MAX_PER_PAGE};
use sea_orm::sea_query::{Alias, Expr, Query};
use serde_json::{json, Value};

/// `_collections` described as a collection, so its list accepts the filter language.
fn registry_collection() -> Collection {
    let text = |n: &str| Field::new(n, FieldKind::Text(TextField::default()));
    let mut c = Collection::base("_collections");
    c.fields = vec![
        crate::collections::model::id_field(),
        text("name"),
        text("type"),
        Field::new("system", FieldKind::Bool(Default::default())),
        text("created"),
        text("updated"),
    ];
    c
}

/// A page of collections in PocketBase's list envelope, filtered and sorted as the
/// requester (a superuser) asks; oldest first by default.
pub(crate) async fn list(app: &App, req: &RequestInfo, p: &ListParams) -> Result<Value> {
    let meta = registry_collection();
    let reg = Registry::new(vec![meta.clone()]);
    let scope = Scope {
        registry: &reg,
        collection: &meta,
        alias: MAIN,
        request: req,
        dialect: app.dialect(),
        now: chrono::Utc::now(),
        client_filter: true,
    };
    let per_page = match p.per_page {
        0 => DEFAULT_PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let page = p.page.max(1);
    let mut q = Query::select();
    q.from_as(Alias::new("_collections"), Alias::new(MAIN))
        .column((Alias::new(MAIN), Alias::new("id")));
    if let Some(f) = p.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        q.and_where(compile_filter(f, &scope)?.into_expr());
    }
    match p.sort.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            for (sql, order) in compile_sort(s, &scope)? {
                q.order_by_expr(Expr::cust(sql), order);
            }
        }
        None => {
            q.order_by_expr(
                Expr::cust(format!("\"{MAIN}\".\"created\"")),
                sea_orm::sea_query::Order::Asc,
            );
        }
    }
    let d = app.dialect();
    let rows = app.db().query_all(d.build(&q)).await?;
    let reg = app.registry();
    let all: Vec<Value> = rows
        .iter()
        .filter_map(|r| r.string("id").ok())
        .filter_map(|id| reg.find(&id))
        .map(|c| c.to_json())
        .collect();
    let total = all.len() as i64;
    let items: Vec<Value> = all
        .into_iter()
        .skip((page - 1).saturating_mul(per_page) as usize)
        .take(per_page as usize)
        .collect();
    let (ti, tp) = if p.skip_total {
        (-1, -1)
    } else {
        (total, (total + per_page as i64 - 1) / per_page as i64)
    };
    Ok(
        json!({"page": page, "perPage": per_page, "totalItems": ti, "totalPages": tp, "items": items}),
    )
}
