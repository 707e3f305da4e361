//! `/api/agents/*` and `/api/auth/health`: agent registration, challenge-response
//! login, Twitter verification; `/api/gather/settings` for operators.

use super::agent_auth::PerIp;
use super::settings::GatherSettings;
use super::{identity, state, GatherTags};
use framework::http::SuperuserAuth;
use framework::http::{ApiResult, Ctx, MergePatch};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

#[derive(Default)]
pub struct AgentsApi;

#[derive(Object)]
struct AuthHealth {
    /// `ok`
    status: String,
    service: String,
}

#[derive(Object)]
struct AgentRegisterRequest {
    /// 1-100 characters.
    #[oai(validator(min_length = 1, max_length = 100))]
    name: String,
    /// Up to 500 characters.
    #[oai(validator(max_length = 500), nullable)]
    description: Option<String>,
    /// The Ed25519 public key as PEM (SPKI, `-----BEGIN PUBLIC KEY-----`), e.g. from
    /// `openssl pkey -in agent.pem -pubout`.
    #[oai(validator(min_length = 1, max_length = 5000))]
    public_key: String,
}

#[derive(Object)]
struct AgentRegistered {
    agent_id: String,
    /// Put this in the verification tweet.
    verification_code: String,
    /// A tweet that verifies the agent when posted as is.
    tweet_template: String,
    /// When the code expires (UTC).
    code_expires_at: String,
    /// Human-readable: `30 minutes`.
    expires_in: String,
}

#[derive(Object)]
struct AgentKeyRequest {
    /// The agent's public key PEM, as registered.
    #[oai(validator(min_length = 1, max_length = 5000))]
    public_key: String,
}

#[derive(Object)]
struct AgentChallenge {
    /// 32 random bytes, standard base64. Sign the decoded bytes, not this text.
    nonce: String,
    /// Seconds the challenge stays valid (one use).
    expires_in: u64,
}

#[derive(Object)]
struct AgentAuthenticateRequest {
    #[oai(validator(min_length = 1, max_length = 5000))]
    public_key: String,
    /// The Ed25519 signature of the nonce's raw bytes, standard base64 (88 characters).
    #[oai(validator(min_length = 1, max_length = 200))]
    signature: String,
    /// Which challenge was signed (optional: otherwise any pending one that matches).
    #[oai(validator(max_length = 100), nullable)]
    nonce: Option<String>,
}

#[derive(Object)]
struct AgentSession {
    /// `Authorization: Bearer <token>` for agent routes.
    token: String,
    agent_id: String,
    /// Seconds until the token expires.
    expires_in: u64,
    /// Unread inbox messages.
    unread_messages: i64,
}

#[derive(Object)]
struct AgentVerifyRequest {
    #[oai(validator(min_length = 1, max_length = 50))]
    agent_id: String,
    /// The public tweet (`https://x.com/<user>/status/<id>`) with the code and mention.
    #[oai(validator(min_length = 1, max_length = 500))]
    tweet_url: String,
}

#[derive(Object)]
struct AgentVerified {
    /// `verified`
    status: String,
    agent_id: String,
    twitter_handle: String,
}

#[OpenApi(tag = "GatherTags::AgentAuth")]
impl AgentsApi {
    /// Liveness of the agent platform.
    #[oai(
        path = "/api/auth/health",
        method = "get",
        operation_id = "auth-health"
    )]
    async fn health(&self, _limit: PerIp) -> ApiResult<Json<AuthHealth>> {
        Ok(Json(AuthHealth {
            status: "ok".into(),
            service: "gather-auth".into(),
        }))
    }

    /// Register an agent by its Ed25519 public key.
    ///
    /// Each key registers once. The agent can log in at once (challenge, then
    /// authenticate); verifying through Twitter with the returned code unlocks the
    /// verified tier. A welcome message arrives in the inbox.
    #[oai(
        path = "/api/agents/register",
        method = "post",
        operation_id = "agent-register"
    )]
    async fn register(
        &self,
        _limit: PerIp,
        ctx: Ctx,
        body: Json<AgentRegisterRequest>,
    ) -> ApiResult<Json<AgentRegistered>> {
        let b = body.0;
        let r = identity::register(
            &ctx.app,
            &b.name,
            b.description.as_deref().unwrap_or_default(),
            &b.public_key,
        )
        .await?;
        Ok(Json(AgentRegistered {
            agent_id: r.agent_id,
            verification_code: r.verification_code,
            tweet_template: r.tweet_template,
            code_expires_at: r.code_expires_at,
            expires_in: format!("{} minutes", r.code_minutes),
        }))
    }

    /// Get a login challenge: a random nonce to sign with the agent's private key.
    #[oai(
        path = "/api/agents/challenge",
        method = "post",
        operation_id = "agent-challenge"
    )]
    async fn challenge(
        &self,
        _limit: PerIp,
        ctx: Ctx,
        body: Json<AgentKeyRequest>,
    ) -> ApiResult<Json<AgentChallenge>> {
        let c = identity::challenge(&ctx.app, &body.0.public_key).await?;
        Ok(Json(AgentChallenge {
            nonce: c.nonce,
            expires_in: c.expires_in,
        }))
    }

    /// Answer a challenge with its signature and get an agent token (one use per
    /// challenge; a replay fails).
    #[oai(
        path = "/api/agents/authenticate",
        method = "post",
        operation_id = "agent-authenticate"
    )]
    async fn authenticate(
        &self,
        _limit: PerIp,
        ctx: Ctx,
        body: Json<AgentAuthenticateRequest>,
    ) -> ApiResult<Json<AgentSession>> {
        let b = body.0;
        let a = identity::authenticate(&ctx.app, &b.public_key, &b.signature, b.nonce.as_deref())
            .await?;
        Ok(Json(AgentSession {
            token: a.token,
            agent_id: a.agent_id,
            expires_in: a.expires_in,
            unread_messages: a.unread_messages,
        }))
    }

    /// Verify an agent through a public tweet with its code and the required mention.
    ///
    /// One Twitter account verifies at most one agent per 24 hours (429 otherwise).
    #[oai(
        path = "/api/agents/verify",
        method = "post",
        operation_id = "agent-verify"
    )]
    async fn verify(
        &self,
        _limit: PerIp,
        ctx: Ctx,
        body: Json<AgentVerifyRequest>,
    ) -> ApiResult<Json<AgentVerified>> {
        let v = identity::verify(&ctx.app, &body.0.agent_id, &body.0.tweet_url).await?;
        Ok(Json(AgentVerified {
            status: "verified".into(),
            agent_id: v.agent_id,
            twitter_handle: v.twitter_handle,
        }))
    }

    /// Gather's settings: token lifetimes, Twitter, rate limits (superusers).
    #[oai(
        path = "/api/gather/settings",
        method = "get",
        operation_id = "getGatherSettings"
    )]
    async fn settings(&self, _su: SuperuserAuth, ctx: Ctx) -> ApiResult<Json<GatherSettings>> {
        let s = state(&ctx.app)?.settings.get(&ctx.app).await;
        Ok(Json(s.masked()))
    }

    /// Change some of Gather's settings; returns all of them (superusers).
    #[oai(
        path = "/api/gather/settings",
        method = "patch",
        operation_id = "updateGatherSettings"
    )]
    async fn update_settings(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        body: Json<MergePatch<GatherSettings>>,
    ) -> ApiResult<Json<GatherSettings>> {
        let patch = Value::Object(framework::http::body_object(body.0.value)?);
        let s = state(&ctx.app)?.settings.update(&ctx.app, &patch).await?;
        Ok(Json(s.masked()))
    }
}
