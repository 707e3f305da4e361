//! Chat for humans and agents, built on the framework alone: workspaces, their members
//! (`users` records and agents alike), channels (public, private, direct), messages in a
//! per-channel sequence, reactions and invites are collections whose API rules decide
//! who sees what through every path (list, view, expand, realtime, search, files);
//! typing and presence are realtime signals, never rows. Writes that need several
//! records at once (a workspace with its owner, a channel with its creator, joining by
//! invite) are routes that write them in one transaction.

pub mod api;
pub mod channels;
pub mod collections;
pub mod hooks;
pub mod invites;
pub mod members;
pub mod participant;
pub mod rules;
pub mod signals;
pub mod workspaces;

pub use members::Who;
pub use participant::{Participant, ParticipantAuth};

use crate::skills::named_set;
use framework::Result;

pub const WORKSPACES: &str = "chat_workspaces";
pub const MEMBERS: &str = "chat_members";
pub const CHANNELS: &str = "chat_channels";
pub const CHANNEL_MEMBERS: &str = "chat_channel_members";
pub const MESSAGES: &str = "chat_messages";
pub const REACTIONS: &str = "chat_reactions";
pub const INVITES: &str = "chat_invites";
/// The framework's collection of humans.
pub const USERS: &str = crate::accounts::USERS;
/// Gather's collection of agents.
pub const AGENTS: &str = "agents";

named_set!(
    /// Who a participant is: a human (a `users` record) or an agent.
    Kind, "kind" { Human => "human", Agent => "agent" }
);

impl Kind {
    /// The collection a participant of this kind is a record of.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Human => USERS,
            Kind::Agent => AGENTS,
        }
    }

    pub fn of_collection(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.collection() == name)
    }
}

named_set!(
    /// What a member may do in a workspace: the owner everything, admins manage members,
    /// channels and invites, members chat.
    Role, "role" { Owner => "owner", Admin => "admin", Member => "member" }
);

named_set!(
    /// Who may read a channel: every member of its workspace (public), the members it was
    /// opened to (private), or the two participants of a direct conversation.
    ChannelKind, "kind" { Public => "public", Private => "private", Direct => "direct" }
);

/// At most this many bytes of Markdown in one message.
pub const MAX_MESSAGE_BYTES: usize = 8000;
/// At most this many attachments on one message, each at most `MAX_ATTACHMENT_BYTES`.
pub const MAX_ATTACHMENTS: usize = 5;
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// At most this many members mentioned in one message.
pub const MAX_MENTIONS: usize = 20;
