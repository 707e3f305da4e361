//! Listing collections (`GET /api/collections`): the `_collections` table read through the
//! filter language by the records' list provider, each collection shown from the registry.

use super::model::Collection;
use crate::app::App;
use crate::error::Result;
use crate::fields::{Field, FieldKind, TextField};
use crate::filter::RequestInfo;
use crate::records::read::{
    count_where, select, ListParams, Selection, DEFAULT_PER_PAGE, MAX_PER_PAGE,
};
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

/// A page of collections in PocketBase's list envelope, filtered, sorted and counted by
/// the list provider records use (oldest first by default), shown from the registry.
pub(crate) async fn list(app: &App, req: &RequestInfo, p: &ListParams) -> Result<Value> {
    let meta = registry_collection();
    let mut p = p.clone();
    if p.sort.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.sort = Some("created".into());
    }
    let per_page = match p.per_page {
        0 => DEFAULT_PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let page = p.page.max(1);
    let s = Selection::compile(app, &meta, req, &p, true)?;
    let offset = (page - 1).saturating_mul(per_page).min(i64::MAX as u64);
    let rows = select(app, &meta, &s.conditions, &s.order, per_page, offset).await?;
    let reg = app.registry();
    let items: Vec<Value> = rows
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .filter_map(|id| reg.find(id))
        .map(|c| c.to_json())
        .collect();
    let (ti, tp) = if p.skip_total {
        (-1, -1)
    } else {
        let total = count_where(app, &meta, s.conditions).await?;
        (total, (total + per_page as i64 - 1) / per_page as i64)
    };
    Ok(
        json!({"page": page, "perPage": per_page, "totalItems": ti, "totalPages": tp, "items": items}),
    )
}
