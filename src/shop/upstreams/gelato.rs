//! Gelato's product API (contract §8.2): catalogue search by attribute filters, and a
//! variant's prices; and its order API (§8.4). Headers on every call: `X-API-KEY`,
//! `Content-Type: application/json`, `User-Agent: Gather/1.0`.

use super::{describe, json_answer, unavailable, USER_AGENT};
use framework::{App, Error, Result};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const SERVICE: &str = "Gelato";
/// Variants per catalogue page when listing options.
pub const PAGE: u32 = 100;

/// One variant of a catalogue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    pub product_uid: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

/// Attribute → accepted values.
pub type Filters = BTreeMap<String, Vec<String>>;

/// What the shop asks of Gelato's product API.
pub trait Catalogue: Send + Sync {
    /// One page of a catalogue's variants that match `filters`.
    fn search<'a>(
        &'a self,
        catalogue: &'a str,
        filters: &'a Filters,
        limit: u32,
        offset: u32,
    ) -> BoxFuture<'a, Result<Vec<Variant>>>;

    /// The price of one of `product_uid` shipped to `country`, in US cents.
    fn price_cents<'a>(
        &'a self,
        product_uid: &'a str,
        country: &'a str,
    ) -> BoxFuture<'a, Result<i64>>;
}

/// Why an order did not reach Gelato.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderRefused {
    /// Worth trying again later: unreachable, slow, a 5xx or a 429.
    ForNow(String),
    /// Gelato refused the order itself (another 4xx): trying again changes nothing.
    ForGood(String),
}

/// What the shop asks of Gelato's order API.
pub trait Orders: Send + Sync {
    /// Creates the order `body` (contract §8.4); returns Gelato's order id.
    fn create_order<'a>(
        &'a self,
        body: &'a Value,
    ) -> BoxFuture<'a, std::result::Result<String, OrderRefused>>;
}

/// Gelato over HTTP.
pub struct GelatoHttp {
    pub http: reqwest::Client,
    /// `https://product.gelatoapis.com`
    pub product_url: String,
    /// `https://order.gelatoapis.com`
    pub order_url: String,
    pub key: String,
    /// A catalogue page may take this long; a price lookup `call_timeout`.
    pub search_timeout: Duration,
    pub call_timeout: Duration,
}

impl GelatoHttp {
    /// Gelato as the settings give it; a 503 naming the setting when it has no key.
    pub async fn from_settings(app: &App) -> Result<GelatoHttp> {
        let shop = crate::state(app)?.settings.get(app).await.shop.clone();
        if shop.gelato_api_key.trim().is_empty() {
            return Err(Error::ServiceUnavailable(
                "The shop is not set up: a superuser sets shop.gelatoApiKey in PATCH /api/gather/settings.".into(),
            ));
        }
        Ok(GelatoHttp {
            http: app.http()?.clone(),
            product_url: shop.gelato_product_url.trim_end_matches('/').to_string(),
            order_url: shop.gelato_order_url.trim_end_matches('/').to_string(),
            search_timeout: shop.search_timeout(),
            call_timeout: shop.call_timeout(),
            key: shop.gelato_api_key,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.call(method, format!("{}{path}", self.product_url))
    }

    fn call(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header("X-API-KEY", &self.key)
            .header("Content-Type", "application/json")
            .header("User-Agent", USER_AGENT)
    }
}

impl Catalogue for GelatoHttp {
    fn search<'a>(
        &'a self,
        catalogue: &'a str,
        filters: &'a Filters,
        limit: u32,
        offset: u32,
    ) -> BoxFuture<'a, Result<Vec<Variant>>> {
        Box::pin(async move {
            let path = format!("/v3/catalogs/{catalogue}/products:search");
            let body = json!({"attributeFilters": filters, "limit": limit, "offset": offset});
            let sent = self
                .request(reqwest::Method::POST, &path)
                .timeout(self.search_timeout)
                .json(&body)
                .send()
                .await;
            let answer = json_answer(SERVICE, sent).await?;
            serde_json::from_value::<Vec<Variant>>(answer["products"].clone())
                .map_err(|_| unavailable(SERVICE, "its answer had no product list"))
        })
    }

    fn price_cents<'a>(
        &'a self,
        product_uid: &'a str,
        country: &'a str,
    ) -> BoxFuture<'a, Result<i64>> {
        Box::pin(async move {
            let path = format!("/v3/products/{product_uid}/prices");
            let sent = self
                .request(reqwest::Method::GET, &path)
                .query(&[("country", country), ("currency", "USD")])
                .timeout(self.call_timeout)
                .send()
                .await;
            let answer = json_answer(SERVICE, sent).await?;
            one_in_usd(&answer).ok_or_else(|| {
                unavailable(SERVICE, "it gave no US dollar price for a quantity of one")
            })
        })
    }
}

impl Orders for GelatoHttp {
    fn create_order<'a>(
        &'a self,
        body: &'a Value,
    ) -> BoxFuture<'a, std::result::Result<String, OrderRefused>> {
        Box::pin(async move {
            let sent = self
                .call(
                    reqwest::Method::POST,
                    format!("{}/v4/orders", self.order_url),
                )
                .timeout(self.search_timeout)
                .json(body)
                .send()
                .await
                .map_err(|e| OrderRefused::ForNow(describe(&e)))?;
            let status = sent.status();
            let answer: Value = sent.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                let id = answer["id"].as_str().or_else(|| answer["orderId"].as_str());
                return match id.map(str::trim).filter(|id| !id.is_empty()) {
                    Some(id) => Ok(id.to_string()),
                    None => Err(OrderRefused::ForNow(format!(
                        "Gelato answered {} without an order id",
                        status.as_u16()
                    ))),
                };
            }
            let said = answer["message"].as_str().unwrap_or_default();
            let why = format!(
                "Gelato answered {}{}",
                status.as_u16(),
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            );
            let why: String = why.chars().take(500).collect();
            if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                Err(OrderRefused::ForNow(why))
            } else {
                Err(OrderRefused::ForGood(why))
            }
        })
    }
}

/// The US-cent price of a quantity of one among Gelato's price entries (a list, or one
/// object): an entry that says another currency or quantity does not count.
fn one_in_usd(answer: &Value) -> Option<i64> {
    let entries = match answer {
        Value::Array(a) => a.iter().collect::<Vec<_>>(),
        one => vec![one],
    };
    entries.into_iter().find_map(|e| {
        let currency_ok = e["currency"]
            .as_str()
            .is_none_or(|c| c.eq_ignore_ascii_case("USD"));
        let quantity_ok = e["quantity"].as_f64().is_none_or(|q| q == 1.0);
        let price = e["price"].as_f64().filter(|p| p.is_finite() && *p > 0.0)?;
        (currency_ok && quantity_ok).then(|| (price * 100.0).round() as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_is_one_item_in_dollars() {
        let list = json!([
            {"productUid": "p", "country": "US", "quantity": 1, "price": 9.5, "currency": "EUR"},
            {"productUid": "p", "country": "US", "quantity": 10, "price": 80.0, "currency": "USD"},
            {"productUid": "p", "country": "US", "quantity": 1, "price": 12.345, "currency": "USD"},
        ]);
        assert_eq!(one_in_usd(&list), Some(1235));
        assert_eq!(one_in_usd(&json!({"price": 7.0})), Some(700));
        assert_eq!(one_in_usd(&json!([])), None);
        assert_eq!(one_in_usd(&json!([{"price": -1}])), None);
        assert_eq!(one_in_usd(&json!({"price": "12"})), None);
    }
}
