//! Typing and presence: realtime signals to the people who can read the channel or
//! workspace, never stored (a member's `last_seen` is written at most once a minute).

use super::members::{self, Who};
use super::Participant;
use super::{CHANNELS, MEMBERS, WORKSPACES};
use framework::records::{format_datetime, Record, RecordFields};
use framework::{App, Error, Result};
use serde_json::json;

/// The topic a client subscribes to for a channel's typing indicators.
pub fn typing_topic(channel: &str) -> String {
    format!("chat_typing/{channel}")
}

/// The topic a client subscribes to for a workspace's presence changes.
pub fn presence_topic(workspace: &str) -> String {
    format!("chat_presence/{workspace}")
}

/// `last_seen` is rewritten when older than this.
const SEEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The channel `id` and the caller's membership of its workspace, or 404 for a channel
/// the caller cannot read (the same answer as for one that does not exist).
pub async fn readable_channel(app: &App, p: &Participant, id: &str) -> Result<(Record, Record)> {
    let c = app.collection(CHANNELS)?;
    let channel = framework::records::view(app, &c, id, &p.request(), None).await?;
    let me = members::find(app, channel.get_str("workspace"), &p.who)
        .await?
        .ok_or_else(Error::not_found)?;
    Ok((channel, me))
}

/// Tells the channel's readers that the caller is typing; returns how many heard it here.
pub async fn typing(app: &App, p: &Participant, channel: &str) -> Result<usize> {
    let (channel, me) = readable_channel(app, p, channel).await?;
    let data = json!({
        "channel": channel.id(), "member": me.id(), "name": me.get_str("name"),
        "kind": me.get_str("kind"), "typing": true,
    });
    app.signal(&typing_topic(channel.id()), data, CHANNELS, channel.id())
        .await
}

/// Tells the workspace that the caller is online (or offline), and keeps `last_seen`.
pub async fn presence(app: &App, who: &Who, workspace: &str, online: bool) -> Result<usize> {
    let me = members::find(app, workspace, who)
        .await?
        .ok_or_else(Error::not_found)?;
    let now = chrono::Utc::now();
    let stale = me
        .get_datetime("last_seen")
        .is_none_or(|t| now - t > SEEN_EVERY);
    if stale || !online {
        app.update_record(MEMBERS, me.id(), json!({"last_seen": format_datetime(now)}))
            .await?;
    }
    let data = json!({
        "workspace": workspace, "member": me.id(), "name": me.get_str("name"),
        "kind": me.get_str("kind"), "online": online, "at": format_datetime(now),
    });
    app.signal(&presence_topic(workspace), data, WORKSPACES, workspace)
        .await
}
