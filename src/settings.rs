//! Gather's own settings: one JSON document (`_params` row `gather`) shared by every
//! instance, read through a short cache, changed by superusers at
//! `/api/gather/settings`.

use framework::collections::FieldError;
use framework::settings as params;
use framework::App;
use framework::{Error, Result};
use poem_openapi::Object;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The `_params` row the settings live in.
const KEY: &str = "gather";
/// How long an instance trusts its copy before reading the shared one again.
const FRESH_FOR: Duration = Duration::from_secs(2);

/// Gather's settings; a PATCH sends any part of them, what it leaves out keeps its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase", default)]
#[oai(rename_all = "camelCase", default)]
pub struct GatherSettings {
    /// `iss` of agent tokens (checked when they come back).
    pub jwt_issuer: String,
    /// Lifetime of agent tokens, seconds.
    pub jwt_seconds: u64,
    /// Lifetime of a login challenge, seconds.
    pub challenge_seconds: u64,
    /// Lifetime of a Twitter verification code, minutes.
    pub code_minutes: u64,
    pub twitter: Twitter,
    pub rate_limits: RateLimits,
    pub marketplace: Marketplace,
    pub shop: Shop,
}

/// The merch shop and the services behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase", default)]
#[oai(rename = "GatherShop", rename_all = "camelCase", default)]
pub struct Shop {
    /// Gelato's API key (reads back as `******` when set). Empty: the menu says every
    /// item is unavailable (no call is made), and options and orders answer 503.
    pub gelato_api_key: String,
    /// Gelato's product catalogue API.
    #[serde(rename = "gelatoProductURL")]
    #[oai(rename = "gelatoProductURL")]
    pub gelato_product_url: String,
    /// Gelato's order API.
    #[serde(rename = "gelatoOrderURL")]
    #[oai(rename = "gelatoOrderURL")]
    pub gelato_order_url: String,
    /// What Gelato's webhook calls must carry (`X-Webhook-Secret`, or `?secret=` in the
    /// URL configured at Gelato; reads back as `******` when set). Empty: the webhook
    /// answers 503.
    pub gelato_webhook_secret: String,
    /// CoinGecko's API (the BCH/USD rate).
    #[serde(rename = "coingeckoURL")]
    #[oai(rename = "coingeckoURL")]
    pub coingecko_url: String,
    /// Blockchair's API (BCH transactions).
    #[serde(rename = "blockchairURL")]
    #[oai(rename = "blockchairURL")]
    pub blockchair_url: String,
    /// The shop's margin over Gelato's price, in percent.
    pub margin_percent: u32,
    /// How long a call to an upstream may take, in seconds (a catalogue search takes at
    /// most this, every other call at most 10).
    pub upstream_timeout_seconds: u64,
    /// The largest design upload, in bytes (at most 50 MiB).
    pub design_max_bytes: u64,
    /// The shop's Bitcoin Cash address (`bitcoincash:q...`). Empty: orders answer 503.
    pub bch_address: String,
    /// How long an order's price holds, in minutes.
    pub quote_minutes: u64,
    /// Blocks a payment needs (its own included) before it counts.
    pub confirmations: u32,
}

/// The largest `designMaxBytes` can be: the `designs` file field's own limit.
pub const DESIGN_BYTES_CAP: u64 = 50 << 20;

impl Shop {
    /// How long a catalogue search may take; every other upstream call at most 10 s.
    pub fn search_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.upstream_timeout_seconds)
    }

    pub fn call_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.upstream_timeout_seconds.min(10))
    }
}

impl Default for Shop {
    fn default() -> Self {
        Shop {
            gelato_api_key: String::new(),
            gelato_product_url: "https://product.gelatoapis.com".into(),
            gelato_order_url: "https://order.gelatoapis.com".into(),
            gelato_webhook_secret: String::new(),
            coingecko_url: "https://api.coingecko.com".into(),
            blockchair_url: "https://api.blockchair.com".into(),
            margin_percent: 40,
            upstream_timeout_seconds: 15,
            design_max_bytes: 20 << 20,
            bch_address: String::new(),
            quote_minutes: 30,
            confirmations: 1,
        }
    }
}

/// The skills marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase", default)]
#[oai(rename = "GatherMarketplace", rename_all = "camelCase", default)]
pub struct Marketplace {
    /// Only agents verified through Twitter may publish skills and review them (on by
    /// default; a private install may switch it off).
    pub verified_only: bool,
}

impl Default for Marketplace {
    fn default() -> Self {
        Marketplace {
            verified_only: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase", default)]
#[oai(rename = "GatherTwitter", rename_all = "camelCase", default)]
pub struct Twitter {
    /// Twitter's oEmbed endpoint (`?url=<tweet>` is added).
    #[serde(rename = "oembedURL")]
    #[oai(rename = "oembedURL")]
    pub oembed_url: String,
    /// What a verification tweet must mention besides the code.
    pub mention: String,
}

/// Token buckets: `per_minute` refill, `burst` at most at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "GatherRate", rename_all = "camelCase")]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Object)]
#[serde(rename_all = "camelCase", default)]
#[oai(rename = "GatherRateLimits", rename_all = "camelCase", default)]
pub struct RateLimits {
    /// Every Gather route, per client IP.
    pub per_ip: Rate,
    /// Writes by a registered (not yet verified) agent, per agent.
    pub registered_writes: Rate,
    /// Writes by a verified agent, per agent.
    pub verified_writes: Rate,
    /// Design uploads, per agent.
    pub design_uploads: Rate,
    pub verified_design_uploads: Rate,
}

impl Default for GatherSettings {
    fn default() -> Self {
        GatherSettings {
            jwt_issuer: "gather.is".into(),
            jwt_seconds: 3600,
            challenge_seconds: 300,
            code_minutes: 30,
            twitter: Twitter::default(),
            rate_limits: RateLimits::default(),
            marketplace: Marketplace::default(),
            shop: Shop::default(),
        }
    }
}

impl Default for Twitter {
    fn default() -> Self {
        Twitter {
            oembed_url: "https://publish.twitter.com/oembed".into(),
            mention: "@gather_is".into(),
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        let rate = |per_minute, burst| Rate { per_minute, burst };
        RateLimits {
            per_ip: rate(60, 10),
            registered_writes: rate(20, 5),
            verified_writes: rate(60, 15),
            design_uploads: rate(10, 3),
            verified_design_uploads: rate(30, 10),
        }
    }
}

/// What the settings' secrets (the Gelato key, the webhook secret) read as when set: they
/// are never sent back, and a PATCH that sends this leaves them as they are.
pub const MASK: &str = "******";

impl GatherSettings {
    /// The settings as superusers read them: a set secret shows as [`MASK`].
    pub fn masked(&self) -> GatherSettings {
        let mut s = self.clone();
        for secret in [
            &mut s.shop.gelato_api_key,
            &mut s.shop.gelato_webhook_secret,
        ] {
            if !secret.is_empty() {
                *secret = MASK.into();
            }
        }
        s
    }

    /// `self` with `patch` (any subset of the document) applied, checked. A secret
    /// given as [`MASK`] keeps its value.
    pub fn merged(&self, patch: &Value) -> Result<GatherSettings> {
        let mut current = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        framework::settings::merge(&mut current, patch);
        let mut next: GatherSettings = serde_json::from_value(current)
            .map_err(|e| Error::BadRequest(format!("Invalid Gather settings: {e}.")))?;
        if next.shop.gelato_api_key == MASK {
            next.shop.gelato_api_key = self.shop.gelato_api_key.clone();
        }
        if next.shop.gelato_webhook_secret == MASK {
            next.shop.gelato_webhook_secret = self.shop.gelato_webhook_secret.clone();
        }
        next.check()?;
        Ok(next)
    }

    fn check(&self) -> Result<()> {
        let mut errors = Vec::new();
        let positive = |v: u64, name: &str, errors: &mut Vec<(String, FieldError)>| {
            if v == 0 {
                errors.push((
                    name.to_string(),
                    FieldError::new(
                        "validation_min_greater_equal_than_required",
                        "Must be at least 1.",
                    ),
                ));
            }
        };
        positive(self.jwt_seconds, "jwtSeconds", &mut errors);
        positive(self.challenge_seconds, "challengeSeconds", &mut errors);
        positive(self.code_minutes, "codeMinutes", &mut errors);
        if self.jwt_issuer.trim().is_empty() {
            errors.push(("jwtIssuer".into(), FieldError::required()));
        }
        let is_url =
            |u: &str| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !is_url(&self.twitter.oembed_url) {
            errors.push((
                "twitter".into(),
                FieldError::new(
                    "validation_is_url",
                    "twitter.oembedURL must be an http(s) URL.",
                ),
            ));
        }
        let shop = &self.shop;
        let urls = [
            ("gelatoProductURL", &shop.gelato_product_url),
            ("gelatoOrderURL", &shop.gelato_order_url),
            ("coingeckoURL", &shop.coingecko_url),
            ("blockchairURL", &shop.blockchair_url),
        ];
        for (name, u) in urls {
            if !is_url(u) {
                errors.push((
                    "shop".into(),
                    FieldError::new(
                        "validation_is_url",
                        format!("shop.{name} must be an http(s) URL."),
                    ),
                ));
            }
        }
        if shop.design_max_bytes == 0 || shop.design_max_bytes > DESIGN_BYTES_CAP {
            errors.push((
                "shop".into(),
                FieldError::new(
                    "validation_out_of_range",
                    format!("shop.designMaxBytes is 1 to {DESIGN_BYTES_CAP}."),
                ),
            ));
        }
        if !(1..=120).contains(&shop.upstream_timeout_seconds) {
            errors.push((
                "shop".into(),
                FieldError::new(
                    "validation_out_of_range",
                    "shop.upstreamTimeoutSeconds is 1 to 120.",
                ),
            ));
        }
        if shop.quote_minutes == 0 || shop.quote_minutes > 24 * 60 {
            errors.push((
                "shop".into(),
                FieldError::new("validation_out_of_range", "shop.quoteMinutes is 1 to 1440."),
            ));
        }
        if shop.confirmations == 0 || shop.confirmations > 100 {
            errors.push((
                "shop".into(),
                FieldError::new("validation_out_of_range", "shop.confirmations is 1 to 100."),
            ));
        }
        if shop.margin_percent > 1000 {
            errors.push((
                "shop".into(),
                FieldError::new(
                    "validation_out_of_range",
                    "shop.marginPercent is 0 to 1000.",
                ),
            ));
        }
        let r = &self.rate_limits;
        let rates = [
            r.per_ip,
            r.registered_writes,
            r.verified_writes,
            r.design_uploads,
            r.verified_design_uploads,
        ];
        if rates.iter().any(|x| x.per_minute == 0 || x.burst == 0) {
            errors.push((
                "rateLimits".into(),
                FieldError::new(
                    "validation_invalid_rate",
                    "Every rate needs perMinute and burst above 0.",
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::fields("Invalid Gather settings.", errors))
        }
    }
}

/// This instance's copy of the settings.
pub struct SettingsCache {
    copy: RwLock<(Instant, Arc<GatherSettings>)>,
}

impl SettingsCache {
    pub async fn load(app: &App) -> Result<SettingsCache> {
        let s = read(app).await?;
        Ok(SettingsCache {
            copy: RwLock::new((Instant::now(), Arc::new(s))),
        })
    }

    /// The settings, re-read from the database when the copy is over 2 s old (so a
    /// change made through another instance arrives within that time).
    pub async fn get(&self, app: &App) -> Arc<GatherSettings> {
        let (at, current) = match self.copy.read() {
            Ok(c) => (c.0, c.1.clone()),
            Err(p) => (p.get_ref().0, p.get_ref().1.clone()),
        };
        if at.elapsed() < FRESH_FOR {
            return current;
        }
        match read(app).await {
            Ok(s) => self.keep(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the Gather settings; using the last copy");
                current
            }
        }
    }

    fn keep(&self, s: GatherSettings) -> Arc<GatherSettings> {
        let s = Arc::new(s);
        if let Ok(mut c) = self.copy.write() {
            *c = (Instant::now(), s.clone());
        }
        s
    }

    /// Applies `patch`, saves it for every instance, and returns the result.
    pub async fn update(&self, app: &App, patch: &Value) -> Result<Arc<GatherSettings>> {
        let next = read(app).await?.merged(patch)?;
        let doc = serde_json::to_value(&next)
            .map_err(|e| Error::internal_from("cannot encode the settings", e))?;
        params::save(app, KEY, &doc).await?;
        Ok(self.keep(next))
    }
}

async fn read(app: &App) -> Result<GatherSettings> {
    match params::load(app, KEY).await? {
        None => Ok(GatherSettings::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| Error::internal_from("stored Gather settings are invalid", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_merge_and_are_checked() {
        let s = GatherSettings::default();
        let next = s
            .merged(&json!({"rateLimits": {"perIp": {"perMinute": 5, "burst": 2}}, "twitter": {"oembedURL": "http://127.0.0.1:9/oembed"}}))
            .expect("valid");
        assert_eq!(
            next.rate_limits.per_ip,
            Rate {
                per_minute: 5,
                burst: 2
            }
        );
        assert_eq!(
            next.rate_limits.verified_writes,
            s.rate_limits.verified_writes
        );
        assert_eq!(next.twitter.mention, "@gather_is");
        assert!(s
            .merged(&json!({"rateLimits": {"perIp": {"perMinute": 0, "burst": 1}}}))
            .is_err());
        assert!(s
            .merged(&json!({"twitter": {"oembedURL": "ftp://x"}}))
            .is_err());
        assert!(s.merged(&json!({"jwtSeconds": "long"})).is_err());
    }

    #[test]
    fn secrets_are_masked_and_a_masked_secret_stays() {
        let s = GatherSettings::default()
            .merged(&json!({"shop": {"gelatoApiKey": "real-key"}}))
            .expect("valid");
        let shown = s.masked();
        assert_eq!(shown.shop.gelato_api_key, MASK);
        assert_eq!(shown.shop.gelato_webhook_secret, "", "unset stays empty");
        // Sending back what was read changes no secret.
        let back = serde_json::to_value(&shown).expect("json");
        let again = s.merged(&back).expect("valid");
        assert_eq!(again.shop.gelato_api_key, "real-key");
        let cleared = s
            .merged(&json!({"shop": {"gelatoApiKey": ""}}))
            .expect("valid");
        assert_eq!(cleared.shop.gelato_api_key, "");
    }
}
