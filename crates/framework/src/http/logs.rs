//! `/api/logs`: request and app logs (superusers), and the middleware that records every
//! API request.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::shapes::{LogListShape, LogShape, LogStatShape};
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use super::{described, Described};
use crate::app::App;
use crate::logs::{self, RequestLog};
use crate::records::pick::pick_items;
use crate::records::read::ListParams;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use serde_json::Value;
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
        _su: SuperuserAuth,
        ctx: Ctx,
        /// 0 and 1 are the first page.
        page: Query<Option<u64>>,
        /// 0 = 30; at most 1000.
        #[oai(name = "perPage")]
        per_page: Query<Option<u64>>,
        sort: Query<Option<String>>,
        filter: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<LogListShape>>> {
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
        Ok(described(pick_items(r.into_json(), fields.0.as_deref())))
    }

    /// Log entries per hour: `[{"date": "2026-12-01 08:00:00.000Z", "total": 42}]`.
    #[oai(path = "/api/logs/stats", method = "get", operation_id = "logStats")]
    async fn stats(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        filter: Query<Option<String>>,
    ) -> ApiResult<Json<Described<Vec<LogStatShape>>>> {
        let rows = logs::stats(&ctx.app, &ctx.info, filter.0.as_deref()).await?;
        Ok(described(Value::Array(rows)))
    }

    /// One log entry.
    #[oai(path = "/api/logs/:id", method = "get", operation_id = "viewLog")]
    async fn view(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        id: Path<String>,
    ) -> ApiResult<Json<Described<LogShape>>> {
        Ok(described(Value::Object(
            logs::view(&ctx.app, &ctx.info, &id.0).await?,
        )))
    }

    /// Remove every log entry.
    #[oai(path = "/api/logs", method = "delete", operation_id = "deleteLogs")]
    async fn delete(&self, _su: SuperuserAuth, ctx: Ctx) -> ApiResult<NoContent> {
        logs::delete_all(&ctx.app, &ctx.info).await?;
        Ok(NoContent::Done)
    }
}

/// Records each `/api/` request (method, URL, status, time taken, client) once it has
/// been answered; the entry is written later, in a batch. With logging off it only
/// reads the settings.
pub async fn record<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let app = req.data::<App>().cloned();
    let settings = app.as_ref().map(|a| a.settings());
    let wanted = settings.as_ref().is_some_and(|s| s.logs.max_days > 0)
        && req.uri().path().starts_with("/api/")
        && req.method() != poem::http::Method::OPTIONS;
    let (Some(app), Some(settings), true) = (app, settings, wanted) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let started = Instant::now();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut line = RequestLog {
        kind: "request",
        method: req.method().to_string(),
        url: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        status: 0,
        exec_time: 0.0,
        referer: header("referer"),
        user_agent: header("user-agent"),
        remote_ip: None,
        user_ip: None,
    };
    if settings.logs.log_ip {
        line.remote_ip = req
            .remote_addr()
            .as_socket_addr()
            .map(|s| s.ip().to_string());
        line.user_ip = super::rate_limit::client_ip(&req, &settings).map(|ip| ip.to_string());
    }
    let resp = next.call(req).await.map(IntoResponse::into_response);
    line.status = match &resp {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    line.exec_time = started.elapsed().as_secs_f64() * 1000.0;
    logs::log_request(&app, line);
    resp
}
