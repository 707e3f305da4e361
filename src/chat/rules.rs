//! The chat collections' API rules, written once here. Membership is checked with
//! `@collection` joins on plain columns (`who`, `who_collection`): they ignore the
//! joined collection's own rules, so the checks stay one join deep, and no rule follows
//! a relation into another chat collection (whose rule would be applied again).

use super::{CHANNELS, CHANNEL_MEMBERS, MEMBERS};

/// The caller is the participant `who`/`who_collection` of the row at `alias` (a
/// `@collection.<name>:<alias>` prefix or empty for the record itself).
fn is_caller(prefix: &str) -> String {
    format!(
        "{prefix}who ?= @request.auth.id && {prefix}who_collection ?= @request.auth.collectionName"
    )
}

/// The caller is a member of the workspace `ws` (a field of the record, or `id`).
pub fn member_of(ws: &str) -> String {
    let m = format!("@collection.{MEMBERS}:me.");
    format!("({m}workspace ?= {ws} && {})", is_caller(&m))
}

/// The caller is an owner or admin of the workspace `ws`.
pub fn admin_of(ws: &str) -> String {
    let m = format!("@collection.{MEMBERS}:boss.");
    format!(
        "({m}workspace ?= {ws} && {} && {m}role ?!= \"member\")",
        is_caller(&m)
    )
}

/// The caller is the owner of the workspace `ws`.
pub fn owner_of(ws: &str) -> String {
    let m = format!("@collection.{MEMBERS}:owner.");
    format!(
        "({m}workspace ?= {ws} && {} && {m}role ?= \"owner\")",
        is_caller(&m)
    )
}

/// The record itself is the caller's (its own `who`/`who_collection` fields).
pub fn own() -> String {
    "(who = @request.auth.id && who_collection = @request.auth.collectionName)".to_string()
}

/// The member `member` (a field holding a `chat_members` id) is the caller.
pub fn member_is_caller(member: &str) -> String {
    let m = format!("@collection.{MEMBERS}:self.");
    format!("({m}id ?= {member} && {})", is_caller(&m))
}

/// The caller may read the channel `channel` of workspace `ws`: a member of the
/// workspace, and the channel is public or the caller was let into it.
pub fn reader_of(channel: &str, ws: &str) -> String {
    let ch = format!("@collection.{CHANNELS}:pub.");
    let cm = format!("@collection.{CHANNEL_MEMBERS}:inside.");
    format!(
        "({} && (({ch}id ?= {channel} && {ch}kind ?= \"public\") || ({cm}channel ?= {channel} && {})))",
        member_of(ws),
        is_caller(&cm)
    )
}

/// For the channels themselves: public to the workspace, or the caller is inside.
pub fn channel_reader() -> String {
    let cm = format!("@collection.{CHANNEL_MEMBERS}:inside.");
    format!(
        "({} && (kind = \"public\" || ({cm}channel ?= id && {})))",
        member_of("workspace"),
        is_caller(&cm)
    )
}
