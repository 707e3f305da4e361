//! A real OAuth2 / OpenID Connect provider for tests, on a random loopback port: discovery,
//! authorize (answers with a redirect carrying a code), token (client secret, redirect
//! URL and PKCE checked, codes single use), and user info in OIDC and GitHub shapes.

use base64::Engine;
use poem::http::StatusCode;
use poem::web::{Data, Form, Query};
use poem::{handler, EndpointExt, Request, Response, Route};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "gather-test-client";
pub const CLIENT_SECRET: &str = "gather-test-secret";

struct Pending {
    redirect_uri: String,
    challenge: String,
    user: Value,
}

#[derive(Default)]
struct State {
    user: Value,
    codes: HashMap<String, Pending>,
    tokens: HashMap<String, Value>,
}

type Shared = Arc<Mutex<State>>;

pub struct MockProvider {
    pub base: String,
    state: Shared,
}

impl MockProvider {
    pub async fn start() -> MockProvider {
        let state: Shared = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind oauth");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = Route::new()
            .at("/.well-known/openid-configuration", discovery)
            .at("/authorize", authorize)
            .at("/token", poem::post(token_endpoint))
            .at("/userinfo", userinfo)
            .at("/user", github_user)
            .at("/user/emails", github_emails)
            .data(state.clone())
            .data(BaseUrl(base.clone()));
        let acceptor = poem::listener::TcpAcceptor::from_std(listener.into_std().expect("std"))
            .expect("acceptor");
        tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
        });
        MockProvider { base, state }
    }

    /// The account the next authorization logs in as (OIDC claims; the GitHub routes
    /// derive their shape from it).
    pub fn set_user(&self, user: Value) {
        self.state.lock().unwrap().user = user;
    }
}

#[derive(Clone)]
struct BaseUrl(String);

#[handler]
fn discovery(Data(base): Data<&BaseUrl>) -> poem::web::Json<Value> {
    let b = &base.0;
    poem::web::Json(json!({
        "issuer": b,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
    }))
}

fn fail(status: StatusCode, error: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({"error": error}).to_string())
}

/// Stands in for the provider's login page: the user agrees at once.
#[handler]
fn authorize(Query(q): Query<HashMap<String, String>>, Data(state): Data<&Shared>) -> Response {
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return fail(StatusCode::BAD_REQUEST, "unauthorized_client");
    }
    let Some(redirect) = q.get("redirect_uri").filter(|r| !r.is_empty()) else {
        return fail(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let code = format!("code-{}", rand_suffix());
    let mut s = state.lock().unwrap();
    let user = s.user.clone();
    s.codes.insert(
        code.clone(),
        Pending {
            redirect_uri: redirect.clone(),
            challenge: q.get("code_challenge").cloned().unwrap_or_default(),
            user,
        },
    );
    let state_param = q.get("state").cloned().unwrap_or_default();
    let mut location = url::Url::parse(redirect).expect("redirect url");
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state_param);
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location.to_string())
        .finish()
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        N.fetch_add(1, Ordering::SeqCst),
        std::process::id()
    )
}

#[handler]
fn token_endpoint(
    req: &Request,
    Form(f): Form<HashMap<String, String>>,
    Data(state): Data<&Shared>,
) -> Response {
    // The client authenticates with HTTP Basic (or, failing that, form fields).
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((i, s)) => (i.to_string(), s.to_string()),
        None => (
            f.get("client_id").cloned().unwrap_or_default(),
            f.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return fail(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut s = state.lock().unwrap();
    let Some(p) = f.get("code").and_then(|c| s.codes.remove(c)) else {
        return fail(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if f.get("redirect_uri") != Some(&p.redirect_uri) {
        return fail(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if p.challenge.is_empty() || computed != p.challenge {
        return fail(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access = format!("access-{}", rand_suffix());
    s.tokens.insert(access.clone(), p.user);
    Response::builder().content_type("application/json").body(
        json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": "refresh-1"})
            .to_string(),
    )
}

fn bearer_user(req: &Request, state: &Shared) -> Option<Value> {
    let token = req
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_string();
    state.lock().unwrap().tokens.get(&token).cloned()
}

fn json_response(v: Value) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(v.to_string())
}

#[handler]
fn userinfo(req: &Request, Data(state): Data<&Shared>) -> Response {
    match bearer_user(req, state) {
        Some(u) => json_response(u),
        None => fail(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

/// GitHub's `/user`: a numeric id, `login`, and only a public e-mail.
#[handler]
fn github_user(req: &Request, Data(state): Data<&Shared>) -> Response {
    let Some(u) = bearer_user(req, state) else {
        return fail(StatusCode::UNAUTHORIZED, "bad credentials");
    };
    json_response(json!({
        "id": u["sub"].as_str().and_then(|s| s.parse::<i64>().ok()).unwrap_or(1),
        "login": u["preferred_username"],
        "name": u["name"],
        "email": null,
        "avatar_url": u["picture"],
    }))
}

#[handler]
fn github_emails(req: &Request, Data(state): Data<&Shared>) -> Response {
    let Some(u) = bearer_user(req, state) else {
        return fail(StatusCode::UNAUTHORIZED, "bad credentials");
    };
    json_response(json!([
        {"email": "old@example.com", "primary": false, "verified": true},
        {"email": u["email"], "primary": true, "verified": u["email_verified"]},
    ]))
}
