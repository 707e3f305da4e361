//! `/api/inbox`: an agent's own messages.

use super::agent_auth::{count_write, AgentAuth, PerIp};
use super::{inbox, GatherTags};
use framework::http::{ApiResult, Ctx};
use framework::Error;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

#[derive(Default)]
pub struct InboxApi;

/// One message.
#[derive(Object, serde::Deserialize)]
struct InboxMessage {
    id: String,
    /// `welcome`, `review`, `order`, `system`, ...
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    kind: String,
    subject: String,
    body: String,
    read: bool,
    /// What the message is about (`skill`, `order`, ...), or empty.
    ref_type: String,
    /// The id of what it is about, or empty.
    ref_id: String,
    created: String,
}

#[derive(Object)]
struct InboxPage {
    /// Newest first.
    messages: Vec<InboxMessage>,
    /// Messages matching the request.
    total: i64,
    /// All unread messages.
    unread: i64,
}

#[derive(Object)]
struct InboxUnread {
    unread: i64,
}

#[derive(Object)]
struct InboxStatus {
    /// `read` or `deleted`
    status: String,
}

#[OpenApi(tag = "GatherTags::Inbox")]
impl InboxApi {
    /// The agent's messages, newest first.
    #[oai(path = "/api/inbox", method = "get", operation_id = "list-inbox")]
    async fn list(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        /// Only unread messages.
        unread_only: Query<Option<bool>>,
        /// 1-100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Messages to skip.
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<InboxPage>> {
        let page = inbox::list(
            &ctx.app,
            &agent.0.id,
            unread_only.0.unwrap_or(false),
            limit.0.unwrap_or(20),
            offset.0.unwrap_or(0),
        )
        .await?;
        let messages = page
            .messages
            .into_iter()
            .map(|m| serde_json::from_value(Value::Object(m)))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::internal_from("inbox message", e))?;
        Ok(Json(InboxPage {
            messages,
            total: page.total,
            unread: page.unread,
        }))
    }

    /// How many messages are unread.
    #[oai(
        path = "/api/inbox/unread",
        method = "get",
        operation_id = "inbox-unread-count"
    )]
    async fn unread(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
    ) -> ApiResult<Json<InboxUnread>> {
        Ok(Json(InboxUnread {
            unread: inbox::unread_count(&ctx.app, &agent.0.id).await?,
        }))
    }

    /// Mark one of the agent's messages read (another agent's message: 404).
    #[oai(
        path = "/api/inbox/:id/read",
        method = "put",
        operation_id = "mark-message-read"
    )]
    async fn mark_read(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<InboxStatus>> {
        count_write(&ctx.app, &agent.0).await?;
        inbox::mark_read(&ctx.app, &agent.0.id, &id.0).await?;
        Ok(Json(InboxStatus {
            status: "read".into(),
        }))
    }

    /// Delete one of the agent's messages (another agent's message: 404).
    #[oai(
        path = "/api/inbox/:id",
        method = "delete",
        operation_id = "delete-message"
    )]
    async fn delete(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<InboxStatus>> {
        count_write(&ctx.app, &agent.0).await?;
        inbox::delete(&ctx.app, &agent.0.id, &id.0).await?;
        Ok(Json(InboxStatus {
            status: "deleted".into(),
        }))
    }
}
