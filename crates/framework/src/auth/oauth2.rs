//! OAuth2 login: provider presets and OIDC discovery, the authorization URL that
//! `auth-methods` hands out, the code exchange and user info behind `auth-with-oauth2`,
//! and `_externalAuths`, which links provider accounts to auth records (the first login's
//! linking is `oauth2_link`).

use crate::app::App;
use crate::collections::ids::random_token;
use crate::collections::model::{Collection, OAuth2Provider};
use crate::db::quote;
use crate::error::{Error, Result};
use crate::fields::{Field, FieldKind, TextField};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, TokenResponse, TokenUrl,
};
use serde_json::{json, Value};
use std::time::Duration;

/// The system collection of links between provider accounts and auth records.
pub const EXTERNAL_AUTHS: &str = "_externalAuths";

pub(crate) fn collection() -> Collection {
    let text = |n: &str| Field::new(n, FieldKind::Text(TextField::default())).required();
    let mut c = crate::auth::flow_store::collection(
        EXTERNAL_AUTHS,
        vec![text("provider"), text("providerId")],
    );
    c.indexes.push(format!(
        "CREATE UNIQUE INDEX idx_{EXTERNAL_AUTHS}_provider ON {EXTERNAL_AUTHS} (collectionRef, provider, providerId)"
    ));
    // Each record sees and may remove its own links.
    let own = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";
    c.list_rule = Some(own.into());
    c.view_rule = Some(own.into());
    c.delete_rule = Some(own.into());
    c
}

/// How a provider's user info reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    /// Google and any OpenID Connect provider: `sub`, `email`, `email_verified`, ...
    Oidc,
}

/// A provider's settings with the preset's and discovery's gaps filled.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub display_name: String,
    kind: Kind,
    client_id: String,
    client_secret: String,
    auth_url: String,
    token_url: String,
    user_info_url: String,
    scopes: Vec<String>,
    pkce: bool,
}

struct Preset {
    display_name: &'static str,
    kind: Kind,
    auth_url: &'static str,
    token_url: &'static str,
    user_info_url: &'static str,
    scopes: &'static [&'static str],
}

fn preset(name: &str) -> Option<Preset> {
    Some(match name {
        "github" => Preset {
            display_name: "GitHub",
            kind: Kind::GitHub,
            auth_url: "https://github.com/login/oauth/authorize",
            token_url: "https://github.com/login/oauth/access_token",
            user_info_url: "https://api.github.com/user",
            scopes: &["read:user", "user:email"],
        },
        "google" => Preset {
            display_name: "Google",
            kind: Kind::Oidc,
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
            token_url: "https://oauth2.googleapis.com/token",
            user_info_url: "https://www.googleapis.com/oauth2/v3/userinfo",
            scopes: &["openid", "email", "profile"],
        },
        n if n.starts_with("oidc") => Preset {
            display_name: "OpenID Connect",
            kind: Kind::Oidc,
            auth_url: "",
            token_url: "",
            user_info_url: "",
            scopes: &["openid", "email", "profile"],
        },
        _ => return None,
    })
}

/// The names accepted as providers.
pub fn is_known_provider(name: &str) -> bool {
    preset(name).is_some()
}

/// Fills a configured provider from its preset and, for OIDC, its discovery document.
pub async fn resolve(app: &App, p: &OAuth2Provider) -> Result<Provider> {
    let preset = preset(&p.name)
        .ok_or_else(|| Error::BadRequest(format!("Unknown OAuth2 provider {:?}.", p.name)))?;
    let pick = |own: &str, default: &str| {
        if own.is_empty() {
            default.to_string()
        } else {
            own.to_string()
        }
    };
    let mut out = Provider {
        name: p.name.clone(),
        display_name: pick(&p.display_name, preset.display_name),
        kind: preset.kind,
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
        auth_url: pick(&p.auth_url, preset.auth_url),
        token_url: pick(&p.token_url, preset.token_url),
        user_info_url: pick(&p.user_info_url, preset.user_info_url),
        scopes: match p.extra.get("scopes") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect(),
            Some(Value::String(s)) => s.split_whitespace().map(String::from).collect(),
            _ => preset.scopes.iter().map(|s| s.to_string()).collect(),
        },
        pkce: p.pkce.unwrap_or(true),
    };
    let missing =
        out.auth_url.is_empty() || out.token_url.is_empty() || out.user_info_url.is_empty();
    if let (true, Some(url)) = (missing, p.extra.get("discoveryURL").and_then(Value::as_str)) {
        let doc = app.cached_json(url, Duration::from_secs(600)).await?;
        let get = |k: &str| {
            doc.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        out.auth_url = pick(&out.auth_url, &get("authorization_endpoint"));
        out.token_url = pick(&out.token_url, &get("token_endpoint"));
        out.user_info_url = pick(&out.user_info_url, &get("userinfo_endpoint"));
    }
    if out.auth_url.is_empty() || out.token_url.is_empty() || out.user_info_url.is_empty() {
        return Err(Error::BadRequest(format!(
            "The OAuth2 provider {:?} has no authorization, token or user info URL.",
            p.name
        )));
    }
    Ok(out)
}

/// What `auth-methods` lists for one provider: where to send the browser (the URL ends
/// in `redirect_uri=` for the client to append its own), and the PKCE pair and state
/// the client keeps for the code exchange.
pub fn login_offer(p: &Provider) -> Result<Value> {
    let state = random_token(30);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut url = url::Url::parse(&p.auth_url)
        .map_err(|e| Error::BadRequest(format!("Invalid authURL of {}: {e}.", p.name)))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &p.client_id);
        if p.pkce {
            q.append_pair("code_challenge", challenge.as_str());
            q.append_pair("code_challenge_method", "S256");
        }
        q.append_pair("response_type", "code");
        q.append_pair("scope", &p.scopes.join(" "));
        q.append_pair("state", &state);
    }
    let auth_url = format!("{url}&redirect_uri=");
    let (verifier, challenge, method) = if p.pkce {
        (
            verifier.secret().clone(),
            challenge.as_str().to_string(),
            "S256",
        )
    } else {
        (String::new(), String::new(), "")
    };
    Ok(json!({
        "name": p.name,
        "displayName": p.display_name,
        "state": state,
        "authURL": auth_url,
        "authUrl": auth_url,
        "codeVerifier": verifier,
        "codeChallenge": challenge,
        "codeChallengeMethod": method,
    }))
}

/// The provider's account, as `auth-with-oauth2`'s `meta` shows it.
#[derive(Debug, Clone, Default)]
pub struct ProviderUser {
    pub id: String,
    pub name: String,
    pub username: String,
    /// Only an address the provider says is verified.
    pub email: String,
    pub avatar_url: String,
    pub access_token: String,
    pub refresh_token: String,
    pub expiry: String,
    pub raw: Value,
}

impl ProviderUser {
    pub fn meta(&self, is_new: bool) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "email": self.email,
            "avatarURL": self.avatar_url,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiry": self.expiry,
            "rawUser": self.raw,
            "isNew": is_new,
        })
    }
}

/// Trades an authorization code for tokens and reads the user behind them.
pub async fn fetch_user(
    app: &App,
    p: &Provider,
    code: &str,
    code_verifier: &str,
    redirect_url: &str,
) -> Result<ProviderUser> {
    let bad = |what: &str, e: String| {
        tracing::info!(provider = %p.name, error = %e, "{what}");
        Error::BadRequest(format!("{what}."))
    };
    let url_err = |e: oauth2::url::ParseError| bad("Invalid OAuth2 provider URL", e.to_string());
    let mut client = BasicClient::new(ClientId::new(p.client_id.clone()))
        .set_client_secret(ClientSecret::new(p.client_secret.clone()))
        .set_auth_uri(AuthUrl::new(p.auth_url.clone()).map_err(url_err)?)
        .set_token_uri(TokenUrl::new(p.token_url.clone()).map_err(url_err)?);
    if !redirect_url.is_empty() {
        client =
            client.set_redirect_uri(RedirectUrl::new(redirect_url.to_string()).map_err(url_err)?);
    }
    let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_string()));
    if !code_verifier.is_empty() {
        exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(code_verifier.to_string()));
    }
    let token = exchange
        .request_async(app.http()?)
        .await
        .map_err(|e| bad("Failed to fetch OAuth2 token", e.to_string()))?;
    let access = token.access_token().secret().clone();
    let http = app.http()?;
    let get_json = |url: String| {
        let access = access.clone();
        async move {
            http.get(&url)
                .bearer_auth(access)
                .header("accept", "application/json")
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| bad("Failed to fetch OAuth2 user", e.to_string()))?
                .json::<Value>()
                .await
                .map_err(|e| bad("Failed to fetch OAuth2 user", e.to_string()))
        }
    };
    let raw = get_json(p.user_info_url.clone()).await?;
    let s = |k: &str| match raw.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let mut user = match p.kind {
        Kind::GitHub => ProviderUser {
            id: s("id"),
            name: s("name"),
            username: s("login"),
            email: s("email"),
            avatar_url: s("avatar_url"),
            ..Default::default()
        },
        Kind::Oidc => ProviderUser {
            id: s("sub"),
            name: s("name"),
            username: s("preferred_username"),
            email: if raw.get("email_verified").and_then(Value::as_bool) == Some(true) {
                s("email")
            } else {
                String::new()
            },
            avatar_url: s("picture"),
            ..Default::default()
        },
    };
    if p.kind == Kind::GitHub && user.email.is_empty() {
        // A private address is only in /user/emails; take the primary, verified one.
        let emails = get_json(format!("{}/emails", p.user_info_url.trim_end_matches('/'))).await?;
        user.email = emails
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["primary"] == true && e["verified"] == true)
            .and_then(|e| e["email"].as_str())
            .unwrap_or_default()
            .to_string();
    }
    if user.id.is_empty() {
        return Err(bad(
            "Failed to fetch OAuth2 user",
            "no user id in the user info".into(),
        ));
    }
    user.access_token = access;
    user.refresh_token = token
        .refresh_token()
        .map(|t| t.secret().clone())
        .unwrap_or_default();
    user.expiry = token
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| crate::fields::format_datetime(chrono::Utc::now() + d))
        .unwrap_or_default();
    user.raw = raw;
    Ok(user)
}

/// The auth record of `c` linked to this provider account, if any.
pub async fn linked_record(
    app: &App,
    c: &Collection,
    provider: &str,
    provider_id: &str,
) -> Result<Option<String>> {
    let d = app.dialect();
    let sql = format!(
        "SELECT \"recordRef\" FROM {} WHERE \"collectionRef\" = {} AND \"provider\" = {} AND \"providerId\" = {}",
        quote(EXTERNAL_AUTHS),
        d.param(1),
        d.param(2),
        d.param(3)
    );
    let values = vec![c.id.clone().into(), provider.into(), provider_id.into()];
    Ok(match app.db().query_one(d.raw(sql, values)).await? {
        Some(row) => Some(row.string("recordRef")?),
        None => None,
    })
}

/// What `auth-methods` lists for the enabled providers; a provider that cannot be
/// resolved (say, its discovery document is unreachable) is left out and logged.
pub(crate) async fn login_offers(app: &App, providers: &[OAuth2Provider]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in providers {
        match resolve(app, p).await.and_then(|r| login_offer(&r)) {
            Ok(v) => out.push(v),
            Err(e) => tracing::warn!(provider = %p.name, error = %e, "OAuth2 provider left out"),
        }
    }
    out
}
