//! The merch shop: a menu of Gelato products priced in Bitcoin Cash, their live options,
//! design uploads, orders paid in BCH, and feedback. Upstream answers go through the catalogue cache
//! ([`cache`]) with the contract's times to live.

pub mod address;
pub mod api;
pub mod buyer;
pub mod cache;
pub mod catalogue;
pub mod designs;
pub mod designs_api;
pub mod feedback;
pub mod fulfilment;
pub mod money;
pub mod orders;
pub mod orders_api;
pub mod owned;
pub mod payments;
pub mod upstreams;
pub mod webhook;

use cache::Cache;
use catalogue::Product;
use framework::{App, Result};
use std::collections::BTreeMap;
use std::time::Duration;
use upstreams::coingecko::{CoinGeckoHttp, Rates};
use upstreams::gelato::{self, Catalogue, Filters, GelatoHttp};

/// How long upstream answers are kept (contract §8.2).
pub const OPTIONS_TTL: Duration = Duration::from_secs(3600);
pub const VARIANT_TTL: Duration = Duration::from_secs(3600);
pub const PRICE_TTL: Duration = Duration::from_secs(1800);
pub const RATE_TTL: Duration = Duration::from_secs(300);
/// Where the menu's prices ship to.
pub const MENU_COUNTRY: &str = "US";
/// At most this many catalogue pages are read for a product's options.
const MAX_PAGES: u32 = 50;

/// A product's options: each option and its values, in order.
pub type Options = Vec<(String, Vec<String>)>;

/// The shop's caches, one per kind of upstream answer.
#[derive(Default)]
pub struct ShopState {
    options: Cache<Options>,
    variants: Cache<String>,
    prices: Cache<i64>,
    rate: Cache<i64>,
}

/// A product on the menu: its price for the reference variant, when it can be priced.
pub struct MenuItem {
    pub product: &'static Product,
    /// In satoshis; `None` when the shop is not set up or an upstream failed.
    pub price_sats: Option<i64>,
}

/// The live options of `product`: every value Gelato has for each option's attribute
/// among the product's variants (contract §8.3).
pub async fn options(app: &App, product: &'static Product) -> Result<Options> {
    let gelato = GelatoHttp::from_settings(app).await?;
    let g = crate::state(app)?;
    g.shop
        .options
        .get(product.id, OPTIONS_TTL, live_options(&gelato, product))
        .await
}

fn fixed_filters(product: &Product) -> Filters {
    product
        .fixed
        .iter()
        .map(|(a, v)| (a.to_string(), vec![v.to_string()]))
        .collect()
}

async fn live_options(gelato: &dyn Catalogue, product: &Product) -> Result<Options> {
    let filters = fixed_filters(product);
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for page in 0..MAX_PAGES {
        let offset = page * gelato::PAGE;
        let variants = gelato
            .search(product.catalogue, &filters, gelato::PAGE, offset)
            .await?;
        for v in &variants {
            for (_, attribute) in product.options {
                let value = v.attributes.get(*attribute).and_then(|x| x.as_str());
                if let Some(value) = value.map(str::trim).filter(|x| !x.is_empty()) {
                    let values = seen.entry(attribute).or_default();
                    if !values.iter().any(|x| x == value) {
                        values.push(value.to_string());
                    }
                }
            }
        }
        if variants.len() < gelato::PAGE as usize {
            break;
        }
    }
    Ok(product
        .options
        .iter()
        .filter_map(|(option, attribute)| {
            let mut values = seen.remove(attribute)?;
            catalogue::sort_values(attribute, &mut values);
            Some((option.to_string(), values))
        })
        .collect())
}

/// Gelato's product UID for `product` with `chosen` option values (`""` when no variant
/// has them; that answer is not cached).
pub async fn variant(
    app: &App,
    product: &'static Product,
    chosen: &BTreeMap<String, String>,
) -> Result<String> {
    let gelato = GelatoHttp::from_settings(app).await?;
    let g = crate::state(app)?;
    let key = format!("{}:{}", product.id, serde_json::json!(chosen));
    let lookup = async {
        let mut filters = fixed_filters(product);
        for (option, value) in chosen {
            if let Some(attribute) = product.attribute(option) {
                filters.insert(attribute.to_string(), vec![value.clone()]);
            }
        }
        let found = gelato.search(product.catalogue, &filters, 1, 0).await?;
        Ok(found
            .into_iter()
            .next()
            .map(|v| v.product_uid)
            .unwrap_or_default())
    };
    g.shop.variants.get(&key, VARIANT_TTL, lookup).await
}

/// What one of `product_uid`, shipped to `country`, costs the buyer in satoshis: Gelato's
/// price with the shop's margin, at the current BCH rate.
pub async fn price_sats(app: &App, product_uid: &str, country: &str) -> Result<i64> {
    let gelato = GelatoHttp::from_settings(app).await?;
    let rates = CoinGeckoHttp::from_settings(app).await?;
    let g = crate::state(app)?;
    let margin = g.settings.get(app).await.shop.margin_percent;
    let cost_key = format!("{product_uid}:{country}");
    let (cost, rate) = futures::try_join!(
        g.shop.prices.get(
            &cost_key,
            PRICE_TTL,
            gelato.price_cents(product_uid, country)
        ),
        g.shop.rate.get("bch_usd", RATE_TTL, rates.cents_per_bch()),
    )?;
    money::sats_for(cost, margin, rate).ok_or_else(|| {
        upstreams::unavailable(
            "The price",
            "it could not be worked out from Gelato and CoinGecko",
        )
    })
}

/// The menu: every product with its reference variant's price. Without a Gelato key no
/// one is called and nothing is available; otherwise the products are priced at once
/// (concurrently), each available when its price came.
pub async fn menu(app: &App) -> Result<Vec<MenuItem>> {
    let configured = !crate::state(app)?
        .settings
        .get(app)
        .await
        .shop
        .gelato_api_key
        .trim()
        .is_empty();
    let priced = catalogue::PRODUCTS.iter().map(|product| async move {
        if !configured {
            return MenuItem {
                product,
                price_sats: None,
            };
        }
        let reference: BTreeMap<String, String> = product
            .reference
            .iter()
            .map(|(o, v)| (o.to_string(), v.to_string()))
            .collect();
        let price = async {
            let uid = variant(app, product, &reference).await?;
            if uid.is_empty() {
                return Ok(None);
            }
            price_sats(app, &uid, MENU_COUNTRY).await.map(Some)
        };
        let price_sats = match price.await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(product = product.id, error = %e, "a menu item could not be priced");
                None
            }
        };
        MenuItem {
            product,
            price_sats,
        }
    });
    Ok(futures::future::join_all(priced).await)
}

/// `text` without its HTML tags (each `<` up to the next `>`; a `<` never closed stays),
/// trimmed: what shipping details keep.
pub fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        out.push_str(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_stripped() {
        assert_eq!(
            strip_tags("<b>Main</b> St <script>x()</script>1"),
            "Main St x()1"
        );
        assert_eq!(strip_tags("a < b"), "a < b");
        assert_eq!(strip_tags("  <i></i>plain  "), "plain");
    }
}
