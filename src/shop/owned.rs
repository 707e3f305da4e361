//! Records a buyer owns (through an `agent` or a `user` relation): found and listed for
//! that buyer only, so no route can show one buyer another's.

use super::buyer::Buyer;
use framework::records::{Record, RecordQuery};
use framework::{App, Error, Result};

/// The record `id` of `collection` if `buyer` owns it; a 404 otherwise, whether it
/// exists or not (`what` names it: "order"; `listed_at` says where the buyer's own are).
pub async fn find_own(
    app: &App,
    collection: &str,
    buyer: &Buyer,
    id: &str,
    what: &str,
    listed_at: &str,
) -> Result<Record> {
    let missing = || {
        Error::NotFound(format!(
            "You have no {what} {id:?}: {listed_at} lists yours."
        ))
    };
    if !framework::collections::is_valid_record_id(id) {
        return Err(missing());
    }
    match app.find_record(collection, id).await? {
        Some(r) if buyer.owns(&r) => Ok(r),
        _ => Err(missing()),
    }
}

/// A page of `buyer`'s records of `collection`, newest first, and how many there are.
pub async fn list_own(
    app: &App,
    collection: &str,
    buyer: &Buyer,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Record>, i64)> {
    let mine = RecordQuery::filter(&format!("{} = {{:owner}}", buyer.owner_field()))
        .bind("owner", buyer.id());
    let total = app.count_records(collection, &mine).await?;
    let page = mine
        .sort("-created,-id")
        .limit(limit.clamp(1, 100))
        .offset(offset);
    Ok((app.find_records(collection, &page).await?, total))
}
