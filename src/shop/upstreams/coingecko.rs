//! CoinGecko's simple price API (contract §8.2): what one Bitcoin Cash is worth in US
//! dollars.

use super::{describe, unavailable, USER_AGENT};
use framework::{App, Result};
use futures::future::BoxFuture;
use std::time::Duration;

const SERVICE: &str = "CoinGecko";

/// Where the BCH/USD rate comes from.
pub trait Rates: Send + Sync {
    /// US cents per BCH.
    fn cents_per_bch(&self) -> BoxFuture<'_, Result<i64>>;
}

pub struct CoinGeckoHttp {
    pub http: reqwest::Client,
    /// `https://api.coingecko.com`
    pub base_url: String,
    pub timeout: Duration,
}

impl CoinGeckoHttp {
    pub async fn from_settings(app: &App) -> Result<CoinGeckoHttp> {
        let shop = crate::state(app)?.settings.get(app).await.shop.clone();
        Ok(CoinGeckoHttp {
            http: app.http()?.clone(),
            base_url: shop.coingecko_url.trim_end_matches('/').to_string(),
            timeout: shop.call_timeout(),
        })
    }
}

impl Rates for CoinGeckoHttp {
    fn cents_per_bch(&self) -> BoxFuture<'_, Result<i64>> {
        Box::pin(async move {
            let resp = self
                .http
                .get(format!("{}/api/v3/simple/price", self.base_url))
                .query(&[("ids", "bitcoin-cash"), ("vs_currencies", "usd")])
                .header("User-Agent", USER_AGENT)
                .timeout(self.timeout)
                .send()
                .await
                .map_err(|e| unavailable(SERVICE, describe(&e)))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(unavailable(
                    SERVICE,
                    format!("it answered {}", status.as_u16()),
                ));
            }
            let body: serde_json::Value = resp
                .json()
                .await
                .map_err(|_| unavailable(SERVICE, "its answer was not JSON"))?;
            body["bitcoin-cash"]["usd"]
                .as_f64()
                .filter(|usd| usd.is_finite() && *usd >= 0.01)
                .map(|usd| (usd * 100.0).round() as i64)
                .ok_or_else(|| unavailable(SERVICE, "its answer had no BCH/USD rate"))
        })
    }
}
