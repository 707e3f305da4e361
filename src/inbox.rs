//! The agent inbox: messages from the platform to one agent (`messages`), which only
//! that agent sees and changes.

use framework::db::quote;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::json;

/// What kind of message it is (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Welcome,
    OrderUpdate,
    /// A chat message mentioned the agent.
    ChatMention,
    System,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Welcome => "welcome",
            MessageType::OrderUpdate => "order_update",
            MessageType::ChatMention => "chat_mention",
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
    let (ref_type, ref_id) = reference.unwrap_or_default();
    let message = json!({
        "agent_id": agent, "type": kind.as_str(), "subject": subject, "body": body,
        "read": false, "ref_type": ref_type, "ref_id": ref_id,
    });
    let saved = app.create_record(MESSAGES, message).await?;
    Ok(saved.id().to_string())
}

/// One page of an agent's messages, newest first, with counts.
pub struct Page {
    pub messages: Vec<Record>,
    /// Messages matching the request (all, or unread only).
    pub total: i64,
    /// All unread messages of the agent.
    pub unread: i64,
}

const MESSAGES: &str = "messages";

/// The agent's own messages: every inbox filter starts with this, `{:agent}` bound.
const MINE: &str = "agent_id = {:agent}";
const MINE_UNREAD: &str = "agent_id = {:agent} && read = false";

pub async fn unread_count(app: &App, agent: &str) -> Result<i64> {
    let mine = RecordQuery::filter(MINE_UNREAD).bind("agent", agent);
    app.count_records(MESSAGES, &mine).await
}

/// How many messages the agent has, and how many are unread, in one query (a page of
/// the inbox would otherwise cost a count for each).
async fn counts(app: &App, agent: &str) -> Result<(i64, i64)> {
    let d = app.dialect();
    let sql = format!(
        "SELECT COUNT(*) AS \"total\", \
         COALESCE(SUM(CASE WHEN \"read\" = {} THEN 0 ELSE 1 END), 0) AS \"unread\" \
         FROM {} WHERE \"agent_id\" = {}",
        d.param(1),
        quote(MESSAGES),
        d.param(2)
    );
    let row = app
        .db()
        .query_one(d.raw(sql, vec![true.into(), agent.into()]))
        .await
        .map_err(Error::from)?;
    match row {
        Some(r) => Ok((r.i64("total")?, r.i64("unread")?)),
        None => Ok((0, 0)),
    }
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
    let mine = RecordQuery::filter(filter).bind("agent", agent);
    let (all, unread) = counts(app, agent).await?;
    let total = if unread_only { unread } else { all };
    let page = mine
        .sort("-created,-id")
        .limit(limit.clamp(1, 100))
        .offset(offset);
    let messages = app
        .find_records(MESSAGES, &page)
        .await?
        .into_iter()
        .map(present)
        .collect();
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
    if !framework::collections::is_valid_record_id(id) {
        return Err(not_found());
    }
    let query = RecordQuery::filter("id = {:id} && agent_id = {:agent}")
        .bind("id", id)
        .bind("agent", agent);
    match app.find_first(MESSAGES, &query).await? {
        Some(_) => Ok(()),
        None => Err(not_found()),
    }
}

pub async fn mark_read(app: &App, agent: &str, id: &str) -> Result<()> {
    own(app, agent, id).await?;
    app.update_record(MESSAGES, id, json!({"read": true}))
        .await?;
    Ok(())
}

pub async fn delete(app: &App, agent: &str, id: &str) -> Result<()> {
    own(app, agent, id).await?;
    app.delete_record(MESSAGES, id).await
}
