//! The services behind the shop, each a real HTTP client behind a small trait, built
//! from the Gather settings (base URL, key) at each call so a settings change applies at
//! once: Gelato (catalogue, prices, orders), CoinGecko (the BCH/USD rate) and, for
//! payments, Blockchair.

pub mod blockchair;
pub mod coingecko;
pub mod gelato;

use framework::Error;

/// What the shop's clients send as `User-Agent`.
pub const USER_AGENT: &str = "Gather/1.0";

/// A 503 that names the service and what went wrong (never the key).
pub(crate) fn unavailable(service: &str, why: impl std::fmt::Display) -> Error {
    tracing::warn!(service, error = %why, "an upstream of the shop failed");
    Error::ServiceUnavailable(format!(
        "{service} is unavailable ({why}); try again later."
    ))
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
