//! Orders and payments at HTTP level, against the local Gelato, CoinGecko and Blockchair
//! stand-ins: orders checked against the live options, the agent's own design and a real
//! address, quoted in an amount of their own; payments bound to their order (amount,
//! address, age, confirmations, quote), decided once under 20 concurrent submissions.

use crate::agents::{gather_settings, post};
use crate::common::*;
use crate::shop::stock;
use crate::skills::{agent, marketplace};
use crate::upstreams::{price_list, transaction_entry, Mode, Upstreams};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SHOP: &str = "bitcoincash:qshop0address";

/// A shop with stock, a Gelato key and a BCH address, and an agent with a design.
async fn open_shop() -> (Server, Upstreams, String, String) {
    let s = marketplace().await;
    let up = Upstreams::start().await;
    stock(&up);
    let mut settings = up.settings("test-key");
    settings["shop"]["bchAddress"] = json!(SHOP);
    gather_settings(&s, settings).await;
    let (_, token) = agent(&s, "buyer", false).await;
    let form =
        reqwest::multipart::Form::new().part("file", files::part("art.png", files::png(20, 20)));
    let (st, d) =
        files::send_form(&s, Method::POST, "/api/designs/upload", Some(&token), form).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    (
        s,
        up,
        token,
        d["design_id"].as_str().expect("id").to_string(),
    )
}

fn order_body(design: &str) -> Value {
    json!({
        "product_id": "t-shirt",
        "options": {"size": "M", "color": "white"},
        "design_id": design,
        "shipping_address": {
            "first_name": "Ada", "last_name": "<b>Lovelace</b>",
            "address_line_1": "12 St James's Square", "city": "London",
            "post_code": "SW1Y 4JH", "country": "gb", "email": "ada@example.com"
        }
    })
}

async fn place(s: &Server, token: &str, body: Value) -> Value {
    let (st, b) = post(s, "/api/order/product", Some(token), body).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    b
}

async fn pay(s: &Server, token: &str, order: &str, tx: &str) -> (StatusCode, Value) {
    s.call(
        Method::PUT,
        &format!("/api/order/{order}/payment"),
        Some(token),
        Some(json!({"tx_id": tx})),
    )
    .await
}

fn tx_id(n: u32) -> String {
    format!("feed{n:060x}")
}

#[tokio::test]
async fn orders_are_checked_quoted_in_their_own_amount_and_owned() {
    let (s, _up, token, design) = open_shop().await;
    let (_, stranger) = agent(&s, "stranger", false).await;

    // Without a BCH address, no orders.
    gather_settings(&s, json!({"shop": {"bchAddress": ""}})).await;
    let (st, b) = post(&s, "/api/order/product", Some(&token), order_body(&design)).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("shop.bchAddress")),
        "{b}"
    );
    gather_settings(&s, json!({"shop": {"bchAddress": SHOP}})).await;

    // Refusals, each naming what is wrong.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = order_body(&design);
        f(&mut b);
        b
    };
    let cases = [
        (
            with(&|b| b["product_id"] = json!("hat")),
            StatusCode::BAD_REQUEST,
            "/data/product_id",
        ),
        (
            with(&|b| b["options"] = json!({"size": "M"})),
            StatusCode::BAD_REQUEST,
            "/data/options/color",
        ),
        (
            with(&|b| b["options"]["size"] = json!("XXXXL")),
            StatusCode::BAD_REQUEST,
            "/data/options/size",
        ),
        (
            with(&|b| b["options"]["sleeve"] = json!("long")),
            StatusCode::BAD_REQUEST,
            "/data/options/sleeve",
        ),
        (
            with(&|b| b["shipping_address"]["country"] = json!("XX")),
            StatusCode::BAD_REQUEST,
            "/data/shipping_address/country",
        ),
        (
            with(&|b| b["shipping_address"]["email"] = json!("nobody")),
            StatusCode::BAD_REQUEST,
            "/data/shipping_address/email",
        ),
        (
            with(&|b| b["design_id"] = json!("nosuchdesign00")),
            StatusCode::NOT_FOUND,
            "",
        ),
    ];
    for (body, want, field) in cases {
        let (st, b) = post(&s, "/api/order/product", Some(&token), body).await;
        assert_eq!(st, want, "{b}");
        if !field.is_empty() {
            assert!(b.pointer(field).is_some(), "{field}: {b}");
        }
    }
    // Another agent's design is not yours to print.
    let (st, b) = post(
        &s,
        "/api/order/product",
        Some(&stranger),
        order_body(&design),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    // A combination Gelato does not have.
    let (st, b) = post(
        &s,
        "/api/order/product",
        Some(&token),
        with(&|b| b["options"] = json!({"size": "S", "color": "white"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    // A good order: the price ($10 + 40 % at $350: 4,000,000 sats) plus an amount of its
    // own, to the shop's address, for 30 minutes.
    let a = place(&s, &token, order_body(&design)).await;
    let b = place(&s, &token, order_body(&design)).await;
    for o in [&a, &b] {
        let sats = o["total_sats"].as_i64().expect("sats");
        assert!((4_000_001..4_010_000).contains(&sats), "{o}");
        assert_eq!(o["total_bch"], format!("0.{sats:08}").as_str());
        assert_eq!(o["payment_address"], SHOP);
        assert_eq!(o["status"], "awaiting_payment");
        let expires =
            framework::records::parse_datetime(o["quote_expires_at"].as_str().expect("at"))
                .expect("date");
        let left = expires - chrono::Utc::now();
        assert!(
            left > chrono::Duration::minutes(29) && left <= chrono::Duration::minutes(30),
            "{o}"
        );
    }
    assert_ne!(
        a["total_sats"], b["total_sats"],
        "each order its own amount"
    );
    let id = a["order_id"].as_str().expect("id");
    assert_eq!(a["status_url"], format!("/api/order/{id}").as_str());

    // The owner reads it with its history; nobody else does.
    let (st, o) = s.get(&format!("/api/order/{id}"), Some(&token)).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(o["product_options"], json!({"color": "white", "size": "M"}));
    assert_eq!(o["design_id"], design.as_str());
    assert!(
        o["design_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http") && u.contains("/api/files/designs/")),
        "{o}"
    );
    assert_eq!(o["paid"], false);
    assert_eq!(o["transitions"][0]["status"], "awaiting_payment");
    assert!(o.get("tx_id").is_none());
    let (st, _) = s.get(&format!("/api/order/{id}"), Some(&stranger)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get(&format!("/api/order/{id}"), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (_, mine) = s.get("/api/orders", Some(&token)).await;
    assert_eq!(mine["total"], 2);
    assert_eq!(mine["orders"][0]["order_id"], b["order_id"]);
    let (_, theirs) = s.get("/api/orders", Some(&stranger)).await;
    assert_eq!(theirs["total"], 0);
    // Stored as Gelato wants it: tags stripped, the country upper-cased.
    let (_, stored) = s
        .su(
            Method::GET,
            &format!("/api/collections/orders/records/{id}"),
            None,
        )
        .await;
    assert_eq!(stored["shipping_address"]["lastName"], "Lovelace");
    assert_eq!(stored["shipping_address"]["country"], "GB");
    assert_eq!(stored["gelato_product_uid"], "shirt-m-white");
    // The agent was told how to pay.
    let (_, inbox) = s.get("/api/inbox", Some(&token)).await;
    assert!(inbox.to_string().contains("Order placed"), "{inbox}");
}

#[tokio::test]
async fn a_payment_counts_only_for_its_own_order() {
    let (s, up, token, design) = open_shop().await;
    let order = place(&s, &token, order_body(&design)).await;
    let (id, due) = (
        order["order_id"].as_str().expect("id").to_string(),
        order["total_sats"].as_i64().expect("sats"),
    );
    let now = chrono::Utc::now();
    let shop = "qshop0address";
    let add = |n: u32, entry: Value| up.with(|w| w.transactions.insert(tx_id(n), entry));
    add(
        1,
        transaction_entry(899_999, now, &[(shop, due - 1), ("qchange", 5)]),
    );
    add(2, transaction_entry(899_999, now, &[("qsomeoneelse", due)]));
    add(
        3,
        transaction_entry(899_000, now - chrono::Duration::hours(2), &[(shop, due)]),
    );
    add(4, transaction_entry(-1, now, &[(shop, due)]));
    add(5, transaction_entry(899_999, now, &[(shop, due + 1000)]));
    for (n, says) in [
        (1, "exactly"),
        (2, "pays nothing"),
        (3, "before this order"),
        (4, "confirmations"),
        (5, "exactly"),
        (99, "does not know"),
    ] {
        let (st, b) = pay(&s, &token, &id, &tx_id(n)).await;
        assert_eq!(st, StatusCode::PAYMENT_REQUIRED, "{n}: {b}");
        assert!(
            b["message"].as_str().is_some_and(|m| m.contains(says)),
            "{n}: {b}"
        );
    }
    let (st, _) = pay(&s, &token, &id, "ABC").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = pay(&s, &token, &id, &tx_id(1).to_uppercase()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Blockchair down, confused or slow: 503, not 402.
    gather_settings(&s, json!({"shop": {"upstreamTimeoutSeconds": 1}})).await;
    add(6, transaction_entry(899_999, now, &[(shop, due)]));
    for mode in [Mode::Failing, Mode::Malformed, Mode::Slow] {
        up.with(|w| w.blockchair_mode = mode);
        let (st, b) = pay(&s, &token, &id, &tx_id(6)).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{mode:?}: {b}");
    }
    up.with(|w| w.blockchair_mode = Mode::Normal);

    // Confirmations as the settings want them: the tip is 900,000.
    gather_settings(&s, json!({"shop": {"confirmations": 3}})).await;
    let (st, b) = pay(&s, &token, &id, &tx_id(6)).await;
    assert_eq!(st, StatusCode::PAYMENT_REQUIRED, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 of the 3")),
        "{b}"
    );
    gather_settings(&s, json!({"shop": {"confirmations": 1}})).await;

    // Someone else cannot pay (or look at) this order.
    let (_, stranger) = agent(&s, "stranger", false).await;
    let (st, _) = pay(&s, &stranger, &id, &tx_id(6)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The right payment: paid, queued for Gelato, told.
    let (st, b) = pay(&s, &token, &id, &tx_id(6)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"order_id": id, "status": "paid", "tx_id": tx_id(6), "total_bch": order["total_bch"]})
    );
    let (_, o) = s.get(&format!("/api/order/{id}"), Some(&token)).await;
    assert_eq!(
        (o["paid"].clone(), o["tx_id"].clone()),
        (json!(true), json!(tx_id(6)))
    );
    let steps: Vec<Value> = o["transitions"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(steps, [json!("awaiting_payment"), json!("paid")]);
    let filter = format!("/api/collections/fulfilment_jobs/records?filter=(order='{id}')");
    let (_, jobs) = s.su(Method::GET, &filter, None).await;
    assert_eq!(jobs["totalItems"], 1, "{jobs}");
    assert_eq!(jobs["items"][0]["status"], "pending");
    let (_, inbox) = s.get("/api/inbox", Some(&token)).await;
    assert!(inbox.to_string().contains("Payment received"), "{inbox}");

    // Paid once; and the transaction pays no other order.
    let (st, _) = pay(&s, &token, &id, &tx_id(6)).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let other = place(&s, &token, order_body(&design)).await;
    let (st, b) = pay(
        &s,
        &token,
        other["order_id"].as_str().expect("id"),
        &tx_id(6),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
}

#[tokio::test]
async fn a_late_payment_is_repriced() {
    let (s, up, token, design) = open_shop().await;
    let late = chrono::Utc::now() + chrono::Duration::minutes(45);
    // The price has not moved: a payment after the quote still covers it.
    let a = place(&s, &token, order_body(&design)).await;
    let due = a["total_sats"].as_i64().expect("sats");
    up.with(|w| {
        w.transactions.insert(
            tx_id(1),
            transaction_entry(899_999, late, &[("qshop0address", due)]),
        )
    });
    let (st, b) = pay(&s, &token, a["order_id"].as_str().expect("id"), &tx_id(1)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // It has risen past what was paid: refused, saying why.
    let b_order = place(&s, &token, order_body(&design)).await;
    let due = b_order["total_sats"].as_i64().expect("sats");
    up.with(|w| {
        w.transactions.insert(
            tx_id(2),
            transaction_entry(899_999, late, &[("qshop0address", due)]),
        );
        w.prices
            .insert("shirt-m-white".into(), price_list("shirt-m-white", 20.0));
    });
    // Another instance, whose cache has not seen the old price, re-prices it.
    let (twin, _stop) = s
        .twin_with(
            |app| async move { gather::setup(&app).await.expect("gather setup") },
            gather::api(),
        )
        .await;
    let id = b_order["order_id"].as_str().expect("id");
    let resp = s
        .http
        .put(format!("{twin}/api/order/{id}/payment"))
        .header("Authorization", &token)
        .json(&json!({"tx_id": tx_id(2)}))
        .send()
        .await
        .expect("pay");
    assert_eq!(resp.status(), StatusCode::PAYMENT_REQUIRED);
    let b: Value = resp.json().await.expect("json");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("quote expired")),
        "{b}"
    );
}

#[tokio::test]
async fn twenty_concurrent_payments_with_one_transaction_pay_once() {
    let (s, up, token, design) = open_shop().await;
    let order = place(&s, &token, order_body(&design)).await;
    let (id, due) = (
        order["order_id"].as_str().expect("id").to_string(),
        order["total_sats"].as_i64().expect("sats"),
    );
    up.with(|w| {
        w.transactions.insert(
            tx_id(7),
            transaction_entry(899_999, chrono::Utc::now(), &[("qshop0address", due)]),
        )
    });
    let tx = tx_id(7);
    let tries = (0..20).map(|_| pay(&s, &token, &id, &tx));
    let answers = futures::future::join_all(tries).await;
    let ok = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::OK)
        .count();
    let conflicts = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 19), "{answers:?}");
    let filter = format!("/api/collections/fulfilment_jobs/records?filter=(order='{id}')");
    let (_, jobs) = s.su(Method::GET, &filter, None).await;
    assert_eq!(jobs["totalItems"], 1, "one job: {jobs}");
    let (_, o) = s.get(&format!("/api/order/{id}"), Some(&token)).await;
    assert_eq!(o["transitions"].as_array().map(Vec::len), Some(2), "{o}");
}

/// Polls the order until `done` holds (the fulfilment worker runs every 2 s).
async fn wait_for(s: &Server, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (_, o) = s.get(&format!("/api/order/{id}"), Some(token)).await;
        if done(&o) {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("order {id} did not get there");
}

async fn webhook(s: &Server, secret: &str, event: Value) -> (StatusCode, Value) {
    let resp = s
        .http
        .post(format!("{}/api/shop/gelato/webhook", s.base))
        .header("X-Webhook-Secret", secret)
        .json(&event)
        .send()
        .await
        .expect("webhook");
    let st = resp.status();
    (st, resp.json().await.unwrap_or(Value::Null))
}

/// Design, options, order, payment, Gelato, shipment, delivery: the whole way, with the
/// inbox telling each step.
#[tokio::test]
async fn an_order_from_design_to_doorstep() {
    let (s, up, token, design) = open_shop().await;
    gather_settings(&s, json!({"shop": {"gelatoWebhookSecret": "hook-secret"}})).await;
    let (st, opts) = s.get("/api/products/t-shirt/options", None).await;
    assert_eq!(st, StatusCode::OK, "{opts}");
    let order = place(&s, &token, order_body(&design)).await;
    let id = order["order_id"].as_str().expect("id").to_string();
    let due = order["total_sats"].as_i64().expect("sats");
    up.with(|w| {
        w.transactions.insert(
            tx_id(42),
            transaction_entry(
                899_999,
                chrono::Utc::now(),
                &[("qchange", 123), ("qshop0address", due)],
            ),
        )
    });
    let (st, b) = pay(&s, &token, &id, &tx_id(42)).await;
    assert_eq!(st, StatusCode::OK, "{b}");

    // The outbox hands it to Gelato: exactly the order body of §8.4.
    let o = wait_for(&s, &token, &id, |o| o["status"] == "submitted").await;
    assert_eq!(o["gelato_order_id"], "gelato-1");
    let sent = up.with(|w| w.orders.clone());
    assert_eq!(sent.len(), 1);
    let (_, d) = s.get("/api/designs", Some(&token)).await;
    let design_url = d["designs"][0]["url"].as_str().expect("url").to_string();
    assert!(design_url.starts_with("http"), "absolute: {design_url}");
    assert_eq!(
        sent[0],
        json!({
            "orderType": "order", "orderReferenceId": id, "customerReferenceId": id,
            "currency": "USD",
            "items": [{"itemReferenceId": format!("{id}-item-1"), "productUid": "shirt-m-white",
                       "files": [{"type": "default", "url": design_url}], "quantity": 1}],
            "shippingAddress": {"firstName": "Ada", "lastName": "Lovelace",
                "addressLine1": "12 St James's Square", "addressLine2": "", "city": "London",
                "state": "", "postCode": "SW1Y 4JH", "country": "GB",
                "email": "ada@example.com", "phone": ""}
        })
    );
    let call = up.seen("/v4/orders").pop().expect("the order call");
    assert_eq!(
        (call.api_key.as_str(), call.user_agent.as_str()),
        ("test-key", "Gather/1.0")
    );

    // Gelato's webhook: a wrong secret changes nothing; shipped, then delivered.
    let event = |status: &str| {
        json!({"event": "order_status_updated", "orderId": "gelato-1", "orderReferenceId": id,
               "fulfillmentStatus": status,
               "items": [{"fulfillments": [{"trackingCode": "1Z999", "trackingUrl": "https://track.example.com/1Z999"}]}]})
    };
    let (st, _) = webhook(&s, "wrong", event("shipped")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, b) = webhook(&s, "hook-secret", event("shipped")).await;
    assert_eq!(
        (st, b["status"].clone(), b["changed"].clone()),
        (StatusCode::OK, json!("shipped"), json!(true)),
        "{b}"
    );
    let (_, b) = webhook(&s, "hook-secret", event("shipped")).await;
    assert_eq!(b["changed"], false, "the same event twice moves nothing");
    let (_, b) = webhook(&s, "hook-secret", event("delivered")).await;
    assert_eq!(b["status"], "delivered");
    let (_, o) = s.get(&format!("/api/order/{id}"), Some(&token)).await;
    assert_eq!(o["tracking_url"], "https://track.example.com/1Z999");
    let steps: Vec<Value> = o["transitions"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(
        steps,
        [
            "awaiting_payment",
            "paid",
            "submitted",
            "shipped",
            "delivered"
        ]
        .map(|s| json!(s))
    );
    assert!(o["transitions"]
        .as_array()
        .expect("steps")
        .iter()
        .all(|t| t["at"].as_str().is_some_and(|a| a.len() > 10)));

    // The inbox told each step, newest first.
    let (_, inbox) = s.get("/api/inbox?limit=10", Some(&token)).await;
    let subjects: Vec<String> = inbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["type"] == "order_update")
        .map(|m| m["subject"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        subjects,
        [
            "Order delivered",
            "Order shipped",
            "Order sent to print",
            "Payment received",
            "Order placed"
        ]
    );

    // The webhook is Gelato's only: without a configured secret it is off.
    gather_settings(&s, json!({"shop": {"gelatoWebhookSecret": ""}})).await;
    let (st, _) = webhook(&s, "", event("delivered")).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
}

/// A Gelato outage delays an order (retried with backoff, visible in `/_/`); a refusal
/// fails it with the reason.
#[tokio::test]
async fn gelato_outages_delay_orders_and_refusals_fail_them() {
    let (s, up, token, design) = open_shop().await;
    up.with(|w| w.order_mode = Mode::Failing);
    let order = place(&s, &token, order_body(&design)).await;
    let id = order["order_id"].as_str().expect("id").to_string();
    let due = order["total_sats"].as_i64().expect("sats");
    up.with(|w| {
        w.transactions.insert(
            tx_id(8),
            transaction_entry(899_999, chrono::Utc::now(), &[("qshop0address", due)]),
        )
    });
    assert_eq!(pay(&s, &token, &id, &tx_id(8)).await.0, StatusCode::OK);
    let filter = format!("/api/collections/fulfilment_jobs/records?filter=(order='{id}')");
    let mut job = Value::Null;
    for _ in 0..100 {
        let (_, jobs) = s.su(Method::GET, &filter, None).await;
        job = jobs["items"][0].clone();
        if job["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (job["attempts"].clone(), job["status"].clone()),
        (json!(1), json!("pending")),
        "{job}"
    );
    assert!(
        job["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{job}"
    );
    let (_, o) = s.get(&format!("/api/order/{id}"), Some(&token)).await;
    assert_eq!(o["status"], "paid", "delayed, not lost");
    // Gelato is back; an operator makes it due now (or it waits its 30 s).
    up.with(|w| w.order_mode = Mode::Normal);
    let now = framework::records::format_datetime(chrono::Utc::now());
    let (st, b) = s
        .su(
            Method::PATCH,
            &format!(
                "/api/collections/fulfilment_jobs/records/{}",
                job["id"].as_str().expect("id")
            ),
            Some(json!({"next_attempt": now})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let o = wait_for(&s, &token, &id, |o| o["status"] == "submitted").await;
    assert!(
        o["gelato_order_id"]
            .as_str()
            .is_some_and(|g| g.starts_with("gelato-")),
        "{o}"
    );
    assert_eq!(up.with(|w| w.orders.len()), 1, "sent once");

    // Gelato refuses an order for good: it fails, saying why.
    up.with(|w| w.order_mode = Mode::Refusing);
    let second = place(&s, &token, order_body(&design)).await;
    let id2 = second["order_id"].as_str().expect("id").to_string();
    let due = second["total_sats"].as_i64().expect("sats");
    up.with(|w| {
        w.transactions.insert(
            tx_id(9),
            transaction_entry(899_999, chrono::Utc::now(), &[("qshop0address", due)]),
        )
    });
    assert_eq!(pay(&s, &token, &id2, &tx_id(9)).await.0, StatusCode::OK);
    let o = wait_for(&s, &token, &id2, |o| o["status"] == "failed").await;
    assert!(
        o["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("not orderable")),
        "{o}"
    );
    let (_, inbox) = s.get("/api/inbox?limit=5", Some(&token)).await;
    assert!(inbox.to_string().contains("Order failed"), "{inbox}");
}

#[tokio::test]
async fn a_human_orders_with_a_users_token_as_an_agent_does_and_hears_by_e_mail() {
    let (s, up, agent_token, agent_design) = open_shop().await;
    let sink = crate::common::smtp::SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (ann_id, ann) = s.user("ann@example.com").await;
    let (_, bob) = s.user("bob@example.com").await;

    // Her design is hers: listed for her only; the agent's is no design of hers.
    let form =
        reqwest::multipart::Form::new().part("file", files::part("mine.png", files::png(30, 30)));
    let (st, d) = files::send_form(&s, Method::POST, "/api/designs/upload", Some(&ann), form).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let design = d["design_id"].as_str().expect("id").to_string();
    let (_, mine) = s.get("/api/designs", Some(&ann)).await;
    assert_eq!(mine["total"], 1, "{mine}");
    let (_, theirs) = s.get("/api/designs", Some(&agent_token)).await;
    assert_eq!(theirs["total"], 1, "{theirs}");
    assert_ne!(theirs["designs"][0]["design_id"], design.as_str());
    let (st, b) = post(
        &s,
        "/api/order/product",
        Some(&ann),
        order_body(&agent_design),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");

    // Her order: placed as hers, told by e-mail with a link to its page.
    let order = place(&s, &ann, order_body(&design)).await;
    let id = order["order_id"].as_str().expect("id").to_string();
    let (st, o) = s.get(&format!("/api/order/{id}"), Some(&ann)).await;
    assert_eq!(st, StatusCode::OK, "{o}");
    assert_eq!(
        (o["user_id"].as_str(), o["agent_id"].as_str()),
        (Some(ann_id.as_str()), Some(""))
    );
    let mail = sink.wait_for("ann@example.com").await;
    assert!(mail.subject.contains("Order placed"), "{}", mail.subject);
    assert!(
        mail.text
            .contains(&format!("http://app.test/shop/orders/{id}")),
        "{}",
        mail.text
    );
    for other in [&bob, &agent_token] {
        let (st, _) = s.get(&format!("/api/order/{id}"), Some(other)).await;
        assert_eq!(
            st,
            StatusCode::NOT_FOUND,
            "someone else's order is not found"
        );
    }
    let (_, listed) = s.get("/api/orders", Some(&agent_token)).await;
    assert_eq!(listed["total"], 0, "{listed}");
    // A superuser is no buyer; neither is a token of nothing.
    let (st, _) = s.get("/api/orders", Some(&s.su_token)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // She pays as an agent does.
    let due = order["total_sats"].as_i64().expect("sats");
    up.with(|w| {
        w.transactions.insert(
            tx_id(7),
            transaction_entry(899_999, chrono::Utc::now(), &[("qshop0address", due)]),
        )
    });
    let (st, b) = pay(&s, &ann, &id, &tx_id(7)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "paid");
    let paid = sink.wait_for("ann@example.com").await;
    assert!(
        paid.subject.contains("Payment received"),
        "{}",
        paid.subject
    );
}
