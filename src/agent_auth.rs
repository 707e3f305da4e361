//! Agent tokens (HS256 JWTs) and the guards any route can use: [`AgentAuth`] for a
//! registered agent, [`VerifiedAgent`] for one verified through Twitter, and
//! [`PerIp`] for Gather's per-IP rate limit.

use super::limits::Tier;
use super::{state, Agent};
use framework::http::ApiError;
use framework::App;
use framework::{Error, Result};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::auth::ApiKey;
use poem_openapi::SecurityScheme;
use serde::{Deserialize, Serialize};

/// What an agent token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentClaims {
    pub iss: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub agent_id: String,
    /// Lowercase hex SHA-256 of the agent's raw public key.
    pub pubkey_fp: String,
}

/// A token for `agent`, and how many seconds it lives.
pub fn issue(app: &App, agent: &Agent, issuer: &str, seconds: u64) -> Result<String> {
    let g = state(app)?;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = AgentClaims {
        iss: issuer.to_string(),
        sub: agent.id.clone(),
        iat: now,
        exp: now + seconds,
        agent_id: agent.id.clone(),
        pubkey_fp: agent.fingerprint.clone(),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&g.jwt_key),
    )
    .map_err(|e| Error::internal_from("cannot sign an agent token", e))
}

fn unauthorized() -> Error {
    Error::Unauthorized(
        "Invalid or expired agent token: get a new one with POST /api/agents/challenge and POST /api/agents/authenticate."
            .into(),
    )
}

/// The agent a token belongs to. The signature (HS256 only), expiry (no leeway) and
/// issuer are checked, and the agent must still exist with the same key.
pub async fn verify(app: &App, raw: &str) -> Result<Agent> {
    let g = state(app)?;
    let settings = g.settings.get(app).await;
    let token = raw
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| raw.trim().strip_prefix("bearer "))
        .unwrap_or(raw.trim());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_issuer(&[settings.jwt_issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let claims = decode::<AgentClaims>(token, &DecodingKey::from_secret(&g.jwt_key), &validation)
        .map_err(|_| unauthorized())?
        .claims;
    let agent = super::identity::find_agent(app, &claims.agent_id)
        .await?
        .ok_or_else(unauthorized)?;
    if agent.fingerprint != claims.pubkey_fp {
        return Err(unauthorized());
    }
    Ok(agent)
}

/// The App a guard runs in.
pub(crate) fn app_of(req: &Request) -> poem::Result<App> {
    req.data::<App>()
        .cloned()
        .ok_or_else(|| ApiError(Error::internal("app missing")).into())
}

async fn check_agent(req: &Request, key: ApiKey) -> poem::Result<Agent> {
    let app = app_of(req)?;
    verify(&app, &key.key).await.map_err(|e| ApiError(e).into())
}

async fn check_verified(req: &Request, key: ApiKey) -> poem::Result<Agent> {
    let agent = check_agent(req, key).await?;
    if !agent.verified {
        return Err(ApiError(Error::Forbidden(
            "This action needs a verified agent: verify through Twitter with POST /api/agents/verify."
                .into(),
        ))
        .into());
    }
    Ok(agent)
}

/// A registered agent's token: `Authorization: Bearer <jwt>` (or the bare token), from
/// `POST /api/agents/authenticate`. Missing, forged or expired: 401.
#[derive(SecurityScheme)]
#[oai(
    rename = "AgentToken",
    ty = "api_key",
    key_name = "Authorization",
    key_in = "header",
    checker = "check_agent"
)]
pub struct AgentAuth(pub Agent);

/// Like [`AgentAuth`], and the agent must be verified through Twitter (else 403).
#[derive(SecurityScheme)]
#[oai(
    rename = "VerifiedAgentToken",
    ty = "api_key",
    key_name = "Authorization",
    key_in = "header",
    checker = "check_verified"
)]
pub struct VerifiedAgent(pub Agent);

/// Counts the request against Gather's per-IP limit (429 with `Retry-After` when over).
/// On a route that needs a token it comes after [`AgentAuth`]: a request without one
/// hears 401 before it is counted.
pub struct PerIp;

impl<'a> FromRequest<'a> for PerIp {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let app = app_of(req)?;
        let g = state(&app).map_err(ApiError)?;
        let settings = g.settings.get(&app).await;
        let ip = framework::http::client_ip(req, &app.settings())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        g.limits
            .check(&settings.rate_limits, Tier::PerIp, &ip)
            .map_err(|e| ApiError(e).into())
            .map(|_| PerIp)
    }
}

/// Counts a write by `agent` against its tier's limit.
pub async fn count_write(app: &App, agent: &Agent) -> Result<()> {
    let tier = Tier::Write {
        verified: agent.verified,
    };
    count(app, &agent.id, tier).await
}

/// Counts a design upload by `agent` against its per-agent upload limit (429 over it).
pub async fn count_design_upload(app: &App, agent: &Agent) -> Result<()> {
    let tier = Tier::DesignUpload {
        verified: agent.verified,
    };
    count(app, &agent.id, tier).await
}

/// Counts a request of `tier` by the caller `key` (an agent's id, or another key of
/// the caller's own) against the tier's limit.
pub(crate) async fn count(app: &App, key: &str, tier: Tier) -> Result<()> {
    let g = state(app)?;
    let settings = g.settings.get(app).await;
    g.limits.check(&settings.rate_limits, tier, key)
}
