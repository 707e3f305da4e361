//! `/api/chat/*`: the chat writes that need several records at once, the signals, and
//! the unread counts, each counted against Gather's per-IP limit (invite codes cannot
//! be tried at speed). Everything else (reading and posting messages, reactions, edits,
//! invites, leaving) goes through the collections' records API under their rules.

use super::workspaces::{self, Newcomer};
use super::{channels, invites, signals};
use super::{ChannelKind, ParticipantAuth, Role};
use crate::agent_auth::PerIp;
use crate::GatherTags;
use framework::http::{ApiResult, Ctx, Text};
use framework::records::Record;
use framework::Error;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

#[derive(Default)]
pub struct ChatApi;

fn shape<T: serde::de::DeserializeOwned>(r: Record) -> framework::Result<T> {
    serde_json::from_value(Value::Object(r)).map_err(|e| Error::internal_from("chat record", e))
}

/// A workspace.
#[derive(Object, serde::Deserialize)]
struct Workspace {
    id: String,
    name: String,
    slug: String,
    description: String,
    created: String,
}

/// A member of a workspace: a human (`user`) or an agent (`agent`).
#[derive(Object, serde::Deserialize)]
struct Member {
    id: String,
    workspace: String,
    /// `human` or `agent`.
    kind: String,
    /// `owner`, `admin` or `member`.
    role: String,
    name: String,
    /// The `users` record, for a human.
    user: String,
    /// The agent, for an agent.
    agent: String,
}

/// A channel.
#[derive(Object, serde::Deserialize)]
struct Channel {
    id: String,
    workspace: String,
    name: String,
    /// `public`, `private` or `direct`.
    kind: String,
    topic: String,
}

/// A participant's place in a channel.
#[derive(Object, serde::Deserialize)]
struct ChannelMembership {
    id: String,
    channel: String,
    member: String,
    /// The newest message (`seq`) read.
    last_read: i64,
}

#[derive(Object)]
struct WorkspaceCreated {
    workspace: Workspace,
    /// The caller, its owner.
    member: Member,
    /// `general`, which every member joins.
    channel: Channel,
}

#[derive(Object)]
struct NewWorkspace {
    #[oai(validator(min_length = 1, max_length = 80))]
    name: Text,
    /// Lowercase letters, digits and `-`, unique.
    #[oai(validator(
        min_length = 2,
        max_length = 40,
        pattern = "^[a-z0-9][a-z0-9-]*[a-z0-9]$"
    ))]
    slug: Text,
    #[oai(validator(max_length = 500))]
    description: Option<Text>,
}

/// Exactly one of `user`, `agent`, `agent_fingerprint`.
#[derive(Object)]
struct NewMember {
    /// A `users` record id.
    user: Option<Text>,
    /// A registered agent's id.
    agent: Option<Text>,
    /// A registered agent's key fingerprint (hex SHA-256 of its public key).
    agent_fingerprint: Option<Text>,
    /// `admin` or `member` (the default).
    role: Option<Role>,
}

#[derive(Object)]
struct NewChannel {
    /// Lowercase letters, digits, `_` and `-`, unique in the workspace.
    #[oai(validator(min_length = 1, max_length = 80, pattern = "^[a-z0-9][a-z0-9_-]*$"))]
    name: Text,
    /// `public` (the default) or `private`.
    kind: Option<ChannelKind>,
    #[oai(validator(max_length = 250))]
    topic: Option<Text>,
}

#[derive(Object)]
struct DirectWith {
    /// The other member's id (a `chat_members` record of the same workspace).
    member: Text,
}

#[derive(Object)]
struct LetIn {
    /// The member's id (a `chat_members` record of the channel's workspace).
    member: Text,
}

#[derive(Object)]
struct ReadUpTo {
    /// The newest message number read.
    #[oai(validator(minimum(value = "0")))]
    seq: i64,
}

#[derive(Object)]
struct ReadMark {
    last_read: i64,
}

#[derive(Object)]
struct Presence {
    /// Online (the default) or going offline.
    online: Option<bool>,
}

#[derive(Object)]
struct Signalled {
    /// Clients on this instance that got it (others hear it through their instance).
    delivered: u64,
}

/// A channel and how much of it the caller has not read.
#[derive(Object)]
struct UnreadChannel {
    channel: String,
    workspace: String,
    last_seq: i64,
    last_read: i64,
    unread: i64,
}

#[derive(Object)]
struct UnreadList {
    channels: Vec<UnreadChannel>,
}

/// What an invite leads to.
#[derive(Object)]
struct InvitePreview {
    workspace: String,
    workspace_name: String,
    slug: String,
    expires: String,
}

#[derive(Object)]
struct JoinByCode {
    #[oai(validator(min_length = 1, max_length = 16))]
    code: Text,
}

fn newcomer(body: NewMember) -> framework::Result<Newcomer> {
    match (body.user, body.agent, body.agent_fingerprint) {
        (Some(u), None, None) => Ok(Newcomer::User(u.into())),
        (None, Some(a), None) => Ok(Newcomer::Agent(a.into())),
        (None, None, Some(f)) => Ok(Newcomer::AgentFingerprint(f.into())),
        _ => Err(Error::BadRequest(
            "Name exactly one of user, agent and agent_fingerprint.".into(),
        )),
    }
}

#[OpenApi(tag = "GatherTags::Chat")]
impl ChatApi {
    /// Creates a workspace owned by the caller (a human or an agent), with its `general`
    /// channel.
    #[oai(
        path = "/api/chat/workspaces",
        method = "post",
        operation_id = "create-workspace"
    )]
    async fn create_workspace(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        body: Json<NewWorkspace>,
    ) -> ApiResult<Json<WorkspaceCreated>> {
        let b = body.0;
        let description = b.description.unwrap_or_default();
        let made = workspaces::create(&ctx.app, &caller.0, &b.name, &b.slug, &description).await?;
        Ok(Json(WorkspaceCreated {
            workspace: shape(made.workspace)?,
            member: shape(made.member)?,
            channel: shape(made.channel)?,
        }))
    }

    /// Adds a human or registers a Gather agent (by id or key fingerprint) as a member.
    /// Owners and admins only.
    #[oai(
        path = "/api/chat/workspaces/:id/members",
        method = "post",
        operation_id = "add-workspace-member"
    )]
    async fn add_member(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
        body: Json<NewMember>,
    ) -> ApiResult<Json<Member>> {
        let role = body.0.role.unwrap_or(Role::Member);
        let who = newcomer(body.0)?;
        let member = workspaces::add_member(&ctx.app, &caller.0, &id.0, who, role).await?;
        Ok(Json(shape(member)?))
    }

    /// Creates a public or private channel; the caller is in it.
    #[oai(
        path = "/api/chat/workspaces/:id/channels",
        method = "post",
        operation_id = "create-channel"
    )]
    async fn create_channel(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
        body: Json<NewChannel>,
    ) -> ApiResult<Json<Channel>> {
        let b = body.0;
        let kind = b.kind.unwrap_or(ChannelKind::Public);
        let topic = b.topic.unwrap_or_default();
        let channel = channels::create(&ctx.app, &caller.0, &id.0, &b.name, kind, &topic).await?;
        Ok(Json(shape(channel)?))
    }

    /// Opens (or finds) the direct conversation between the caller and another member.
    #[oai(
        path = "/api/chat/workspaces/:id/direct",
        method = "post",
        operation_id = "open-direct-channel"
    )]
    async fn direct(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
        body: Json<DirectWith>,
    ) -> ApiResult<Json<Channel>> {
        let channel = channels::direct(&ctx.app, &caller.0, &id.0, &body.0.member).await?;
        Ok(Json(shape(channel)?))
    }

    /// Tells the workspace the caller is online (send it every minute or so) or going
    /// offline; subscribers of `chat_presence/<workspace>` hear it.
    #[oai(
        path = "/api/chat/workspaces/:id/presence",
        method = "post",
        operation_id = "set-presence"
    )]
    async fn presence(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
        body: Json<Presence>,
    ) -> ApiResult<Json<Signalled>> {
        let online = body.0.online.unwrap_or(true);
        let n = signals::presence(&ctx.app, &caller.0.who, &id.0, online).await?;
        Ok(Json(Signalled {
            delivered: n as u64,
        }))
    }

    /// Joins a public channel.
    #[oai(
        path = "/api/chat/channels/:id/join",
        method = "post",
        operation_id = "join-channel"
    )]
    async fn join_channel(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<ChannelMembership>> {
        let row = channels::join(&ctx.app, &caller.0, &id.0).await?;
        Ok(Json(shape(row)?))
    }

    /// Lets a member of the workspace into a private channel the caller is in.
    #[oai(
        path = "/api/chat/channels/:id/members",
        method = "post",
        operation_id = "let-into-channel"
    )]
    async fn let_in(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
        body: Json<LetIn>,
    ) -> ApiResult<Json<ChannelMembership>> {
        let row = channels::let_in(&ctx.app, &caller.0, &id.0, &body.0.member).await?;
        Ok(Json(shape(row)?))
    }

    /// Tells the channel's readers the caller is typing (subscribers of
    /// `chat_typing/<channel>`); nothing is stored.
    #[oai(
        path = "/api/chat/channels/:id/typing",
        method = "post",
        operation_id = "send-typing"
    )]
    async fn typing(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<Signalled>> {
        let n = signals::typing(&ctx.app, &caller.0, &id.0).await?;
        Ok(Json(Signalled {
            delivered: n as u64,
        }))
    }

    /// Marks the channel read up to message `seq`.
    #[oai(
        path = "/api/chat/channels/:id/read",
        method = "post",
        operation_id = "mark-channel-read"
    )]
    async fn mark_read(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        id: Path<String>,
        body: Json<ReadUpTo>,
    ) -> ApiResult<Json<ReadMark>> {
        let last_read = channels::mark_read(&ctx.app, &caller.0, &id.0, body.0.seq).await?;
        Ok(Json(ReadMark { last_read }))
    }

    /// The channels the caller is in, with unread counts.
    #[oai(
        path = "/api/chat/unread",
        method = "get",
        operation_id = "list-unread"
    )]
    async fn unread(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        /// Only this workspace's channels.
        workspace: Query<Option<String>>,
    ) -> ApiResult<Json<UnreadList>> {
        let all = channels::unread(&ctx.app, &caller.0.who, workspace.0.as_deref()).await?;
        let channels = all
            .into_iter()
            .map(|u| UnreadChannel {
                unread: (u.last_seq - u.last_read).max(0),
                channel: u.channel,
                workspace: u.workspace,
                last_seq: u.last_seq,
                last_read: u.last_read,
            })
            .collect();
        Ok(Json(UnreadList { channels }))
    }

    /// What an invite code leads to (for the join screen); 404 once it cannot be used.
    #[oai(
        path = "/api/chat/invites/:code",
        method = "get",
        operation_id = "view-invite"
    )]
    async fn view_invite(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        code: Path<String>,
    ) -> ApiResult<Json<InvitePreview>> {
        let found = invites::usable(&ctx.app, &code.0).await?;
        use framework::records::RecordFields;
        Ok(Json(InvitePreview {
            workspace: found.workspace.id().to_string(),
            workspace_name: found.workspace.get_str("name").to_string(),
            slug: found.workspace.get_str("slug").to_string(),
            expires: found.invite.get_str("expires").to_string(),
        }))
    }

    /// Joins a workspace with an invite code.
    #[oai(
        path = "/api/chat/join",
        method = "post",
        operation_id = "join-workspace"
    )]
    async fn join(
        &self,
        ctx: Ctx,
        caller: ParticipantAuth,
        _limit: PerIp,
        body: Json<JoinByCode>,
    ) -> ApiResult<Json<Member>> {
        let member = invites::accept(&ctx.app, &caller.0, &body.0.code).await?;
        Ok(Json(shape(member)?))
    }
}
