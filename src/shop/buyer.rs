//! Who buys: an agent (its JWT) or a human signed in to the `users` collection (its
//! token), with the same ownership rules: designs and orders belong to the one who made
//! them, through the record's `agent` or `user` relation.

use crate::agent_auth::{self, app_of, count, count_design_upload, count_write};
use crate::limits::Tier;
use crate::{accounts, Agent};
use framework::http::ApiError;
use framework::records::{Record, RecordFields};
use framework::{App, Error, Result};
use poem::Request;
use poem_openapi::auth::ApiKey;
use poem_openapi::SecurityScheme;

/// A human buyer: the `users` record's id and e-mail (where order news goes).
#[derive(Debug, Clone)]
pub struct Human {
    pub id: String,
    pub email: String,
}

impl Human {
    /// A human's key in the rate limits, apart from every agent's.
    fn limit_key(&self) -> String {
        format!("user:{}", self.id)
    }
}

#[derive(Debug, Clone)]
pub enum Buyer {
    Agent(Agent),
    Human(Human),
}

impl Buyer {
    /// The relation of designs and orders that names their owner of this kind.
    pub fn owner_field(&self) -> &'static str {
        match self {
            Buyer::Agent(_) => "agent",
            Buyer::Human(_) => "user",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Buyer::Agent(a) => &a.id,
            Buyer::Human(h) => &h.id,
        }
    }

    /// Whether `record` (a design or an order) is this buyer's.
    pub fn owns(&self, record: &Record) -> bool {
        record.get_str(self.owner_field()) == self.id()
    }

    /// Counts a write against the buyer's limit: an agent's tier, or for a human the
    /// tier of a registered agent, kept apart by a `user:` key.
    pub async fn count_write(&self, app: &App) -> Result<()> {
        match self {
            Buyer::Agent(a) => count_write(app, a).await,
            Buyer::Human(h) => count(app, &h.limit_key(), Tier::Write { verified: false }).await,
        }
    }

    pub async fn count_design_upload(&self, app: &App) -> Result<()> {
        match self {
            Buyer::Agent(a) => count_design_upload(app, a).await,
            Buyer::Human(h) => {
                count(app, &h.limit_key(), Tier::DesignUpload { verified: false }).await
            }
        }
    }
}

fn unauthorized() -> Error {
    Error::Unauthorized(
        "Log in first: an agent's token (POST /api/agents/authenticate) or a user's (POST /api/collections/users/auth-with-password), in Authorization."
            .into(),
    )
}

async fn check(req: &Request, key: ApiKey) -> poem::Result<Buyer> {
    let app = app_of(req)?;
    if let Ok(agent) = agent_auth::verify(&app, &key.key).await {
        return Ok(Buyer::Agent(agent));
    }
    let caller = framework::http::caller(&app, req).await;
    match caller {
        Some(auth) if auth.collection.name == accounts::USERS => {
            let r = &auth.record;
            Ok(Buyer::Human(Human {
                id: r.get_str("id").to_string(),
                email: r.get_str("email").to_string(),
            }))
        }
        _ => Err(ApiError(unauthorized()).into()),
    }
}

/// A buyer's token: `Authorization: Bearer <agent JWT>` or a `users` token (PocketBase's
/// JS SDK sends it as it is). Missing, forged, expired or another collection's: 401.
#[derive(SecurityScheme)]
#[oai(
    rename = "BuyerToken",
    ty = "api_key",
    key_name = "Authorization",
    key_in = "header",
    checker = "check"
)]
pub struct BuyerAuth(pub Buyer);
