//! Joining a workspace by invite code: what a code leads to (for the join screen), and
//! accepting it, which counts the use in the same transaction as the membership, with
//! the invite's row locked so two people never take the last use at once.

use super::workspaces::{self, unwrap_batch};
use super::{Participant, Role, INVITES, WORKSPACES};
use framework::records::{Record, RecordFields, RecordQuery, CHANGED_MEANWHILE};
use framework::{App, Error, Result};
use serde_json::json;

/// Attempts at taking a use when other joiners keep changing the count.
const TRIES: usize = 4;

/// An invite that can still be used, with its workspace.
pub struct Usable {
    pub invite: Record,
    pub workspace: Record,
}

fn gone() -> Error {
    Error::NotFound("This invite does not exist, was revoked, expired or is used up.".into())
}

/// The invite with `code` (any case), if it can still be used.
pub async fn usable(app: &App, code: &str) -> Result<Usable> {
    let code = code.trim().to_uppercase();
    let invite = app
        .find_first(
            INVITES,
            &RecordQuery::filter("code = {:code}").bind("code", code),
        )
        .await?
        .ok_or_else(gone)?;
    let expired = invite
        .get_datetime("expires")
        .is_none_or(|t| t <= chrono::Utc::now());
    let max = invite.get_i64("max_uses");
    let used_up = max > 0 && invite.get_i64("uses") >= max;
    if invite.get_bool("revoked") || expired || used_up {
        return Err(gone());
    }
    let workspace = app
        .find_record(WORKSPACES, invite.get_str("workspace"))
        .await?
        .ok_or_else(gone)?;
    Ok(Usable { invite, workspace })
}

/// Makes the caller a member through the invite `code`; returns the membership.
pub async fn accept(app: &App, caller: &Participant, code: &str) -> Result<Record> {
    for _ in 0..TRIES {
        let Usable { invite, workspace } = usable(app, code).await?;
        let seen = invite.get_i64("uses");
        // Still the count this attempt read, and still below the ceiling.
        let guard = RecordQuery::filter(
            "uses = {:seen} && revoked = false && (max_uses = 0 || uses < max_uses)",
        )
        .bind("seen", seen);
        let channels = invite.get_strings("channels");
        let joined = workspaces::join_with(
            app,
            workspace.id(),
            &caller.who,
            Role::Member,
            &channels,
            |tx| {
                tx.update_if(INVITES, invite.id(), json!({"uses": seen + 1}), &guard);
            },
        )
        .await
        .map_err(unwrap_batch);
        match joined {
            Err(Error::Conflict(m)) if m == CHANGED_MEANWHILE => continue,
            other => return other,
        }
    }
    Err(Error::Conflict(
        "Many people are using this invite right now; try again.".into(),
    ))
}
