//! `/api/logs`: request and app logs (superusers), and the middleware that records every
//! API request.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::pick::pick_items;
use super::Tags;
use crate::core::logs::{self, Entry, Level};
use crate::core::records::ListParams;
use crate::core::App;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

pub struct LogsApi;

#[OpenApi(tag = "Tags::Logs")]
impl LogsApi {
    /// A page of logs, newest first; `filter` and `sort` over `level`, `message`,
    /// `created` and `data.*` (e.g. `data.status >= 400`).
    #[oai(path = "/api/logs", method = "get", operation_id = "listLogs")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: Ctx,
        page: Query<Option<u64>>,
        #[oai(name = "perPage")] per_page: Query<Option<u64>>,
        sort: Query<Option<String>>,
        filter: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Value>> {
        ctx.require_superuser()?;
        let r = logs::list(
            &ctx.app,
            &ctx.info,
            &ListParams {
                page: page.0.unwrap_or(1),
                per_page: per_page.0.unwrap_or(0),
                sort: sort.0,
                filter: filter.0,
                ..Default::default()
            },
        )
        .await?;
        let body = json!({
            "page": r.page, "perPage": r.per_page, "totalItems": r.total_items,
            "totalPages": r.total_pages, "items": r.items,
        });
        Ok(Json(pick_items(body, fields.0.as_deref())))
    }

    /// Log entries per hour: `[{"date": "2026-12-01 08:00:00.000Z", "total": 42}]`.
    #[oai(path = "/api/logs/stats", method = "get", operation_id = "logStats")]
    async fn stats(&self, ctx: Ctx, filter: Query<Option<String>>) -> ApiResult<Json<Value>> {
        ctx.require_superuser()?;
        let rows = logs::stats(&ctx.app, &ctx.info, filter.0.as_deref()).await?;
        Ok(Json(Value::Array(rows)))
    }

    /// One log entry.
    #[oai(path = "/api/logs/:id", method = "get", operation_id = "viewLog")]
    async fn view(&self, ctx: Ctx, id: Path<String>) -> ApiResult<Json<Value>> {
        ctx.require_superuser()?;
        Ok(Json(Value::Object(
            logs::view(&ctx.app, &ctx.info, &id.0).await?,
        )))
    }

    /// Remove every log entry.
    #[oai(path = "/api/logs", method = "delete", operation_id = "deleteLogs")]
    async fn delete(&self, ctx: Ctx) -> ApiResult<NoContent> {
        ctx.require_superuser()?;
        logs::delete_all(&ctx.app, &ctx.info).await?;
        Ok(NoContent::Done)
    }
}

/// Records each `/api/` request (method, URL, status, time taken, client) once it has
/// been answered; the entry is written later, in a batch.
pub async fn record<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let app = req.data::<App>().cloned();
    let path = req.uri().path().to_string();
    let logged = app.is_some() && path.starts_with("/api/") && req.method() != "OPTIONS";
    let details = logged.then(|| {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let url = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| path.clone());
        (
            req.method().to_string(),
            url,
            header("referer"),
            header("user-agent"),
        )
    });
    let ips = app.as_ref().map(|a| {
        let settings = a.settings();
        let remote = req
            .remote_addr()
            .as_socket_addr()
            .map(|s| s.ip().to_string())
            .unwrap_or_default();
        let user = super::rate_limit::client_ip(&req, &settings)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        (settings.logs.log_ip, remote, user)
    });
    let resp = next.call(req).await.map(IntoResponse::into_response);
    if let (Some(app), Some((method, url, referer, user_agent))) = (app, details) {
        let status = match &resp {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.status().as_u16(),
        };
        let mut data = json!({
            "type": "request",
            "method": method,
            "url": url,
            "status": status,
            "execTime": started.elapsed().as_secs_f64() * 1000.0,
            "referer": referer,
            "userAgent": user_agent,
        });
        if let Some((true, remote, user)) = ips {
            data["remoteIP"] = json!(remote);
            data["userIP"] = json!(user);
        }
        let level = match status {
            500.. => Level::Error,
            400.. => Level::Warn,
            _ => Level::Info,
        };
        logs::log(
            &app,
            Entry {
                level,
                message: format!("{method} {url}"),
                data,
            },
        );
    }
    resp
}
