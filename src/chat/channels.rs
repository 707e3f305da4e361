//! Channels: creating one (with its creator inside), direct conversations between two
//! members, joining a public channel, letting a member into a private one, and where
//! each member has read up to, with the unread counts that follow.

use super::members::{self, Who};
use super::workspaces::unwrap_batch;
use super::{ChannelKind, Participant, CHANNELS, CHANNEL_MEMBERS, MEMBERS, MESSAGES};
use framework::collections::new_record_id;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::json;

/// At most this many channels listed by one unread request.
const MAX_UNREAD_CHANNELS: u64 = 500;

/// Creates channel `name` of `kind` (public or private) in `workspace`, the caller in it.
pub async fn create(
    app: &App,
    caller: &Participant,
    workspace: &str,
    name: &str,
    kind: ChannelKind,
    topic: &str,
) -> Result<Record> {
    if kind == ChannelKind::Direct {
        return Err(Error::BadRequest(
            "Direct conversations are opened with POST /api/chat/workspaces/{id}/direct.".into(),
        ));
    }
    let me = members::find(app, workspace, &caller.who)
        .await?
        .ok_or_else(Error::not_found)?;
    let id = new_record_id();
    let body = json!({"id": id, "workspace": workspace, "name": name, "kind": kind.as_str(), "topic": topic});
    let written = app
        .run_in_transaction(|tx| {
            tx.create(CHANNELS, body);
            tx.create(
                CHANNEL_MEMBERS,
                members::channel_row(workspace, &id, me.id(), &caller.who),
            );
            Ok(())
        })
        .await
        .map_err(unwrap_batch)?;
    first(written)
}

fn first(written: Vec<Option<Record>>) -> Result<Record> {
    written
        .into_iter()
        .flatten()
        .next()
        .ok_or_else(|| Error::internal("nothing was written"))
}

/// The direct conversation between the caller and `other` (a member id of the same
/// workspace), opened the first time; the same channel every time after.
pub async fn direct(
    app: &App,
    caller: &Participant,
    workspace: &str,
    other: &str,
) -> Result<Record> {
    let me = members::find(app, workspace, &caller.who)
        .await?
        .ok_or_else(Error::not_found)?;
    let them = app
        .find_record(MEMBERS, other)
        .await?
        .filter(|m| m.get_str("workspace") == workspace)
        .ok_or_else(|| Error::BadRequest("member: not a member of this workspace.".into()))?;
    if them.id() == me.id() {
        return Err(Error::BadRequest(
            "A direct conversation needs two members.".into(),
        ));
    }
    let them_who = members::who_of(&them).ok_or_else(|| Error::internal("a member without who"))?;
    let mut pair = [(me.id(), &caller.who), (them.id(), &them_who)];
    pair.sort_by_key(|(id, _)| *id);
    let name = format!("dm-{}-{}", pair[0].0, pair[1].0);
    let q = RecordQuery::filter("workspace = {:ws} && name = {:name}")
        .bind("ws", workspace)
        .bind("name", name.as_str());
    if let Some(found) = app.find_first(CHANNELS, &q).await? {
        return Ok(found);
    }
    let id = new_record_id();
    let body = json!({"id": id, "workspace": workspace, "name": name, "kind": ChannelKind::Direct.as_str()});
    let written = app
        .run_in_transaction(|tx| {
            tx.create(CHANNELS, body);
            for (m, who) in pair {
                tx.create(
                    CHANNEL_MEMBERS,
                    members::channel_row(workspace, &id, m, who),
                );
            }
            Ok(())
        })
        .await;
    match written.map_err(unwrap_batch) {
        Ok(w) => first(w),
        // Both opened it at once: the other's is the one.
        Err(_) => app
            .find_first(CHANNELS, &q)
            .await?
            .ok_or_else(|| Error::internal("the direct conversation was not written")),
    }
}

/// The channel `id` as the caller may see it (404 otherwise), with the caller's
/// membership of its workspace.
pub async fn readable(app: &App, caller: &Participant, id: &str) -> Result<(Record, Record)> {
    super::signals::readable_channel(app, caller, id).await
}

/// Puts the caller in the public channel `id` (once; joining again is no change).
pub async fn join(app: &App, caller: &Participant, id: &str) -> Result<Record> {
    let (channel, me) = readable(app, caller, id).await?;
    if let Some(row) = members::in_channel(app, channel.id(), me.id()).await? {
        return Ok(row);
    }
    if channel.get_str("kind") != ChannelKind::Public.as_str() {
        return Err(Error::Forbidden(
            "Only public channels can be joined.".into(),
        ));
    }
    app.create_record(CHANNEL_MEMBERS, json!({"channel": id, "member": me.id()}))
        .await
}

/// Lets the workspace member `member` into the private channel `id`: anyone inside may.
pub async fn let_in(app: &App, caller: &Participant, id: &str, member: &str) -> Result<Record> {
    let (channel, me) = readable(app, caller, id).await?;
    if channel.get_str("kind") != ChannelKind::Private.as_str() {
        return Err(Error::BadRequest(
            "Members are let into private channels; public ones are joined.".into(),
        ));
    }
    if members::in_channel(app, id, me.id()).await?.is_none() {
        return Err(Error::not_found());
    }
    if let Some(row) = members::in_channel(app, id, member).await? {
        return Ok(row);
    }
    app.create_record(CHANNEL_MEMBERS, json!({"channel": id, "member": member}))
        .await
}

/// Records that the caller has read channel `id` up to message `seq` (never backwards;
/// reading a public channel joins it).
pub async fn mark_read(app: &App, caller: &Participant, id: &str, seq: i64) -> Result<i64> {
    let row = join(app, caller, id).await?;
    if seq <= row.get_i64("last_read") {
        return Ok(row.get_i64("last_read"));
    }
    let last = last_seq(app, id).await?;
    let seq = seq.min(last);
    app.update_record(CHANNEL_MEMBERS, row.id(), json!({"last_read": seq}))
        .await?;
    Ok(seq)
}

/// The newest message number of channel `id` (0 when it has none).
pub async fn last_seq(app: &App, channel: &str) -> Result<i64> {
    let q = RecordQuery::filter("channel = {:ch}")
        .bind("ch", channel)
        .sort("-seq")
        .limit(1);
    Ok(app
        .find_records(MESSAGES, &q)
        .await?
        .first()
        .map(|m| m.get_i64("seq"))
        .unwrap_or(0))
}

/// One channel the caller is in, and how much of it is unread.
pub struct Unread {
    pub channel: String,
    pub workspace: String,
    pub last_seq: i64,
    pub last_read: i64,
}

/// The channels `who` is in (optionally of one workspace), with their unread counts.
pub async fn unread(app: &App, who: &Who, workspace: Option<&str>) -> Result<Vec<Unread>> {
    let mut q = RecordQuery::filter("who = {:who} && who_collection = {:coll}")
        .bind("who", who.id.as_str())
        .bind("coll", who.kind.collection())
        .limit(MAX_UNREAD_CHANNELS);
    if let Some(ws) = workspace {
        q = q.and("workspace = {:ws}", "ws", ws);
    }
    let rows = app.find_records(CHANNEL_MEMBERS, &q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let channel = row.get_str("channel");
        out.push(Unread {
            channel: channel.to_string(),
            workspace: row.get_str("workspace").to_string(),
            last_seq: last_seq(app, channel).await?,
            last_read: row.get_i64("last_read"),
        });
    }
    Ok(out)
}
