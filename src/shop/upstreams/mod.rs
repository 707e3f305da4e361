//! The services behind the shop, each a real HTTP client behind a small trait, built
//! from the Gather settings (base URL, key) at each call so a settings change applies at
//! once: Gelato (catalogue, prices, orders), CoinGecko (the BCH/USD rate) and, for
//! payments, Blockchair.

pub mod blockchair;
pub mod coingecko;
pub mod gelato;

use crate::settings::Shop;
use framework::{App, Error, Result};
use serde_json::Value;
use std::time::Duration;

/// What the shop's clients send as `User-Agent`.
pub const USER_AGENT: &str = "Gather/1.0";

/// A 503 that names the service and what went wrong (never the key).
pub(crate) fn unavailable(service: &str, why: impl std::fmt::Display) -> Error {
    tracing::warn!(service, error = %why, "an upstream of the shop failed");
    Error::ServiceUnavailable(format!(
        "{service} is unavailable ({why}); try again later."
    ))
}

/// A keyless upstream as the settings give it: the App's HTTP client, its base URL (no
/// trailing `/`) and how long a call may take.
pub struct Endpoint {
    pub http: reqwest::Client,
    pub base_url: String,
    pub timeout: Duration,
}

impl Endpoint {
    /// The endpoint whose base URL `url_of` reads from the shop settings.
    pub async fn from_settings(app: &App, url_of: fn(&Shop) -> &str) -> Result<Endpoint> {
        let settings = crate::state(app)?.settings.get(app).await;
        Ok(Endpoint {
            http: app.http()?.clone(),
            base_url: url_of(&settings.shop).trim_end_matches('/').to_string(),
            timeout: settings.shop.call_timeout(),
        })
    }

    /// A GET of `path` with the shop's `User-Agent` and the timeout.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base_url))
            .header("User-Agent", USER_AGENT)
            .timeout(self.timeout)
    }
}

/// The JSON of a successful answer from `service`, or a 503 that says what failed (the
/// call, its status, or a body that is not JSON).
pub(crate) async fn json_answer(
    service: &str,
    sent: reqwest::Result<reqwest::Response>,
) -> Result<Value> {
    let resp = sent.map_err(|e| unavailable(service, describe(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(unavailable(
            service,
            format!("it answered {}", status.as_u16()),
        ));
    }
    resp.json()
        .await
        .map_err(|_| unavailable(service, "its answer was not JSON"))
}

/// What a failed call says: a timeout, an unreachable host, or the answer's status.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "it could not be reached".into()
    } else if let Some(s) = e.status() {
        format!("it answered {}", s.as_u16())
    } else {
        "the request failed".into()
    }
}
