//! Listing collections (`GET /api/collections`): the `_collections` table read through the
//! filter language by the records' list provider, each collection shown from the registry.

use crate::app::App;
use crate::error::Result;
use crate::fields::{Field, FieldKind, TextField};
use crate::filter::{PlainTable, RequestInfo};
use crate::records::read::{page, ListParams};
use serde_json::{json, Value};
use std::sync::LazyLock;

/// `_collections` described for the filter language and the list provider.
static COLLECTIONS_TABLE: LazyLock<PlainTable> = LazyLock::new(|| {
    let text = |n: &str| Field::new(n, FieldKind::Text(TextField::default()));
    PlainTable {
        store: crate::filter::Store::Main,
        name: "_collections",
        fields: vec![
            crate::collections::model::id_field(),
            text("name"),
            text("type"),
            Field::new("system", FieldKind::Bool(Default::default())),
            text("created"),
            text("updated"),
        ],
    }
});

/// A page of collections in PocketBase's list envelope, filtered, sorted and counted by
/// the list provider records use (oldest first by default), shown from the registry.
pub(crate) async fn list(app: &App, req: &RequestInfo, p: &ListParams) -> Result<Value> {
    let mut p = p.clone();
    if p.sort.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.sort = Some("created".into());
    }
    let rows = page(app, &*COLLECTIONS_TABLE, req, &p, Vec::new()).await?;
    let reg = app.registry();
    let items: Vec<Value> = rows
        .items
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .filter_map(|id| reg.find(id))
        .map(|c| c.to_json())
        .collect();
    Ok(json!({
        "page": rows.page,
        "perPage": rows.per_page,
        "totalItems": rows.total_items,
        "totalPages": rows.total_pages,
        "items": items,
    }))
}
