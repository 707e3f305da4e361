//! Creating a workspace (with its owner and a `general` channel, in one transaction) and
//! adding members to it: humans by user id, agents by id or key fingerprint, so a
//! workspace agent is always a registered Gather agent, never a bare handle.

use super::members::{self, Who};
use super::{ChannelKind, Kind, Participant, Role};
use super::{CHANNELS, CHANNEL_MEMBERS, MEMBERS, WORKSPACES};
use framework::collections::new_record_id;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::json;

/// The channel every workspace starts with, and every member joins.
pub const GENERAL: &str = "general";

/// What a new workspace is made of.
pub struct Created {
    pub workspace: Record,
    pub member: Record,
    pub channel: Record,
}

/// Creates workspace `name` (`slug` unique) owned by the caller, with `general`.
pub async fn create(
    app: &App,
    owner: &Participant,
    name: &str,
    slug: &str,
    description: &str,
) -> Result<Created> {
    let (ws, member, channel) = (new_record_id(), new_record_id(), new_record_id());
    let who_field = field_of(owner.who.kind);
    let written = app
        .run_in_transaction(|tx| {
            tx.create(
                WORKSPACES,
                json!({"id": ws, "name": name, "slug": slug, "description": description}),
            );
            tx.create(
                MEMBERS,
                json!({"id": member, "workspace": ws, who_field: owner.who.id, "role": Role::Owner.as_str()}),
            );
            tx.create(
                CHANNELS,
                json!({"id": channel, "workspace": ws, "name": GENERAL, "kind": ChannelKind::Public.as_str()}),
            );
            tx.create(
                CHANNEL_MEMBERS,
                members::channel_row(&ws, &channel, &member, &owner.who),
            );
            Ok(())
        })
        .await
        .map_err(unwrap_batch)?;
    let mut it = written.into_iter().flatten();
    match (it.next(), it.next(), it.next()) {
        (Some(workspace), Some(member), Some(channel)) => Ok(Created {
            workspace,
            member,
            channel,
        }),
        _ => Err(Error::internal("the workspace was not written")),
    }
}

/// The relation field of `chat_members` for a participant of `kind`.
pub fn field_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Human => "user",
        Kind::Agent => "agent",
    }
}

/// A transaction's error as the failed write's own (its field errors, its status).
pub fn unwrap_batch(e: Error) -> Error {
    match e {
        Error::Batch { error, .. } => *error,
        other => other,
    }
}

/// Whom an admin adds: a user by id, or an agent by id or key fingerprint.
pub enum Newcomer {
    User(String),
    Agent(String),
    AgentFingerprint(String),
}

/// The caller's membership of `workspace` when it may manage members (owner or admin);
/// 404 when it cannot see the workspace, 403 when it is a plain member.
pub async fn as_admin(app: &App, caller: &Participant, workspace: &str) -> Result<Record> {
    let me = members::find(app, workspace, &caller.who)
        .await?
        .ok_or_else(Error::not_found)?;
    if me.get_str("role") == Role::Member.as_str() {
        return Err(Error::Forbidden(
            "Only the workspace's owner and admins can do this.".into(),
        ));
    }
    Ok(me)
}

/// Adds `who` to `workspace` with `role` (never a second owner), and to `general`.
pub async fn add_member(
    app: &App,
    caller: &Participant,
    workspace: &str,
    newcomer: Newcomer,
    role: Role,
) -> Result<Record> {
    as_admin(app, caller, workspace).await?;
    if role == Role::Owner {
        return Err(Error::BadRequest("A workspace has one owner.".into()));
    }
    let who = match newcomer {
        Newcomer::User(id) => Who {
            kind: Kind::Human,
            id,
        },
        Newcomer::Agent(id) => Who {
            kind: Kind::Agent,
            id,
        },
        Newcomer::AgentFingerprint(fp) => {
            let q = RecordQuery::filter("pubkey_fingerprint = {:fp}").bind("fp", fp.to_lowercase());
            let agent = app
                .find_first(super::AGENTS, &q)
                .await?
                .ok_or_else(|| Error::BadRequest("No agent has this key fingerprint.".into()))?;
            Who {
                kind: Kind::Agent,
                id: agent.id().to_string(),
            }
        }
    };
    join(app, workspace, &who, role, &[]).await
}

/// Makes `who` a member of `workspace` with `role`, inside `general` and `channels`
/// (a 409 when it already is one).
pub async fn join(
    app: &App,
    workspace: &str,
    who: &Who,
    role: Role,
    channels: &[String],
) -> Result<Record> {
    join_with(app, workspace, who, role, channels, |_| {}).await
}

/// [`join`], with `extra` writes of the caller's in the same transaction.
pub async fn join_with(
    app: &App,
    workspace: &str,
    who: &Who,
    role: Role,
    channels: &[String],
    extra: impl FnOnce(&mut framework::records::Transaction),
) -> Result<Record> {
    if members::find(app, workspace, who).await?.is_some() {
        return Err(Error::Conflict(
            "Already a member of this workspace.".into(),
        ));
    }
    if app
        .find_record(who.kind.collection(), &who.id)
        .await?
        .is_none()
    {
        return Err(Error::BadRequest(format!(
            "No {} {}.",
            who.kind.as_str(),
            who.id
        )));
    }
    let general = RecordQuery::filter("workspace = {:ws} && name = {:name}")
        .bind("ws", workspace)
        .bind("name", GENERAL);
    let mut inside: Vec<String> = app
        .find_first(CHANNELS, &general)
        .await?
        .map(|c| vec![c.id().to_string()])
        .unwrap_or_default();
    for c in channels {
        if !inside.contains(c) {
            inside.push(c.clone());
        }
    }
    let member = new_record_id();
    let written = app
        .run_in_transaction(|tx| {
            tx.create(
                MEMBERS,
                json!({"id": member, "workspace": workspace, field_of(who.kind): who.id, "role": role.as_str()}),
            );
            for c in &inside {
                tx.create(CHANNEL_MEMBERS, members::channel_row(workspace, c, &member, who));
            }
            extra(tx);
            Ok(())
        })
        .await
        .map_err(unwrap_batch)?;
    written
        .into_iter()
        .flatten()
        .next()
        .ok_or_else(|| Error::internal("the member was not written"))
}
