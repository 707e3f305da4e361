//! Per-request context: who is calling (from the `Authorization` token) and what
//! `@request.*` rules can see. An invalid token means "guest", as in PocketBase.

use crate::app::App;
use crate::auth::tokens::{verify_token, Claims, TokenType};
use crate::filter::{AuthRecord, RequestInfo};
use poem::{FromRequest, Request, RequestBody};
use std::collections::BTreeMap;

/// The caller and request details, extracted once per request.
pub struct Ctx {
    pub app: App,
    pub info: RequestInfo,
    /// The verified auth token and its claims, when the request carried a valid one.
    pub token: Option<(String, Claims)>,
}

/// The token of an `Authorization` header: raw, or after `Bearer ` (any case).
pub fn bearer(req: &Request) -> Option<String> {
    let raw = req.headers().get("authorization")?.to_str().ok()?.trim();
    let token = if raw.len() > 7 && raw[..7].eq_ignore_ascii_case("bearer ") {
        raw[7..].trim()
    } else {
        raw
    };
    (!token.is_empty()).then(|| token.to_string())
}

/// Who a bearer token stands for: a record token of the framework's, a fresh install's
/// installer token (a superuser), or an app's own token ([`App::accept_tokens`]).
async fn resolve_token(app: &App, t: String) -> (Option<AuthRecord>, Option<(String, Claims)>) {
    if let Some((a, claims)) = verify_token(app, &t, TokenType::Auth).await {
        return (Some(a), Some((t, claims)));
    }
    if let Some(installer) = crate::auth::superusers::installer_request(app, &t).await {
        return (installer.auth, None);
    }
    (crate::auth::app_tokens::resolve(app, &t).await, None)
}

/// The caller of `req` as the framework's routes see it (`None`: a guest), for an app's
/// own guards.
pub async fn caller(app: &App, req: &Request) -> Option<AuthRecord> {
    resolve_token(app, bearer(req)?).await.0
}

impl<'a> FromRequest<'a> for Ctx {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let app = req.data::<App>().cloned().ok_or_else(|| {
            poem::Error::from_string("app missing", poem::http::StatusCode::INTERNAL_SERVER_ERROR)
        })?;
        let (auth, token) = match bearer(req) {
            Some(t) => resolve_token(&app, t).await,
            None => (None, None),
        };
        let headers: BTreeMap<String, String> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase().replace('-', "_"),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let query: BTreeMap<String, String> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let info = RequestInfo {
            auth,
            method: req.method().as_str().to_string(),
            context: "default".into(),
            query,
            headers,
            body: Default::default(),
        };
        Ok(Ctx { app, info, token })
    }
}
