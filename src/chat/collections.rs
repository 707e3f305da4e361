//! The chat collections and their API rules (`rules.rs`). Fields the hooks fill in are
//! not `required`: required values are checked before hooks run. Every record below a workspace
//! carries its `workspace` (and messages' reactions their `channel`), set by the hooks
//! from the parent, so a rule never follows a relation to find where a record belongs.

use super::rules::{
    admin_of, channel_reader, member_is_caller, member_of, own, owner_of, reader_of,
};
use super::{ChannelKind, Kind, Role};
use super::{CHANNELS, CHANNEL_MEMBERS, INVITES, MEMBERS, MESSAGES, REACTIONS, WORKSPACES};
use super::{MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES, MAX_MENTIONS, MAX_MESSAGE_BYTES};
use crate::schema::collection;
use framework::collections::Collection;
use framework::Result;
use serde_json::json;

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The rule for reads (list and view) and the four writes; `None` is superusers only.
struct Rules {
    read: String,
    create: Option<String>,
    update: Option<String>,
    delete: Option<String>,
}

fn with_rules(mut c: Collection, r: Rules) -> Collection {
    c.list_rule = Some(r.read.clone());
    c.view_rule = Some(r.read);
    c.create_rule = r.create;
    c.update_rule = r.update;
    c.delete_rule = r.delete;
    c
}

fn workspaces() -> Result<Collection> {
    let c = collection(
        WORKSPACES,
        json!([
            {"name": "name", "type": "text", "required": true, "max": 80},
            {"name": "slug", "type": "text", "required": true, "min": 2, "max": 40,
             "pattern": "^[a-z0-9][a-z0-9-]*[a-z0-9]$"},
            {"name": "description", "type": "text", "max": 500}
        ]),
        &["CREATE UNIQUE INDEX idx_chat_workspaces_slug ON chat_workspaces (slug)"],
    )?;
    // Created by POST /api/chat/workspaces, with its owner, in one transaction.
    Ok(with_rules(
        c,
        Rules {
            read: member_of("id"),
            create: None,
            update: Some(admin_of("id")),
            delete: Some(owner_of("id")),
        },
    ))
}

fn members() -> Result<Collection> {
    let c = collection(
        MEMBERS,
        json!([
            {"name": "workspace", "type": "relation", "collectionId": WORKSPACES, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            // Exactly one of the two: a human or an agent.
            {"name": "user", "type": "relation", "collectionId": super::USERS, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "agent", "type": "relation", "collectionId": super::AGENTS, "maxSelect": 1,
             "cascadeDelete": true},
            // Set by the hooks from `user`/`agent`: what rules compare with `@request.auth`.
            {"name": "who", "type": "text", "max": 15},
            {"name": "who_collection", "type": "text", "max": 20},
            {"name": "kind", "type": "select", "values": names(Kind::ALL, Kind::as_str),
             "maxSelect": 1},
            {"name": "role", "type": "select", "values": names(Role::ALL, Role::as_str),
             "maxSelect": 1, "required": true},
            {"name": "name", "type": "text", "max": 100},
            {"name": "last_seen", "type": "date"}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_chat_members_who ON chat_members (workspace, who_collection, who)",
            "CREATE INDEX idx_chat_members_caller ON chat_members (who, who_collection)",
        ],
    )?;
    // Members are added by routes (creating, inviting, registering an agent): a create
    // rule would see the new row itself and let anyone make themselves a member.
    Ok(with_rules(
        c,
        Rules {
            read: member_of("workspace"),
            create: None,
            update: Some(format!(
                "({self_} && (@request.body.role:isset = false || @request.body.role = role)) || ({admin} && role != \"owner\" && @request.body.role != \"owner\")",
                self_ = own(),
                admin = admin_of("workspace"),
            )),
            delete: Some(format!(
                "role != \"owner\" && ({} || {})",
                own(),
                admin_of("workspace")
            )),
        },
    ))
}

fn channels() -> Result<Collection> {
    let c = collection(
        CHANNELS,
        json!([
            {"name": "workspace", "type": "relation", "collectionId": WORKSPACES, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "name", "type": "text", "required": true, "max": 80,
             "pattern": "^[a-z0-9][a-z0-9_-]*$"},
            {"name": "kind", "type": "select", "values": names(ChannelKind::ALL, ChannelKind::as_str),
             "maxSelect": 1, "required": true},
            {"name": "topic", "type": "text", "max": 250}
        ]),
        &["CREATE UNIQUE INDEX idx_chat_channels_name ON chat_channels (workspace, name)"],
    )?;
    Ok(with_rules(
        c,
        Rules {
            read: channel_reader(),
            create: None,
            update: Some(format!("{} && kind != \"direct\"", admin_of("workspace"))),
            delete: Some(admin_of("workspace")),
        },
    ))
}

fn channel_members() -> Result<Collection> {
    let c = collection(
        CHANNEL_MEMBERS,
        json!([
            // Set by the hooks from the parent record.
            {"name": "workspace", "type": "relation", "collectionId": WORKSPACES, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "channel", "type": "relation", "collectionId": CHANNELS, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "member", "type": "relation", "collectionId": MEMBERS, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "who", "type": "text", "max": 15},
            {"name": "who_collection", "type": "text", "max": 20},
            // The newest message the member has read (`seq`): unread counts start here.
            {"name": "last_read", "type": "number", "onlyInt": true, "min": 0}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_chat_channel_members ON chat_channel_members (channel, member)",
            "CREATE INDEX idx_chat_channel_members_caller ON chat_channel_members (channel, who, who_collection)",
        ],
    )?;
    Ok(with_rules(
        c,
        Rules {
            read: reader_of("channel", "workspace"),
            create: None,
            update: Some(own()),
            delete: Some(format!("{} || {}", own(), admin_of("workspace"))),
        },
    ))
}

fn messages() -> Result<Collection> {
    let c = collection(
        MESSAGES,
        json!([
            // Set by the hooks from the parent record.
            {"name": "workspace", "type": "relation", "collectionId": WORKSPACES, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "channel", "type": "relation", "collectionId": CHANNELS, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            // 1, 2, 3… per channel in commit order: "what came after N" is `seq > N`.
            {"name": "seq", "type": "number", "onlyInt": true, "sequenceOf": "channel"},
            // Unset when the author leaves the workspace; `author_name` stays.
            {"name": "author", "type": "relation", "collectionId": MEMBERS, "maxSelect": 1},
            {"name": "author_kind", "type": "select", "values": names(Kind::ALL, Kind::as_str),
             "maxSelect": 1},
            {"name": "author_name", "type": "text", "max": 100},
            {"name": "text", "type": "text", "max": MAX_MESSAGE_BYTES, "searchable": true},
            {"name": "reply_to", "type": "relation", "collectionId": MESSAGES, "maxSelect": 1},
            {"name": "mentions", "type": "relation", "collectionId": MEMBERS,
             "maxSelect": MAX_MENTIONS},
            {"name": "attachments", "type": "file", "maxSelect": MAX_ATTACHMENTS,
             "maxSize": MAX_ATTACHMENT_BYTES, "protected": true},
            {"name": "edited", "type": "date"}
        ]),
        &[
            "CREATE UNIQUE INDEX idx_chat_messages_seq ON chat_messages (channel, seq)",
            "CREATE INDEX idx_chat_messages_reply ON chat_messages (reply_to)",
        ],
    )?;
    let author = member_is_caller("author");
    Ok(with_rules(
        c,
        Rules {
            read: reader_of("channel", "workspace"),
            // Checked on the row as written: the hooks fill workspace and author.
            create: Some(format!("{} && {author}", reader_of("channel", "workspace"))),
            update: Some(author.clone()),
            delete: Some(format!("{author} || {}", admin_of("workspace"))),
        },
    ))
}

fn reactions() -> Result<Collection> {
    let c = collection(
        REACTIONS,
        json!([
            // Set by the hooks from the parent record.
            {"name": "workspace", "type": "relation", "collectionId": WORKSPACES, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "channel", "type": "relation", "collectionId": CHANNELS, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "message", "type": "relation", "collectionId": MESSAGES, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            {"name": "member", "type": "relation", "collectionId": MEMBERS, "maxSelect": 1,
             "cascadeDelete": true},
            {"name": "emoji", "type": "text", "required": true, "max": 32}
        ]),
        &["CREATE UNIQUE INDEX idx_chat_reactions ON chat_reactions (message, member, emoji)"],
    )?;
    let mine = member_is_caller("member");
    Ok(with_rules(
        c,
        Rules {
            read: reader_of("channel", "workspace"),
            create: Some(format!("{} && {mine}", reader_of("channel", "workspace"))),
            update: None,
            delete: Some(mine),
        },
    ))
}

fn invites() -> Result<Collection> {
    let c = collection(
        INVITES,
        json!([
            {"name": "workspace", "type": "relation", "collectionId": WORKSPACES, "maxSelect": 1,
             "required": true, "cascadeDelete": true},
            // Chosen by the server (the hooks): never by the client.
            {"name": "code", "type": "text", "max": 16},
            {"name": "created_by", "type": "relation", "collectionId": MEMBERS, "maxSelect": 1},
            // A week from now unless the creator says (at most 90 days).
            {"name": "expires", "type": "date"},
            // 0: any number of uses.
            {"name": "max_uses", "type": "number", "onlyInt": true, "min": 0, "max": 10000},
            {"name": "uses", "type": "number", "onlyInt": true, "min": 0},
            {"name": "channels", "type": "relation", "collectionId": CHANNELS, "maxSelect": 20},
            {"name": "revoked", "type": "bool"}
        ]),
        &["CREATE UNIQUE INDEX idx_chat_invites_code ON chat_invites (code)"],
    )?;
    let admin = admin_of("workspace");
    Ok(with_rules(
        c,
        Rules {
            read: admin.clone(),
            create: Some(admin.clone()),
            update: Some(admin.clone()),
            delete: Some(admin),
        },
    ))
}

/// The chat collections, parents first.
pub fn all() -> Result<Vec<Collection>> {
    Ok(vec![
        workspaces()?,
        members()?,
        channels()?,
        channel_members()?,
        messages()?,
        reactions()?,
        invites()?,
    ])
}
