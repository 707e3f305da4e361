//! The agent inbox: messages from the platform to one agent (`messages`), which only
//! that agent sees and changes.

use super::list_as_system;
use framework::core::error::{Error, Result};
use framework::core::records::{self, ListParams, Record};
use framework::core::{system_request, App};
use serde_json::{json, Map, Value};

/// What kind of message it is (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Welcome,
    OrderUpdate,
    System,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Welcome => "welcome",
            MessageType::OrderUpdate => "order_update",
            MessageType::System => "system",
        }
    }
}

/// What a message points to, if anything (`ref_type`, `ref_id`), e.g. `("order", id)`.
pub type Reference<'a> = Option<(&'a str, &'a str)>;

/// Sends `agent` a message; returns its id. For any feature that tells agents things.
pub async fn send_inbox_message(
    app: &App,
    agent: &str,
    kind: MessageType,
    subject: &str,
    body: &str,
    reference: Reference<'_>,
) -> Result<String> {
    let c = app.collection("messages")?;
    let mut rec = Map::new();
    rec.insert("agent_id".into(), json!(agent));
    rec.insert("type".into(), json!(kind.as_str()));
    rec.insert("subject".into(), json!(subject));
    rec.insert("body".into(), json!(body));
    rec.insert("read".into(), json!(false));
    let (ref_type, ref_id) = reference.unwrap_or_default();
    rec.insert("ref_type".into(), json!(ref_type));
    rec.insert("ref_id".into(), json!(ref_id));
    let saved = records::create(app, &c, &system_request(app)?, rec).await?;
    Ok(saved
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// One page of an agent's messages, newest first, with counts.
pub struct Page {
    pub messages: Vec<Record>,
    /// Messages matching the request (all, or unread only).
    pub total: i64,
    /// All unread messages of the agent.
    pub unread: i64,
}

/// The agent's own messages: every inbox filter starts with this, `{:agent}` bound.
const MINE: &str = "agent_id = {:agent}";
const MINE_UNREAD: &str = "agent_id = {:agent} && read = false";

pub async fn unread_count(app: &App, agent: &str) -> Result<i64> {
    let params = ListParams {
        per_page: 1,
        ..ListParams::filtered(MINE_UNREAD, [("agent", json!(agent))])
    };
    Ok(list_as_system(app, "messages", params).await?.total_items)
}

/// `limit` messages from `offset`, newest first.
pub async fn list(
    app: &App,
    agent: &str,
    unread_only: bool,
    limit: u64,
    offset: u64,
) -> Result<Page> {
    let filter = if unread_only { MINE_UNREAD } else { MINE };
    // The records API pages by page number; an offset that is not a multiple of the
    // limit reads the two pages around it.
    let limit = limit.clamp(1, 100);
    let first_page = (offset / limit).saturating_add(1);
    let skip = (offset % limit) as usize;
    let mut items = Vec::new();
    let mut total = 0;
    for page in [first_page, first_page.saturating_add(1)] {
        let params = ListParams {
            page,
            per_page: limit,
            sort: Some("-created,-id".into()),
            ..ListParams::filtered(filter, [("agent", json!(agent))])
        };
        let r = list_as_system(app, "messages", params).await?;
        total = r.total_items;
        items.extend(r.items);
        if skip == 0 || (items.len() as u64) < limit {
            break;
        }
    }
    let messages = items
        .into_iter()
        .skip(skip)
        .take(limit as usize)
        .map(present)
        .collect();
    let unread = if unread_only {
        total
    } else {
        unread_count(app, agent).await?
    };
    Ok(Page {
        messages,
        total,
        unread,
    })
}

/// A message as agents see it.
fn present(rec: Record) -> Record {
    let keep = [
        "id", "type", "subject", "body", "read", "ref_type", "ref_id", "created",
    ];
    rec.into_iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .collect()
}

/// The message `id` if it belongs to `agent` (another agent's message is "not found").
async fn own(app: &App, agent: &str, id: &str) -> Result<()> {
    let not_found = || Error::NotFound("No such message in your inbox.".into());
    if !framework::core::ids::is_valid_record_id(id) {
        return Err(not_found());
    }
    let params = ListParams {
        per_page: 1,
        skip_total: true,
        ..ListParams::filtered(
            "id = {:id} && agent_id = {:agent}",
            [("id", json!(id)), ("agent", json!(agent))],
        )
    };
    let r = list_as_system(app, "messages", params).await?;
    if r.items.is_empty() {
        return Err(not_found());
    }
    Ok(())
}

pub async fn mark_read(app: &App, agent: &str, id: &str) -> Result<()> {
    own(app, agent, id).await?;
    let c = app.collection("messages")?;
    let mut body = Map::new();
    body.insert("read".into(), json!(true));
    records::update(app, &c, id, &system_request(app)?, body).await?;
    Ok(())
}

pub async fn delete(app: &App, agent: &str, id: &str) -> Result<()> {
    own(app, agent, id).await?;
    let c = app.collection("messages")?;
    records::delete(app, &c, id, &system_request(app)?).await
}
