//! Records an agent owns (through an `agent` relation): found and listed for that agent
//! only, so no route can show one agent another's.

use crate::Agent;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};

/// The record `id` of `collection` if `agent` owns it; a 404 otherwise, whether it
/// exists or not (`what` names it: "order"; `listed_at` says where the agent's own are).
pub async fn find_own(
    app: &App,
    collection: &str,
    agent: &Agent,
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
        Some(r) if r.get_str("agent") == agent.id => Ok(r),
        _ => Err(missing()),
    }
}

/// A page of `agent`'s records of `collection`, newest first, and how many there are.
pub async fn list_own(
    app: &App,
    collection: &str,
    agent: &Agent,
    limit: u64,
    offset: u64,
) -> Result<(Vec<Record>, i64)> {
    let mine = RecordQuery::filter("agent = {:agent}").bind("agent", agent.id.as_str());
    let total = app.count_records(collection, &mine).await?;
    let page = mine
        .sort("-created,-id")
        .limit(limit.clamp(1, 100))
        .offset(offset);
    Ok((app.find_records(collection, &page).await?, total))
}
