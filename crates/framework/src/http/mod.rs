//! The HTTP layer (poem + poem-openapi): one module per endpoint group, the error
//! envelope, and the server that puts them together with an app's own routes. Apps get
//! the server, the extractors and guards, the error types and the OpenAPI document.

pub(crate) mod admin_ui;
pub(crate) mod batch;
pub(crate) mod collections;
pub(crate) mod context;
pub(crate) mod described;
pub(crate) mod document;
pub(crate) mod error;
pub(crate) mod files;
pub(crate) mod health;
pub(crate) mod logs;
pub(crate) mod rate_limit;
pub(crate) mod realtime;
pub(crate) mod record_auth;
pub(crate) mod record_auth_email_change;
pub(crate) mod record_auth_oauth2;
pub(crate) mod record_auth_otp;
pub(crate) mod record_auth_password_reset;
pub(crate) mod record_auth_verification;
pub(crate) mod record_body;
pub(crate) mod records;
pub(crate) mod server;
pub(crate) mod settings;
pub(crate) mod shapes;
pub(crate) mod site;
pub(crate) mod superuser_auth;
pub(crate) mod text;

use crate::app::App;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{OpenApi, OpenApiService, Tags as TagsDerive};
use std::sync::Arc;

pub use context::{caller, Ctx};
pub use described::{described, Described, MergePatch};
pub use document::ApiDocument;
pub use error::{ApiError, ApiResult};
pub use rate_limit::client_ip;
pub use site::Site;
pub use superuser_auth::SuperuserAuth;
pub use text::Text;

#[derive(TagsDerive)]
pub(crate) enum Tags {
    /// Liveness.
    Health,
    /// Collections: runtime-defined tables (superusers only).
    Collections,
    /// Records of any collection, guarded by its API rules.
    Records,
    /// Logging in to auth collections.
    Auth,
    /// Application settings (superusers only).
    Settings,
    /// Server-sent events: record changes as they happen.
    Realtime,
    /// Record files: downloads, thumbnails, protected-file tokens.
    Files,
    /// Request and app logs (superusers only).
    Logs,
}

/// A JSON body that must be an object.
pub fn body_object(
    v: serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, crate::error::Error> {
    match v {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(crate::error::Error::BadRequest(
            "The request body must be a JSON object.".into(),
        )),
    }
}

/// The framework's own API groups.
pub type CoreApi = (
    health::HealthApi,
    collections::CollectionsApi,
    records::RecordsApi,
    batch::BatchApi,
    files::FilesApi,
    record_auth::RecordAuthApi,
    record_auth_verification::VerificationApi,
    record_auth_password_reset::PasswordResetApi,
    record_auth_email_change::EmailChangeApi,
    record_auth_otp::OtpApi,
    record_auth_oauth2::OAuth2Api,
    settings::SettingsApi,
    logs::LogsApi,
    realtime::RealtimeApi,
);

pub fn core_api() -> CoreApi {
    (
        health::HealthApi,
        collections::CollectionsApi,
        records::RecordsApi,
        batch::BatchApi,
        files::FilesApi,
        record_auth::RecordAuthApi,
        record_auth_verification::VerificationApi,
        record_auth_password_reset::PasswordResetApi,
        record_auth_email_change::EmailChangeApi,
        record_auth_otp::OtpApi,
        record_auth_oauth2::OAuth2Api,
        settings::SettingsApi,
        logs::LogsApi,
        realtime::RealtimeApi,
    )
}

fn openapi_service<T: OpenApi>(name: &str, extra: T) -> OpenApiService<(CoreApi, T), ()> {
    OpenApiService::new((core_api(), extra), name, env!("CARGO_PKG_VERSION")).description(
        "A self-hosted backend that speaks PocketBase's HTTP API, documented end to end.",
    )
}

/// The OpenAPI document the server serves for the core API plus `extra` (as
/// [`endpoint`] does), for an app's tests of its own routes' descriptions.
pub fn document<T: OpenApi>(name: &str, extra: T) -> ApiDocument {
    ApiDocument::from_generated(&openapi_service(name, extra).spec())
}

/// The whole HTTP application: the core API plus `extra` (an app's own poem-openapi
/// routes, e.g. a tuple of `#[OpenApi]` structs), all in one OpenAPI document served at
/// `/openapi.json`, with Swagger UI at `/docs`.
pub fn endpoint<T: OpenApi + 'static>(app: App, extra: T, server_url: &str) -> impl Endpoint {
    let service = openapi_service(&app.config().name, extra).server(server_url);
    let generated = service.spec();
    let document = ApiDocument::from_generated(&generated);
    let spec = document.text().to_string();
    // Swagger UI embeds the document: the tightened one.
    let docs = poem::web::Html(
        service
            .swagger_ui_html()
            .replace(&generated, document.text()),
    );
    let spec = poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(spec.clone())
    });
    let docs = poem::endpoint::make_sync(move |_| docs.clone());
    let max_body = app.config().max_body_size;
    let body_timeout = app.config().http.body_timeout;
    let limiters = Arc::new(rate_limit::Limiters::default());
    let site = app.state::<Site>();
    // MCP tool calls are requests through this same endpoint, once it exists.
    let loopback = Arc::new(crate::mcp::Loopback::default());
    let mcp = crate::mcp::endpoint(&app, &document, loopback.clone());
    let whole = Route::new()
        .nest("/", service)
        .at("/openapi.json", spec)
        .at(crate::mcp::MCP_PATH, mcp)
        .nest("/docs", docs)
        .nest("/_", admin_ui::endpoint(&app.config().name))
        .around(move |ep, req| guard_input(ep, req, max_body, body_timeout))
        .around(move |ep, req| rate_limit::limit(ep, req, limiters.clone()))
        .catch_all_error(|err| async move { error::catch_all(err) })
        .around(move |ep, req| site::serve(ep, req, site.clone()))
        .around(allow_methods)
        .around(logs::record)
        .with(
            Cors::new()
                .allow_methods(["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"])
                // Browser MCP clients read their session's id from the answer.
                .expose_header("mcp-session-id"),
        )
        .data(app)
        .data(document)
        .map_to_response();
    let whole: Arc<dyn poem::endpoint::DynEndpoint<Output = Response>> = Arc::from(whole.boxed());
    loopback.set(&whole);
    whole
}

/// A 405 says which methods the path has (`Allow`), read from the OpenAPI document.
async fn allow_methods<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let doc = req.data::<ApiDocument>().cloned();
    let mut resp = next.call(req).await?.into_response();
    if resp.status() != poem::http::StatusCode::METHOD_NOT_ALLOWED {
        return Ok(resp);
    }
    if let Some(allow) = doc.and_then(|d| d.allowed_methods(&path)) {
        if let Ok(v) = poem::http::HeaderValue::from_str(&allow) {
            resp.headers_mut().insert(poem::http::header::ALLOW, v);
        }
    }
    Ok(resp)
}

/// Refuses bodies over `max` bytes with 413, whether or not they declare a length, and
/// NUL characters anywhere (PostgreSQL cannot store them, so both engines refuse them).
async fn guard_input<E: Endpoint>(
    next: Arc<E>,
    mut req: Request,
    max: usize,
    body_timeout: std::time::Duration,
) -> poem::Result<Response> {
    let too_large = || poem::Error::from_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    if req.uri().to_string().contains("%00") {
        return Err(nul_refused().into());
    }
    // Files are bytes: a multipart body's text fields are checked as they are read.
    let content_type = req.content_type().unwrap_or_default().to_ascii_lowercase();
    let multipart = content_type.starts_with("multipart/");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let body = req.take_body().into_bytes_limit(max);
    let bytes = match tokio::time::timeout(body_timeout, body).await {
        Ok(read) => read.map_err(|_| too_large())?,
        Err(_) => return Err(body_too_slow().into()),
    };
    let nul = bytes.contains(&0)
        || (form && bytes.windows(3).any(|w| w == b"%00"))
        || (!form && json_escaped_nul(&bytes));
    if nul && !multipart {
        return Err(nul_refused().into());
    }
    req.set_body(bytes);
    next.call(req).await.map(IntoResponse::into_response)
}

/// Whether JSON text holds `\u0000` as an escape (an odd run of backslashes before
/// `u0000`; `\\u0000` is a backslash followed by the text `u0000`).
fn json_escaped_nul(bytes: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\\' {
            backslashes += 1;
            continue;
        }
        let escape = bytes.get(i..i + 5);
        if backslashes % 2 == 1 && escape.is_some_and(|e| e.eq_ignore_ascii_case(b"u0000")) {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// A body that does not arrive in time (a client that sent less than its
/// `Content-Length`, or trickles it).
fn body_too_slow() -> ApiError {
    ApiError(crate::error::Error::RequestTimeout(
        "The request body did not arrive in time.".into(),
    ))
}

/// PostgreSQL cannot store NUL characters, so both engines refuse them.
pub(crate) fn nul_refused() -> ApiError {
    ApiError(crate::error::Error::BadRequest(
        "The NUL character is not allowed in requests.".into(),
    ))
}

/// Serves `app` on `addr` until Ctrl-C / SIGTERM.
pub async fn serve<T: OpenApi + 'static>(app: App, extra: T, addr: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(app, extra, listener, shutdown_signal()).await
}

/// Serves on an already bound listener until `stop` resolves (tests bind port 0).
pub async fn serve_on<T: OpenApi + 'static>(
    app: App,
    extra: T,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let limits = app.config().http;
    let ep = endpoint(app, extra, &format!("http://{local}"));
    tracing::info!("serving on http://{local} (API /api/, docs /docs)");
    server::serve_endpoint(ep, listener, limits, stop).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
