//! CoinGecko's simple price API (contract §8.2): what one Bitcoin Cash is worth in US
//! dollars.

use super::{json_answer, unavailable, Endpoint};
use framework::{App, Result};
use futures::future::BoxFuture;

const SERVICE: &str = "CoinGecko";

/// Where the BCH/USD rate comes from.
pub trait Rates: Send + Sync {
    /// US cents per BCH.
    fn cents_per_bch(&self) -> BoxFuture<'_, Result<i64>>;
}

/// CoinGecko at `shop.coingeckoURL` (`https://api.coingecko.com`).
pub struct CoinGeckoHttp(pub Endpoint);

impl CoinGeckoHttp {
    pub async fn from_settings(app: &App) -> Result<CoinGeckoHttp> {
        Endpoint::from_settings(app, |s| &s.coingecko_url)
            .await
            .map(CoinGeckoHttp)
    }
}

impl Rates for CoinGeckoHttp {
    fn cents_per_bch(&self) -> BoxFuture<'_, Result<i64>> {
        Box::pin(async move {
            let sent = self
                .0
                .get("/api/v3/simple/price")
                .query(&[("ids", "bitcoin-cash"), ("vs_currencies", "usd")])
                .send()
                .await;
            let body = json_answer(SERVICE, sent).await?;
            body["bitcoin-cash"]["usd"]
                .as_f64()
                .filter(|usd| usd.is_finite() && *usd >= 0.01)
                .map(|usd| (usd * 100.0).round() as i64)
                .ok_or_else(|| unavailable(SERVICE, "its answer had no BCH/USD rate"))
        })
    }
}
