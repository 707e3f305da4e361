//! Who is who in a workspace: a caller's membership, found by the `who` columns the rules
//! use, and the identity fields a membership derives from its `user` or `agent`.

use super::{Kind, CHANNEL_MEMBERS, MEMBERS};
use framework::auth::AuthRecord;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::json;

/// A chat participant: which kind, and the id of its `users` or `agents` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub kind: Kind,
    pub id: String,
}

impl Who {
    /// The participant an authenticated request stands for (`None`: a superuser or a
    /// record of any other collection).
    pub fn of(auth: &AuthRecord) -> Option<Who> {
        let kind = Kind::of_collection(&auth.collection.name)?;
        let id = auth.record.get_str("id");
        (!id.is_empty()).then(|| Who {
            kind,
            id: id.to_string(),
        })
    }
}

/// A `chat_channel_members` row putting membership `member` (of `who`) in `channel`,
/// complete, for a transaction that also writes the channel or the membership.
pub fn channel_row(workspace: &str, channel: &str, member: &str, who: &Who) -> serde_json::Value {
    json!({
        "workspace": workspace, "channel": channel, "member": member,
        "who": who.id, "who_collection": who.kind.collection(),
    })
}

/// The participant a stored membership is of.
pub fn who_of(member: &Record) -> Option<Who> {
    let kind = Kind::of_collection(member.get_str("who_collection"))?;
    Some(Who {
        kind,
        id: member.get_str("who").to_string(),
    })
}

/// `who`'s membership of `workspace`, if any.
pub async fn find(app: &App, workspace: &str, who: &Who) -> Result<Option<Record>> {
    let q = RecordQuery::filter("workspace = {:ws} && who = {:who} && who_collection = {:coll}")
        .bind("ws", workspace)
        .bind("who", who.id.as_str())
        .bind("coll", who.kind.collection());
    app.find_first(MEMBERS, &q).await
}

/// `member`'s row in `channel`, if it was let in (or joined).
pub async fn in_channel(app: &App, channel: &str, member: &str) -> Result<Option<Record>> {
    let q = RecordQuery::filter("channel = {:ch} && member = {:m}")
        .bind("ch", channel)
        .bind("m", member);
    app.find_first(CHANNEL_MEMBERS, &q).await
}

/// The membership of the caller of a write, or the error a non-member hears: the same
/// as the create rule's, so a write to a workspace one is not in reveals nothing.
pub async fn of_caller(app: &App, workspace: &str, caller: Option<&AuthRecord>) -> Result<Record> {
    let Some(who) = caller.and_then(Who::of) else {
        return Err(Error::BadRequest(
            "Only a member (a human or an agent) can write here.".into(),
        ));
    };
    find(app, workspace, &who)
        .await?
        .ok_or_else(|| Error::BadRequest("Failed to create record.".into()))
}

/// The fields a membership of `who` derives from it, with its display name.
pub async fn identity(app: &App, who: &Who) -> Result<serde_json::Value> {
    let record = app
        .find_record(who.kind.collection(), &who.id)
        .await?
        .ok_or_else(|| Error::BadRequest(format!("No {} {}.", who.kind.as_str(), who.id)))?;
    let name = match who.kind {
        Kind::Agent => record.get_str("name").to_string(),
        Kind::Human => {
            let name = record.get_str("name");
            if name.is_empty() {
                // The part before the @: a member's address is not shown to the others.
                record
                    .get_str("email")
                    .split('@')
                    .next()
                    .unwrap_or("")
                    .to_string()
            } else {
                name.to_string()
            }
        }
    };
    Ok(json!({
        "who": who.id, "who_collection": who.kind.collection(), "kind": who.kind.as_str(),
        "name": name,
    }))
}
