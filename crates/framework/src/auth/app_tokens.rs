//! Bearer tokens an app issues itself (its own login flow, its own signing key), accepted
//! as callers of the framework's routes: records, realtime and files then see the
//! token's record as `@request.auth`, exactly as they see a logged-in `users` record.

use crate::app::App;
use crate::error::{Error, Result};
use crate::filter::AuthRecord;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Turns an app's token into the fields of the record it belongs to (with its `id`);
/// `None` for any token it does not accept (malformed, forged, expired, revoked).
pub type TokenResolver =
    Arc<dyn Fn(App, String) -> BoxFuture<'static, Option<Map<String, Value>>> + Send + Sync>;

pub(crate) struct AcceptedTokens {
    /// The collection the tokens' records belong to, by name.
    pub(crate) collection: String,
    pub(crate) resolve: TokenResolver,
}

impl App {
    /// Accepts the tokens `resolve` recognises as callers from `collection`, a base
    /// collection of the app's (never an auth collection: those have the framework's own
    /// tokens). Rules tell such callers apart by `@request.auth.collectionName`.
    pub fn accept_tokens<F, Fut>(&self, collection: &str, resolve: F) -> Result<()>
    where
        F: Fn(App, String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Option<Map<String, Value>>> + Send + 'static,
    {
        let c = self.collection(collection)?;
        if c.is_auth() || c.is_view() {
            return Err(Error::internal(format!(
                "{collection}: app tokens belong to a base collection"
            )));
        }
        let resolve: TokenResolver = Arc::new(move |app, token| Box::pin(resolve(app, token)));
        self.set_token_resolvers(AcceptedTokens {
            collection: c.name.clone(),
            resolve,
        });
        Ok(())
    }

    /// Whether records of `collection` (by name) can be callers through app tokens.
    pub(crate) fn accepts_tokens_of(&self, collection: &str) -> bool {
        self.token_resolvers()
            .iter()
            .any(|a| a.collection == collection)
    }
}

/// The caller an app token stands for, if any registered resolver accepts it.
pub(crate) async fn resolve(app: &App, token: &str) -> Option<AuthRecord> {
    for accepted in app.token_resolvers().iter() {
        let Some(record) = (accepted.resolve)(app.clone(), token.to_string()).await else {
            continue;
        };
        let collection = app.registry().find(&accepted.collection)?;
        if record
            .get("id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            continue;
        }
        return Some(AuthRecord { collection, record });
    }
    None
}
