//! Local stand-ins for the shop's upstreams, speaking the request and answer shapes of
//! contract §8: Gelato's product API (catalogue search, prices), CoinGecko's simple
//! price and Blockchair's transaction dashboard, on one server. They record every request (headers and body) and can be made
//! to fail, stall or answer nonsense.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, EndpointExt, IntoResponse, Request, Response, Route};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// 500 with an error body.
    Failing,
    /// Waits 1.5 s before answering.
    Slow,
    /// 200 with a body that is not what the service sends.
    Malformed,
    /// 400: the request itself is refused (for good).
    Refusing,
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub api_key: String,
    pub user_agent: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Default)]
pub struct World {
    /// Gelato catalogue → its variants (`{productUid, attributes}`).
    pub catalogues: HashMap<String, Vec<Value>>,
    /// Product UID → what `GET /v3/products/<uid>/prices` answers.
    pub prices: HashMap<String, Value>,
    /// US dollars per BCH.
    pub usd_per_bch: f64,
    /// Transaction id → its dashboard entry (`{transaction, inputs, outputs}`).
    pub transactions: HashMap<String, Value>,
    /// The chain's height (`context.state`).
    pub tip: i64,
    pub gelato_mode: Mode,
    pub coingecko_mode: Mode,
    pub blockchair_mode: Mode,
    /// How Gelato's order API answers (apart from the product API).
    pub order_mode: Mode,
    /// The orders Gelato took, as sent.
    pub orders: Vec<Value>,
    pub seen: Vec<Seen>,
}

type Shared = Arc<Mutex<World>>;

pub struct Upstreams {
    pub url: String,
    pub world: Shared,
    _stop: oneshot::Sender<()>,
}

fn seen(req: &Request, body: &[u8]) -> Seen {
    let header = |h: &str| req.header(h).unwrap_or_default().to_string();
    Seen {
        method: req.method().to_string(),
        uri: req.uri().to_string(),
        api_key: header("x-api-key"),
        user_agent: header("user-agent"),
        content_type: header("content-type"),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    }
}

/// What a mode other than `Normal` answers, after any wait.
async fn misbehave(mode: Mode) -> Option<Response> {
    match mode {
        Mode::Normal => None,
        Mode::Slow => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            None
        }
        Mode::Failing => Some(
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("application/json")
                .body(r#"{"code": "internal", "message": "upstream broke"}"#),
        ),
        Mode::Refusing => Some(
            Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .content_type("application/json")
                .body(r#"{"code": "invalid", "message": "productUid is not orderable"}"#),
        ),
        Mode::Malformed => Some(
            Response::builder()
                .content_type("application/json")
                .body(r#"{"products": "not a list", "bitcoin-cash": "none"}"#),
        ),
    }
}

/// Whether a variant matches every attribute filter.
fn matches(variant: &Value, filters: &Value) -> bool {
    filters
        .as_object()
        .into_iter()
        .flatten()
        .all(|(attr, allowed)| {
            let value = &variant["attributes"][attr];
            allowed
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == value))
        })
}

#[handler]
async fn catalogue_search(
    req: &Request,
    Path(rest): Path<String>,
    body: poem::Body,
    Data(w): Data<&Shared>,
) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    let mode = {
        let mut w = w.lock().expect("lock");
        w.seen.push(seen(req, &bytes));
        w.gelato_mode
    };
    if let Some(r) = misbehave(mode).await {
        return r;
    }
    let Some(catalogue) = rest.strip_suffix("/products:search") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let q: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let (limit, offset) = (
        q["limit"].as_u64().unwrap_or(100) as usize,
        q["offset"].as_u64().unwrap_or(0) as usize,
    );
    let w = w.lock().expect("lock");
    let products: Vec<Value> = w
        .catalogues
        .get(catalogue)
        .into_iter()
        .flatten()
        .filter(|v| matches(v, &q["attributeFilters"]))
        .skip(offset)
        .take(limit)
        .cloned()
        .collect();
    poem::web::Json(json!({"products": products, "hits": {"attributeHits": {}}})).into_response()
}

#[handler]
async fn prices(req: &Request, Path(uid): Path<String>, Data(w): Data<&Shared>) -> Response {
    let mode = {
        let mut w = w.lock().expect("lock");
        w.seen.push(seen(req, b""));
        w.gelato_mode
    };
    if let Some(r) = misbehave(mode).await {
        return r;
    }
    match w.lock().expect("lock").prices.get(&uid) {
        Some(p) => poem::web::Json(p.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[handler]
async fn simple_price(req: &Request, Data(w): Data<&Shared>) -> Response {
    let mode = {
        let mut w = w.lock().expect("lock");
        w.seen.push(seen(req, b""));
        w.coingecko_mode
    };
    if let Some(r) = misbehave(mode).await {
        return r;
    }
    let usd = w.lock().expect("lock").usd_per_bch;
    poem::web::Json(json!({"bitcoin-cash": {"usd": usd}})).into_response()
}

#[handler]
async fn transaction(req: &Request, Path(tx): Path<String>, Data(w): Data<&Shared>) -> Response {
    let mode = {
        let mut w = w.lock().expect("lock");
        w.seen.push(seen(req, b""));
        w.blockchair_mode
    };
    if let Some(r) = misbehave(mode).await {
        return r;
    }
    let w = w.lock().expect("lock");
    let context = json!({"code": 200, "state": w.tip});
    match w.transactions.get(&tx) {
        Some(entry) => {
            poem::web::Json(json!({"data": {tx: entry}, "context": context})).into_response()
        }
        None => poem::web::Json(json!({"data": [], "context": context})).into_response(),
    }
}

#[handler]
async fn create_order(req: &Request, body: poem::Body, Data(w): Data<&Shared>) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    let mode = {
        let mut w = w.lock().expect("lock");
        w.seen.push(seen(req, &bytes));
        w.order_mode
    };
    if let Some(r) = misbehave(mode).await {
        return r;
    }
    let order: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut w = w.lock().expect("lock");
    w.orders.push(order.clone());
    let id = format!("gelato-{}", w.orders.len());
    Response::builder()
        .status(StatusCode::CREATED)
        .content_type("application/json")
        .body(json!({"id": id, "orderReferenceId": order["orderReferenceId"], "fulfillmentStatus": "created"}).to_string())
}

impl Upstreams {
    pub async fn start() -> Upstreams {
        let world: Shared = Arc::new(Mutex::new(World {
            usd_per_bch: 350.0,
            tip: 900_000,
            ..World::default()
        }));
        let app = Route::new()
            .at("/v3/catalogs/*rest", poem::post(catalogue_search))
            .at("/v3/products/:uid/prices", poem::get(prices))
            .at("/api/v3/simple/price", poem::get(simple_price))
            .at(
                "/bitcoin-cash/dashboards/transaction/:tx",
                poem::get(transaction),
            )
            .at("/v4/orders", poem::post(create_order))
            .data(world.clone());
        let (url, tx) = crate::common::serve_fake(app).await;
        Upstreams {
            url,
            world,
            _stop: tx,
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world.lock().expect("lock"))
    }

    /// The requests seen so far whose URI contains `part`.
    pub fn seen(&self, part: &str) -> Vec<Seen> {
        self.with(|w| {
            w.seen
                .iter()
                .filter(|s| s.uri.contains(part))
                .cloned()
                .collect()
        })
    }

    /// Settings that point the shop at this server (with `key` as Gelato's).
    pub fn settings(&self, key: &str) -> Value {
        json!({"shop": {"gelatoApiKey": key, "gelatoProductURL": self.url,
            "gelatoOrderURL": self.url, "coingeckoURL": self.url, "blockchairURL": self.url}})
    }
}

/// A transaction's dashboard entry: mined in `block` (-1: in the mempool) at `time`,
/// paying each (address, satoshis).
pub fn transaction_entry(
    block: i64,
    time: chrono::DateTime<chrono::Utc>,
    outputs: &[(&str, i64)],
) -> Value {
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|(to, sats)| json!({"recipient": to, "value": sats, "type": "pubkeyhash"}))
        .collect();
    json!({
        "transaction": {"block_id": block, "time": time.format("%Y-%m-%d %H:%M:%S").to_string()},
        "inputs": [{"recipient": "qpayer", "value": 99_000_000}],
        "outputs": outputs,
    })
}

/// A catalogue variant: `uid` with `attributes`.
pub fn variant(uid: &str, attributes: &[(&str, &str)]) -> Value {
    let attrs: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({"productUid": uid, "attributes": attrs})
}

/// Gelato's price list for one product: the one-item US dollar price among others.
pub fn price_list(uid: &str, usd: f64) -> Value {
    json!([
        {"productUid": uid, "country": "US", "quantity": 1, "price": usd * 0.9, "currency": "EUR", "pageCount": null},
        {"productUid": uid, "country": "US", "quantity": 10, "price": usd * 8.0, "currency": "USD", "pageCount": null},
        {"productUid": uid, "country": "US", "quantity": 1, "price": usd, "currency": "USD", "pageCount": null},
    ])
}
