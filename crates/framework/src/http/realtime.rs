//! `/api/realtime`: the SSE stream (`GET`) and its subscriptions (`POST`), and the
//! OAuth2 redirect that hands a provider's code to the waiting client's stream.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::rate_limit::client_ip;
use super::Tags;
use crate::realtime::broker::{Message, Subscription, IDLE_TIMEOUT, MAX_SUBSCRIPTIONS};
use crate::{app::App, error::Error};
use futures::stream::BoxStream;
use poem::web::sse::Event;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;

pub struct RealtimeApi;

/// One frame of the stream: `event` is the subscription it answers (or `PB_CONNECT`),
/// `data` its JSON.
#[derive(Object)]
struct Frame {
    /// The client id, on every frame.
    id: String,
    event: String,
    data: String,
}

#[derive(ApiResponse)]
enum StreamResponse {
    /// The event stream; the first frame is `PB_CONNECT` with `{"clientId"}`.
    #[oai(status = 200)]
    Stream(
        EventStream<BoxStream<'static, Frame>>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "X-Accel-Buffering")] String,
    ),
}

#[derive(Object)]
struct SetSubscriptions {
    #[oai(rename = "clientId")]
    client_id: String,
    /// Replaces every subscription: `coll/*`, `coll/recordId`, custom topics, each with
    /// an optional `?options=<url-encoded {"query": {...}, "headers": {...}}>`.
    #[oai(default)]
    subscriptions: Vec<String>,
}

/// Removes the client when its stream ends, however it ends.
struct Disconnect {
    app: App,
    id: String,
}

impl Drop for Disconnect {
    fn drop(&mut self) {
        self.app.realtime().disconnect(&self.id);
    }
}

#[derive(ApiResponse)]
enum Redirect {
    /// Back to the app's page (GET).
    #[oai(status = 307)]
    Temporary(#[oai(header = "Location")] String),
    /// Back to the app's page (POST, as `form_post` providers answer).
    #[oai(status = 303)]
    SeeOther(#[oai(header = "Location")] String),
}

#[OpenApi(tag = "Tags::Realtime")]
impl RealtimeApi {
    /// Opens the event stream. Closed after five minutes without a message (clients
    /// reconnect); a client that falls too far behind is disconnected.
    #[oai(
        path = "/api/realtime",
        method = "get",
        operation_id = "realtimeConnect"
    )]
    async fn connect(&self, ctx: Ctx, req: &Request) -> StreamResponse {
        let ip = client_ip(req, &ctx.app.settings());
        let (client, rx) = ctx.app.realtime().connect(ip);
        let guard = Disconnect {
            app: ctx.app.clone(),
            id: client.id.clone(),
        };
        let frames = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
            match tokio::time::timeout(IDLE_TIMEOUT, rx.recv()).await {
                Ok(Some(Message { event, data })) => {
                    let frame = Frame {
                        id: guard.id.clone(),
                        event: event.to_string(),
                        data: data.to_string(),
                    };
                    Some((frame, (rx, guard)))
                }
                _ => None,
            }
        });
        let stream = EventStream::new(Box::pin(frames) as BoxStream<'static, Frame>)
            .keep_alive(std::time::Duration::from_secs(30))
            .to_event(|f| Event::message(f.data).event_type(f.event).id(f.id));
        StreamResponse::Stream(stream, "no-store".into(), "no".into())
    }

    /// Sets the client's subscriptions and binds the caller's auth to the stream.
    #[oai(
        path = "/api/realtime",
        method = "post",
        operation_id = "realtimeSubscribe"
    )]
    async fn subscribe(
        &self,
        ctx: Ctx,
        req: &Request,
        body: Json<SetSubscriptions>,
    ) -> ApiResult<NoContent> {
        let broker = ctx.app.realtime();
        let client = broker
            .client(&body.client_id)
            .ok_or_else(|| Error::NotFound("Missing or invalid client id.".into()))?;
        if client.ip.is_some() && client.ip != client_ip(req, &ctx.app.settings()) {
            return Err(Error::BadRequest(
                "The request must come from the address that opened the stream.".into(),
            )
            .into());
        }
        let previous = client.auth();
        let now = ctx.info.auth.clone();
        let same = |a: &crate::filter::AuthRecord, b: &crate::filter::AuthRecord| {
            a.collection.id == b.collection.id && a.id() == b.id()
        };
        if let Some(prev) = &previous {
            if now.as_ref().is_none_or(|n| !same(prev, n)) {
                return Err(Error::Forbidden(
                    "The current and the previous request authorization don't match.".into(),
                )
                .into());
            }
        }
        if body.subscriptions.len() > MAX_SUBSCRIPTIONS {
            return Err(Error::BadRequest(format!(
                "At most {MAX_SUBSCRIPTIONS} subscriptions are allowed."
            ))
            .into());
        }
        let subs = body
            .subscriptions
            .iter()
            .map(|s| Subscription::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        client.set(now, subs);
        Ok(NoContent::Done)
    }

    /// Where OAuth2 providers send the browser back: the code goes to the realtime client
    /// whose id is `state` (subscribed to `@oauth2`), and the browser to the UI's page.
    #[oai(
        path = "/api/oauth2-redirect",
        method = "get",
        operation_id = "oauth2Redirect"
    )]
    async fn oauth2_redirect(
        &self,
        ctx: Ctx,
        req: &Request,
        state: Query<Option<String>>,
        code: Query<Option<String>>,
        error: Query<Option<String>>,
    ) -> ApiResult<Redirect> {
        let ok = forward_oauth2(&ctx.app, req, state.0, code.0, error.0);
        Ok(Redirect::Temporary(redirect_page(ok)))
    }

    /// The same, for providers that answer with a form POST.
    #[oai(
        path = "/api/oauth2-redirect",
        method = "post",
        operation_id = "oauth2RedirectPost"
    )]
    async fn oauth2_redirect_post(
        &self,
        ctx: Ctx,
        req: &Request,
        body: poem_openapi::payload::Form<OAuth2Callback>,
    ) -> ApiResult<Redirect> {
        let b = body.0;
        let ok = forward_oauth2(&ctx.app, req, b.state, b.code, b.error);
        Ok(Redirect::SeeOther(redirect_page(ok)))
    }
}

#[derive(Object, serde::Deserialize)]
struct OAuth2Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

fn redirect_page(ok: bool) -> String {
    let page = if ok { "success" } else { "failure" };
    format!("/_/#/auth/oauth2-redirect-{page}")
}

/// Sends `{"state","code"[,"error"]}` to the client waiting on `@oauth2`; false when
/// there is none, it is not subscribed, or the request comes from another address.
fn forward_oauth2(
    app: &App,
    req: &Request,
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
) -> bool {
    let state = state.unwrap_or_default();
    let Some(client) = app.realtime().client(&state) else {
        return false;
    };
    if client.ip.is_some() && client.ip != client_ip(req, &app.settings()) {
        return false;
    }
    let mut data = serde_json::json!({"state": state, "code": code.unwrap_or_default()});
    if let Some(e) = error.filter(|e| !e.is_empty()) {
        data["error"] = Value::String(e);
    }
    let failed = data.get("error").is_some();
    app.realtime().send_custom_to(&client, "@oauth2", &data) && !failed
}
