//! The Model Context Protocol server at `/mcp` (Streamable HTTP, on the same listener):
//! the app's operations as tools generated from the OpenAPI document, a tool call made
//! as a request through the same routes, plus the resources and prompts the app names.
//!
//! An app says which operations are tools (by tag), what its sign-in operation is (its
//! answer's token is then kept for the MCP session and sent with later calls), and adds
//! resources and prompts:
//!
//! ```no_run
//! use framework::mcp::{McpOptions, McpResource};
//! # fn set_up(app: &framework::App) {
//! app.serve_mcp(
//!     McpOptions::new("Notes over MCP: list and add notes.")
//!         .tags(&["Notes"])
//!         .resource(McpResource::new("notes://help", "/help", "help", "How to use the notes")),
//! );
//! # }
//! ```
//!
//! The framework's own routes (collections, records, auth, settings, logs) are tools only
//! when the operator sets `mcp.coreTools` in the settings.

mod catalog;
mod dispatch;
mod schema;
mod session;

use crate::app::App;
use crate::http::ApiDocument;
use poem::{Endpoint, IntoResponse, Request, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Map, Value};
use std::sync::Arc;

pub(crate) use dispatch::{CallerIp, Loopback};

/// Where the MCP server is mounted.
pub const MCP_PATH: &str = "/mcp";

/// Sessions kept at once: each holds a worker task and its channels until it ends or
/// has been idle for five minutes, so a flood of `initialize` calls is refused beyond
/// this (503) rather than growing without bound.
const MAX_SESSIONS: usize = 10_000;

/// What an app offers over MCP (see the module docs); given to [`App::serve_mcp`].
pub struct McpOptions {
    pub(crate) instructions: String,
    pub(crate) tags: Vec<&'static str>,
    pub(crate) excluded: Vec<&'static str>,
    pub(crate) renamed: Vec<(&'static str, &'static str)>,
    pub(crate) sign_ins: Vec<(&'static str, &'static str)>,
    pub(crate) needs_token_note: String,
    pub(crate) notes: fn(&str) -> Vec<&'static str>,
    pub(crate) resources: Vec<McpResource>,
    pub(crate) prompts: Vec<McpPrompt>,
}

impl McpOptions {
    /// Options with `instructions`: what the server is for, which clients show the model.
    pub fn new(instructions: &str) -> McpOptions {
        McpOptions {
            instructions: instructions.to_string(),
            tags: Vec::new(),
            excluded: Vec::new(),
            renamed: Vec::new(),
            sign_ins: Vec::new(),
            needs_token_note: "Needs a token: sign in first, or send `Authorization` to /mcp."
                .into(),
            notes: |_| Vec::new(),
            resources: Vec::new(),
            prompts: Vec::new(),
        }
    }

    /// The operations with one of these OpenAPI tags are tools (superuser-only ones aside).
    pub fn tags(mut self, tags: &[&'static str]) -> Self {
        self.tags.extend_from_slice(tags);
        self
    }

    /// These operations (by `operationId`) are not tools, whatever their tags.
    pub fn exclude(mut self, operation_ids: &[&'static str]) -> Self {
        self.excluded.extend_from_slice(operation_ids);
        self
    }

    /// The tool of `operation_id` is called `tool` (tools are named by operation id).
    pub fn rename(mut self, operation_id: &'static str, tool: &'static str) -> Self {
        self.renamed.push((operation_id, tool));
        self
    }

    /// A successful call of `operation_id` answers a token in `field`: the session keeps
    /// it and sends it (`Authorization: Bearer <token>`) with its later calls.
    pub fn sign_in(mut self, operation_id: &'static str, field: &'static str) -> Self {
        self.sign_ins.push((operation_id, field));
        self
    }

    /// What the description of a tool that needs a token says about getting one.
    pub fn needs_token_note(mut self, note: &str) -> Self {
        self.needs_token_note = note.to_string();
        self
    }

    /// Advice added to the description of each operation's tool, by operation id.
    pub fn notes(mut self, notes: fn(&str) -> Vec<&'static str>) -> Self {
        self.notes = notes;
        self
    }

    pub fn resource(mut self, resource: McpResource) -> Self {
        self.resources.push(resource);
        self
    }

    pub fn prompt(mut self, prompt: McpPrompt) -> Self {
        self.prompts.push(prompt);
        self
    }
}

/// A resource read with a `GET` of a route. `uri` may hold one `{variable}` (it is then a
/// template, `docs://pages/{name}`), which `path` holds too (`/api/pages/{name}`): the
/// value read from the URI is percent-encoded into the path.
#[derive(Debug, Clone)]
pub struct McpResource {
    pub uri: &'static str,
    pub path: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub mime_type: &'static str,
}

impl McpResource {
    /// A JSON resource.
    pub fn new(
        uri: &'static str,
        path: &'static str,
        name: &'static str,
        description: &'static str,
    ) -> Self {
        McpResource {
            uri,
            path,
            name,
            description,
            mime_type: "application/json",
        }
    }

    pub fn mime_type(mut self, mime_type: &'static str) -> Self {
        self.mime_type = mime_type;
        self
    }
}

/// An argument of a prompt.
#[derive(Debug, Clone)]
pub struct McpPromptArgument {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
}

/// A prompt: a message for the model, written from the arguments by `render` (an error
/// is the client's mistake, shown to it as such).
#[derive(Debug, Clone)]
pub struct McpPrompt {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub arguments: Vec<McpPromptArgument>,
    pub render: fn(&Map<String, Value>) -> Result<String, String>,
}

/// The `/mcp` endpoint for `app` and its document; tool calls go through `loopback`,
/// which the caller sets to the whole endpoint once it is built.
pub(crate) fn endpoint(
    app: &App,
    document: &ApiDocument,
    loopback: Arc<Loopback>,
) -> impl Endpoint {
    let options = app
        .state::<McpOptions>()
        .unwrap_or_else(|| Arc::new(McpOptions::new("")));
    let shared = Arc::new(session::Shared::new(
        app.clone(),
        document.clone(),
        options,
        loopback,
    ));
    let sessions = Arc::new(LocalSessionManager::default());
    // Which hosts may call is the operator's business (behind a proxy, any name): the
    // DNS-rebinding guard matters for servers on a desktop, not for a public API, and
    // browsers' requests are still bound by CORS.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_max_request_body_bytes(app.config().max_body_size);
    let ends_sessions = Arc::new(EndSessionsOnDrop(config.cancellation_token.clone()));
    let service = StreamableHttpService::new(
        move || Ok(session::Session::new(shared.clone())),
        sessions.clone(),
        config,
    );
    poem::endpoint::make(move |req: Request| {
        let _alive = &ends_sessions;
        let service = service.clone();
        let sessions = sessions.clone();
        async move { Ok::<_, poem::Error>(serve(req, &service, &sessions).await) }
    })
}

/// Ends every MCP session when the endpoint goes (the server stopped): their tasks hold
/// the app, and would otherwise keep it, and its database pool, until they time out.
struct EndSessionsOnDrop(tokio_util::sync::CancellationToken);

impl Drop for EndSessionsOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

async fn serve(
    req: Request,
    service: &StreamableHttpService<session::Session, LocalSessionManager>,
    sessions: &LocalSessionManager,
) -> Response {
    let new_session =
        req.method() == poem::http::Method::POST && !req.headers().contains_key("mcp-session-id");
    if new_session && sessions.sessions.read().await.len() >= MAX_SESSIONS {
        return crate::http::ApiError::from(crate::Error::ServiceUnavailable(
            "Too many MCP sessions are open: try again later.".into(),
        ))
        .into_response();
    }
    let ip = req
        .data::<App>()
        .and_then(|app| crate::http::client_ip(&req, &app.settings()));
    let json_body = req
        .content_type()
        .is_some_and(|t| t.starts_with("application/json"));
    let mut req: poem::http::Request<
        http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>,
    > = req.into();
    req.extensions_mut().insert(CallerIp(ip));
    let resp = service.handle(req).await;
    let (parts, body) = resp.into_parts();
    let body = http_body_util::BodyExt::map_err(
        body,
        |never: std::convert::Infallible| -> std::io::Error { match never {} },
    );
    let resp = Response::from(poem::http::Response::from_parts(parts, body));
    if resp.status().is_client_error() || resp.status().is_server_error() {
        return enveloped(resp, json_body).await;
    }
    resp
}

/// The transport's own refusals (rmcp answers them in plain text) in the error envelope
/// every other route uses; a JSON body that does not parse is a 400, not rmcp's 415.
async fn enveloped(resp: Response, json_body: bool) -> Response {
    use poem::http::StatusCode;
    let status = match resp.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE if json_body => StatusCode::BAD_REQUEST,
        s => s,
    };
    let headers = resp.headers().clone();
    let text = resp.into_body().into_string().await.unwrap_or_default();
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("Error.").to_string(),
        t => t.to_string(),
    };
    let mut out = crate::http::error::envelope(status, &message, Value::Object(Map::new()));
    // `Allow` on a 405, `WWW-Authenticate` and the like stay.
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| *n != "content-type" && *n != "content-length")
    {
        out.headers_mut().insert(name.clone(), value.clone());
    }
    out
}
