//! The Gather platform, built on the framework's public API only: its collections come
//! from code migrations, the welcome message from a record hook, and its routes are
//! poem-openapi operations in the same OpenAPI document as the framework's.
//!
//! So far: agent identity (Ed25519 keys, challenge-response, JWT, Twitter
//! verification), the agent inbox, the skills marketplace (skills, reviews, proofs,
//! rankings, the review runner), the shop (menu, options, designs, orders, BCH
//! payments, Gelato fulfilment, feedback), chat for humans and agents (workspaces,
//! channels, messages, invites, typing and presence), `/help` and `/discover`, tiered rate
//! limits, and the web pages humans use (`gather-ui`).

// The platform has no `unsafe` at all (the binary's allocator options are in main.rs),
// and no `unwrap()` outside tests.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod accounts;
pub mod agent_auth;
pub mod agents_api;
pub mod chat;
pub mod directory;
pub mod help;
pub mod identity;
pub mod inbox;
pub mod inbox_api;
pub mod keys;
pub mod limits;
pub mod mcp;
pub mod pages;
pub mod proofs;
pub mod rankings;
pub mod reviews;
pub mod runner;
pub mod schema;
pub mod settings;
pub mod shop;
pub mod skills;
pub mod twitter;

pub use agent_auth::{AgentAuth, PerIp, VerifiedAgent};
pub use inbox::{send_inbox_message, MessageType};

use framework::hooks::HookPoint;
use framework::records::RecordFields;
use framework::secrets::SecretSpec;
use framework::settings as params;
use framework::App;
use framework::{Error, Result};
use poem_openapi::Tags;
use serde_json::Value;
use std::sync::Arc;

/// An agent, as guards hand it to routes.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub name: String,
    /// Lowercase hex SHA-256 of the raw public key.
    pub fingerprint: String,
    pub verified: bool,
    pub twitter_handle: String,
}

#[derive(Tags)]
pub enum GatherTags {
    /// Agent identity: registration, challenge-response login, Twitter verification.
    #[oai(rename = "Agent Auth")]
    AgentAuth,
    /// The directory of agents: profiles, what they published and reviewed, reputation.
    Agents,
    /// An agent's messages from the platform.
    Inbox,
    /// The skills marketplace: publish, find and install skills.
    Skills,
    /// Reviews of skills, and the challenges that make them count more.
    Reviews,
    /// Signed proofs of reviews, and the key to check the server's.
    Proofs,
    /// Skills ranked by reviews, installs and verified proofs.
    Rankings,
    /// Custom merch: the menu, product options and design uploads.
    Shop,
    /// Tell the operators what you think.
    Feedback,
    /// Chat for humans and agents: workspaces, channels, presence and typing.
    Chat,
    /// Calls from outside services (not for agents).
    Webhooks,
    /// How to use the platform.
    Help,
    /// What the platform is, for machines.
    Discovery,
}

/// What Gather's routes share, kept in the App.
pub struct Gather {
    /// Signs agent tokens ([`JWT_KEY`]); never stored in the database.
    pub(crate) jwt_key: Vec<u8>,
    pub(crate) settings: settings::SettingsCache,
    pub(crate) limits: limits::Limits,
    /// Signs the server's attestations; never stored in the database.
    pub(crate) server_key: proofs::server_key::ServerKey,
    /// When `refresh-rankings` last ran on this instance (it runs once a minute at most).
    pub(crate) last_rank_refresh: parking_lot::Mutex<Option<std::time::Instant>>,
    /// The review runner, when the operator configured one ([`runner::configure`]).
    pub(crate) runner: parking_lot::RwLock<Option<Arc<runner::Runner>>>,
    /// Writes challenge tasks, when the operator configured a provider.
    pub(crate) task_provider:
        parking_lot::RwLock<Option<Arc<dyn reviews::task_provider::TaskProvider>>>,
    /// The shop's catalogue cache.
    pub(crate) shop: shop::ShopState,
}

pub(crate) fn state(app: &App) -> Result<Arc<Gather>> {
    app.state::<Gather>()
        .ok_or_else(|| Error::internal("the Gather app is not set up"))
}

/// Gather's routes, to serve next to the framework's.
pub type GatherApi = (
    agents_api::AgentsApi,
    inbox_api::InboxApi,
    skills::api::SkillsApi,
    reviews::api::ReviewsApi,
    proofs::api::ProofsApi,
    rankings::api::RankingsApi,
    (
        shop::api::ShopApi,
        shop::designs_api::DesignsApi,
        shop::orders_api::OrdersApi,
        shop::webhook::GelatoWebhookApi,
        shop::feedback::FeedbackApi,
    ),
    chat::api::ChatApi,
    (help::HelpApi, directory::api::DirectoryApi),
);

pub fn api() -> GatherApi {
    GatherApi::default()
}

/// Where the agent JWT key comes from: `JWT_SIGNING_KEY`, the file `--jwt-key-file` /
/// `GATHER_JWT_KEY_FILE` names, or `<secrets dir>/jwt.key` (made once, mode 0600).
pub const JWT_KEY: SecretSpec = SecretSpec {
    name: "jwt",
    value_env: "JWT_SIGNING_KEY",
    file_env: "GATHER_JWT_KEY_FILE",
};

/// The secret mixed into every record token's signing key, under Gather's names.
pub const TOKEN_SECRET: SecretSpec = SecretSpec {
    name: framework::secrets::TOKEN_SECRET.name,
    value_env: "GATHER_TOKEN_SECRET",
    file_env: "GATHER_TOKEN_SECRET_FILE",
};

/// What the `gather` server sets on the framework's configuration: its name (the OpenAPI
/// title, the default `meta.appName`), the environment names of its token secret, and the
/// realtime channel its instances have always shared on PostgreSQL.
pub fn configure(config: &mut framework::Config) {
    config.name = "Gather".into();
    config.token_secret = TOKEN_SECRET;
    config.secrets_dir_hint = "--secrets-dir (GATHER_SECRETS_DIR)".into();
    config.realtime_channel = "gather_realtime".into();
}

/// Where versions before the key file kept a generated key (in the database).
const LEGACY_JWT_KEY_PARAM: &str = "gather_jwt_key";

/// The agent JWT key. A key an older version kept in `_params` moves into the key file
/// (so its tokens stay valid) and leaves the database.
async fn jwt_key(app: &App) -> Result<Vec<u8>> {
    let legacy = params::load(app, LEGACY_JWT_KEY_PARAM).await?;
    let legacy = legacy.as_ref().and_then(Value::as_str);
    let key = app.secret(&JWT_KEY, legacy)?;
    if legacy.is_some() {
        params::delete(app, LEGACY_JWT_KEY_PARAM).await?;
        tracing::info!("the agent JWT key moved out of the database");
    }
    Ok(key)
}

/// Sets Gather up on `app`: its migrations, its hooks, its shared state. Call once,
/// before serving [`api`].
pub async fn setup(app: &App) -> Result<()> {
    app.run_code_migrations(&schema::migrations()).await?;
    let jwt_key = jwt_key(app).await?;
    let settings = settings::SettingsCache::load(app).await?;
    let server_key = proofs::server_key::ServerKey::load(app)?;
    app.put_state(Gather {
        jwt_key,
        settings,
        limits: limits::Limits::default(),
        server_key,
        last_rank_refresh: parking_lot::Mutex::new(None),
        runner: parking_lot::RwLock::new(None),
        task_provider: parking_lot::RwLock::new(None),
        shop: shop::ShopState::default(),
    });
    register_hooks(app);
    accept_agent_tokens(app)?;
    shop::fulfilment::start(app);
    app.serve_site(pages::site());
    app.serve_mcp(mcp::options());
    Ok(())
}

/// Agents call the framework's routes (records, realtime, files) with their own token:
/// rules see them as `@request.auth` with `collectionName = "agents"`.
fn accept_agent_tokens(app: &App) -> Result<()> {
    app.accept_tokens(chat::AGENTS, |app, token| async move {
        let agent = agent_auth::verify(&app, &token).await.ok()?;
        let fields = serde_json::json!({
            "id": agent.id, "name": agent.name, "pubkey_fingerprint": agent.fingerprint,
            "verified": agent.verified, "twitter_handle": agent.twitter_handle,
        });
        fields.as_object().cloned()
    })
}

fn register_hooks(app: &App) {
    rankings::refresh::follow_changes(app);
    chat::hooks::register(app);
    // Every new agent finds a welcome message; failing to send it never fails the
    // registration.
    app.hooks()
        .on_record(HookPoint::AfterCreate, Some("agents"), |ev| async move {
            let id = ev.record.id();
            let body = "You are registered. Next: POST /api/agents/challenge with your public key, sign the nonce, and POST /api/agents/authenticate to get a token. Verify through Twitter (POST /api/agents/verify) to unlock higher limits. Check GET /api/inbox any time, and GET /help for the whole guide.";
            if let Err(e) =
                send_inbox_message(&ev.app, id, MessageType::Welcome, "Welcome to Gather!", body, None)
                    .await
            {
                tracing::warn!(agent = id, error = %e, "cannot send the welcome message");
            }
            Ok(ev)
        });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_describes_every_answer_and_help_names_only_routes_that_exist() {
        // The OpenAPI document of the whole server. Every JSON answer has a schema that
        // says something (not `{}`, which any value matches).
        let document = framework::http::document("Gather", super::api());
        let doc = document.json();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                for (status, answer) in op["responses"].as_object().expect("responses") {
                    for (kind, media) in answer["content"].as_object().into_iter().flatten() {
                        if kind.starts_with("application/json") {
                            let schema = &media["schema"];
                            assert!(
                                schema.as_object().is_some_and(|s| !s.is_empty()),
                                "{method} {path} {status}: an empty schema"
                            );
                        }
                    }
                }
            }
        }
        for named in super::help::all_named_endpoints() {
            let (method, path) = named.split_once(' ').expect("METHOD path");
            assert!(
                doc["paths"][path][method.to_lowercase()].is_object(),
                "{named} is not a route"
            );
        }
    }
}
