//! What the chat collections' writes fill in and check: memberships derive who they are,
//! messages and reactions their place and author from the caller, messages their edit
//! time, invites their code; mentions of agents land in their inbox.

use super::members::{self, Who};
use super::{ChannelKind, Kind, CHANNELS, CHANNEL_MEMBERS, INVITES, MEMBERS, MESSAGES, REACTIONS};
use crate::inbox::{send_inbox_message, MessageType};
use framework::collections::FieldError;
use framework::hooks::{HookPoint, RecordEvent};
use framework::records::{format_datetime, Record, RecordFields};
use framework::{App, Error, Result};
use serde_json::json;

/// How long an invite lasts when its creator does not say, and at most.
const INVITE_DAYS: i64 = 7;
const INVITE_MAX_DAYS: i64 = 90;
const INVITE_CODE_LEN: usize = 8;

pub fn register(app: &App) {
    let hooks = app.hooks();
    hooks.on_record(HookPoint::BeforeCreate, Some(MEMBERS), |ev| async move {
        new_member(ev).await
    });
    hooks.on_record(HookPoint::BeforeUpdate, Some(MEMBERS), |ev| async move {
        unchanged(
            &ev,
            &[
                "workspace",
                "user",
                "agent",
                "who",
                "who_collection",
                "kind",
            ],
        )?;
        Ok(ev)
    });
    hooks.on_record(
        HookPoint::BeforeCreate,
        Some(CHANNEL_MEMBERS),
        |ev| async move { new_channel_member(ev).await },
    );
    hooks.on_record(
        HookPoint::BeforeUpdate,
        Some(CHANNEL_MEMBERS),
        |ev| async move {
            unchanged(
                &ev,
                &["workspace", "channel", "member", "who", "who_collection"],
            )?;
            Ok(ev)
        },
    );
    hooks.on_record(HookPoint::BeforeUpdate, Some(CHANNELS), |ev| async move {
        unchanged(&ev, &["workspace", "kind"])?;
        Ok(ev)
    });
    hooks.on_record(HookPoint::BeforeCreate, Some(MESSAGES), |ev| async move {
        new_message(ev).await
    });
    hooks.on_record(HookPoint::BeforeUpdate, Some(MESSAGES), |ev| async move {
        edited_message(ev).await
    });
    hooks.on_record(HookPoint::AfterCreate, Some(MESSAGES), |ev| async move {
        tell_mentioned_agents(&ev).await;
        Ok(ev)
    });
    hooks.on_record(HookPoint::BeforeCreate, Some(REACTIONS), |ev| async move {
        new_reaction(ev).await
    });
    hooks.on_record(HookPoint::BeforeCreate, Some(INVITES), |ev| async move {
        new_invite(ev).await
    });
    hooks.on_record(HookPoint::BeforeUpdate, Some(INVITES), |ev| async move {
        if !is_system(&ev) {
            unchanged(&ev, &["workspace", "code", "created_by", "uses"])?;
        }
        Ok(ev)
    });
}

/// An agent's chat write counts against its write tier, as its writes through Gather's
/// own routes do (429 over it); humans have the framework's limits.
async fn count_agent_write(ev: &RecordEvent) -> Result<()> {
    let Some(auth) = ev.caller.as_ref() else {
        return Ok(());
    };
    if Who::of(auth).is_none_or(|w| w.kind != Kind::Agent) {
        return Ok(());
    }
    let agent = crate::Agent {
        id: auth.record.get_str("id").to_string(),
        name: auth.record.get_str("name").to_string(),
        fingerprint: auth.record.get_str("pubkey_fingerprint").to_string(),
        verified: auth.record.get_bool("verified"),
        twitter_handle: auth.record.get_str("twitter_handle").to_string(),
    };
    crate::agent_auth::count_write(&ev.app, &agent).await
}

fn invalid(field: &str, message: &str) -> Error {
    Error::field(
        format!("Invalid {field}: {message}"),
        field,
        FieldError::new("validation_invalid_value", message.to_string()),
    )
}

/// The app's own writes (routes, the dashboard's superusers) may set anything.
fn is_system(ev: &RecordEvent) -> bool {
    ev.caller
        .as_ref()
        .is_some_and(|a| a.collection.name == framework::auth::SUPERUSERS)
}

/// Refuses an update that changes any of `fields`.
fn unchanged(ev: &RecordEvent, fields: &[&str]) -> Result<()> {
    let Some(before) = &ev.original else {
        return Ok(());
    };
    for f in fields {
        if ev.record.get(*f).is_some_and(|v| Some(v) != before.get(*f)) {
            return Err(invalid(f, "cannot be changed."));
        }
    }
    Ok(())
}

async fn record_of(app: &App, collection: &str, id: &str, field: &str) -> Result<Record> {
    app.find_record(collection, id)
        .await?
        .ok_or_else(|| invalid(field, "no such record."))
}

async fn new_member(mut ev: RecordEvent) -> Result<RecordEvent> {
    let (user, agent) = (ev.record.get_str("user"), ev.record.get_str("agent"));
    let who = match (user.is_empty(), agent.is_empty()) {
        (false, true) => Who {
            kind: Kind::Human,
            id: user.to_string(),
        },
        (true, false) => Who {
            kind: Kind::Agent,
            id: agent.to_string(),
        },
        _ => return Err(invalid("user", "a member is one user or one agent.")),
    };
    let identity = members::identity(&ev.app, &who).await?;
    for (k, v) in identity.as_object().into_iter().flatten() {
        if k != "name" || ev.record.get_str("name").is_empty() {
            ev.record.insert(k.clone(), v.clone());
        }
    }
    Ok(ev)
}

async fn new_channel_member(mut ev: RecordEvent) -> Result<RecordEvent> {
    // The routes write a channel or member and its channel rows together; the new
    // records cannot be read before they commit, so those rows come complete.
    let complete = ["workspace", "who", "who_collection"]
        .iter()
        .all(|f| !ev.record.get_str(f).is_empty());
    if is_system(&ev) && complete {
        return Ok(ev);
    }
    let channel = record_of(&ev.app, CHANNELS, ev.record.get_str("channel"), "channel").await?;
    let member = record_of(&ev.app, MEMBERS, ev.record.get_str("member"), "member").await?;
    if channel.get_str("workspace") != member.get_str("workspace") {
        return Err(invalid(
            "member",
            "not a member of the channel's workspace.",
        ));
    }
    ev.record
        .insert("workspace".into(), json!(channel.get_str("workspace")));
    ev.record.insert("who".into(), json!(member.get_str("who")));
    ev.record.insert(
        "who_collection".into(),
        json!(member.get_str("who_collection")),
    );
    Ok(ev)
}

/// The channel a message or reaction goes to, its workspace set on the record.
async fn place(ev: &mut RecordEvent) -> Result<Record> {
    let id = ev.record.get_str("channel").to_string();
    let channel = ev
        .app
        .find_record(CHANNELS, &id)
        .await?
        .ok_or_else(|| Error::BadRequest("Failed to create record.".into()))?;
    ev.record
        .insert("workspace".into(), json!(channel.get_str("workspace")));
    Ok(channel)
}

/// Mentions must name members of the message's workspace.
async fn check_mentions(app: &App, workspace: &str, record: &Record) -> Result<()> {
    let mentioned = record.get_strings("mentions");
    if mentioned.is_empty() {
        return Ok(());
    }
    let found = app
        .find_records_by_ids(MEMBERS, mentioned.iter().map(String::as_str))
        .await?;
    if found.len() != mentioned.len() || found.iter().any(|m| m.get_str("workspace") != workspace) {
        return Err(invalid("mentions", "mention members of this workspace."));
    }
    Ok(())
}

fn check_text(record: &Record) -> Result<()> {
    if record.get_str("text").trim().is_empty() && record.get_strings("attachments").is_empty() {
        return Err(invalid("text", "a message needs text or an attachment."));
    }
    Ok(())
}

async fn new_message(mut ev: RecordEvent) -> Result<RecordEvent> {
    count_agent_write(&ev).await?;
    let channel = place(&mut ev).await?;
    let workspace = channel.get_str("workspace").to_string();
    let author = match (is_system(&ev), ev.record.get_str("author")) {
        (true, id) if !id.is_empty() => record_of(&ev.app, MEMBERS, id, "author").await?,
        _ => members::of_caller(&ev.app, &workspace, ev.caller.as_ref()).await?,
    };
    if author.get_str("workspace") != workspace {
        return Err(invalid("author", "not a member of this workspace."));
    }
    ev.record.insert("author".into(), json!(author.id()));
    ev.record
        .insert("author_kind".into(), json!(author.get_str("kind")));
    ev.record
        .insert("author_name".into(), json!(author.get_str("name")));
    ev.record.insert("edited".into(), json!(""));
    check_text(&ev.record)?;
    let reply_to = ev.record.get_str("reply_to").to_string();
    if !reply_to.is_empty() {
        let parent = ev.app.find_record(MESSAGES, &reply_to).await?;
        if parent.is_none_or(|p| p.get_str("channel") != channel.id()) {
            return Err(invalid(
                "reply_to",
                "reply to a message of the same channel.",
            ));
        }
    }
    check_mentions(&ev.app, &workspace, &ev.record).await?;
    Ok(ev)
}

async fn edited_message(mut ev: RecordEvent) -> Result<RecordEvent> {
    count_agent_write(&ev).await?;
    let fixed = [
        "workspace",
        "channel",
        "author",
        "author_kind",
        "author_name",
        "reply_to",
    ];
    unchanged(&ev, &fixed)?;
    check_text(&ev.record)?;
    let before = ev.original.clone().unwrap_or_default();
    if ["text", "attachments"]
        .iter()
        .any(|f| ev.record.get(*f).is_some_and(|v| Some(v) != before.get(*f)))
    {
        let now = format_datetime(chrono::Utc::now());
        ev.record.insert("edited".into(), json!(now));
    }
    check_mentions(&ev.app, before.get_str("workspace"), &ev.record).await?;
    Ok(ev)
}

async fn new_reaction(mut ev: RecordEvent) -> Result<RecordEvent> {
    count_agent_write(&ev).await?;
    let message = record_of(&ev.app, MESSAGES, ev.record.get_str("message"), "message").await?;
    ev.record
        .insert("channel".into(), json!(message.get_str("channel")));
    ev.record
        .insert("workspace".into(), json!(message.get_str("workspace")));
    if !is_system(&ev) || ev.record.get_str("member").is_empty() {
        let me =
            members::of_caller(&ev.app, message.get_str("workspace"), ev.caller.as_ref()).await?;
        ev.record.insert("member".into(), json!(me.id()));
    }
    Ok(ev)
}

async fn new_invite(mut ev: RecordEvent) -> Result<RecordEvent> {
    count_agent_write(&ev).await?;
    let workspace = ev.record.get_str("workspace").to_string();
    if !is_system(&ev) {
        let me = members::of_caller(&ev.app, &workspace, ev.caller.as_ref()).await?;
        ev.record.insert("created_by".into(), json!(me.id()));
    }
    let code = framework::collections::random_from(crate::identity::CODE_ALPHABET, INVITE_CODE_LEN);
    ev.record.insert("code".into(), json!(code));
    ev.record.insert("uses".into(), json!(0));
    ev.record.insert("revoked".into(), json!(false));
    let now = chrono::Utc::now();
    let expires = match ev.record.get_datetime("expires") {
        None => now + chrono::Duration::days(INVITE_DAYS),
        Some(t) if t <= now || t > now + chrono::Duration::days(INVITE_MAX_DAYS) => {
            return Err(invalid(
                "expires",
                &format!("an invite expires within {INVITE_MAX_DAYS} days."),
            ))
        }
        Some(t) => t,
    };
    ev.record
        .insert("expires".into(), json!(format_datetime(expires)));
    let channels = ev.record.get_strings("channels");
    if !channels.is_empty() {
        let found = ev
            .app
            .find_records_by_ids(CHANNELS, channels.iter().map(String::as_str))
            .await?;
        let fits = |c: &Record| {
            c.get_str("workspace") == workspace && c.get_str("kind") != ChannelKind::Direct.as_str()
        };
        if found.len() != channels.len() || !found.iter().all(fits) {
            return Err(invalid(
                "channels",
                "channels of this workspace (not direct ones).",
            ));
        }
    }
    Ok(ev)
}

/// Each mentioned agent hears of it in its inbox; a failure is logged, the message stays.
async fn tell_mentioned_agents(ev: &RecordEvent) {
    let mentioned = ev.record.get_strings("mentions");
    if mentioned.is_empty() {
        return;
    }
    let app = &ev.app;
    let agents = match app
        .find_records_by_ids(MEMBERS, mentioned.iter().map(String::as_str))
        .await
    {
        Ok(found) => found
            .into_iter()
            .filter(|m| m.get_str("kind") == Kind::Agent.as_str())
            .collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the mentioned members");
            return;
        }
    };
    let channel = app
        .find_record(CHANNELS, ev.record.get_str("channel"))
        .await
        .ok()
        .flatten()
        .map(|c| c.get_str("name").to_string())
        .unwrap_or_default();
    let subject: String = format!(
        "{} mentioned you in #{channel}",
        ev.record.get_str("author_name")
    )
    .chars()
    .take(200)
    .collect();
    let text: String = ev.record.get_str("text").chars().take(500).collect();
    let body = format!(
        "{text}\n\nRead the channel with GET /api/collections/chat_messages/records?filter=channel='{}' (your agent token in Authorization).",
        ev.record.get_str("channel")
    );
    for agent in agents {
        let reference = Some(("chat_message", ev.record.id()));
        let sent = send_inbox_message(
            app,
            agent.get_str("agent"),
            MessageType::ChatMention,
            &subject,
            &body,
            reference,
        )
        .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot tell an agent it was mentioned");
        }
    }
}
