//! The shop at HTTP level, against local Gelato and CoinGecko stand-ins
//! (`upstreams.rs`): the menu without a key (no call made) and priced with one (one
//! upstream call however many wait), live product options with paging and failures,
//! design uploads typed from their bytes, and feedback.

use crate::agents::{gather_settings, post};
use crate::common::*;
use crate::skills::{agent, marketplace};
use crate::upstreams::{price_list, variant, Mode, Upstreams};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn shirt(uid: &str, size: &str, color: &str) -> Value {
    variant(
        uid,
        &[
            ("GarmentCut", "unisex"),
            ("GarmentSubcategory", "crewneck"),
            ("GarmentQuality", "classic"),
            ("GarmentPrint", "4-0"),
            ("ProductStatus", "activated"),
            ("GarmentSize", size),
            ("GarmentColor", color),
        ],
    )
}

fn mug(uid: &str, size: &str) -> Value {
    variant(
        uid,
        &[
            ("MugMaterial", "ceramic-white"),
            ("ProductStatus", "activated"),
            ("MugSize", size),
        ],
    )
}

fn print(uid: &str, size: &str, orientation: &str) -> Value {
    variant(
        uid,
        &[
            ("FrameColor", "black"),
            ("FrameMaterial", "wood"),
            ("ProductStatus", "activated"),
            ("PaperFormat", size),
            ("Orientation", orientation),
        ],
    )
}

/// A catalogue with every product's reference variant priced ($10, $6.50, $25) and a
/// BCH at $350.
pub(crate) fn stock(up: &Upstreams) {
    up.with(|w| {
        w.catalogues.insert(
            "t-shirts".into(),
            vec![
                shirt("shirt-s-black", "S", "black"),
                shirt("shirt-m-white", "M", "white"),
                // Another cut: not this product.
                variant(
                    "vneck-m-white",
                    &[("GarmentCut", "v-neck"), ("GarmentSize", "M")],
                ),
            ],
        );
        w.catalogues
            .insert("mugs".into(), vec![mug("mug-11", "11-oz")]);
        w.catalogues.insert(
            "framed-posters".into(),
            vec![print("print-a3-ver", "a3", "ver")],
        );
        w.prices
            .insert("shirt-m-white".into(), price_list("shirt-m-white", 10.0));
        w.prices.insert("mug-11".into(), price_list("mug-11", 6.5));
        w.prices
            .insert("print-a3-ver".into(), price_list("print-a3-ver", 25.0));
    });
}

async fn items(s: &Server) -> Vec<Value> {
    let (st, b) = s.get("/api/menu/products", None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn without_a_gelato_key_the_menu_is_unavailable_and_no_one_is_called() {
    let s = marketplace().await;
    let up = Upstreams::start().await;
    gather_settings(&s, up.settings("")).await;
    stock(&up);

    let (st, menu) = s.get("/api/menu", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        menu,
        json!({"categories": [{"id": "products",
            "name": "Custom Merch — Upload your design, printed & shipped",
            "count": 3, "href": "/api/menu/products"}]})
    );
    let listed = items(&s).await;
    assert_eq!(
        listed.iter().map(|i| i["id"].clone()).collect::<Vec<_>>(),
        [json!("t-shirt"), json!("mug"), json!("framed-print")]
    );
    for i in &listed {
        assert_eq!(
            (i["available"].clone(), i["base_price_bch"].clone()),
            (json!(false), json!("0.000000"))
        );
    }
    assert_eq!(
        listed[0]["name"],
        "T-Shirt — Unisex crewneck, printed front"
    );
    let (st, b) = s.get("/api/products/t-shirt/options", None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.contains("shop.gelatoApiKey")),
        "{b}"
    );
    assert!(
        up.seen("").is_empty(),
        "nobody was called: {:?}",
        up.seen("")
    );

    // Unknown names and pages.
    let (st, b) = s.get("/api/menu/hats", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    let (st, b) = s.get("/api/products/hat/options", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    assert!(b["message"].as_str().is_some_and(|m| m.contains("t-shirt")));
    let (st, _) = s.get("/api/menu/products?page=0", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, b) = s.get("/api/menu/products?page=9", None).await;
    assert_eq!(
        (st, b["page"].clone(), b["next"].clone()),
        (StatusCode::OK, json!(1), Value::Null)
    );
}

#[tokio::test]
async fn the_menu_is_priced_once_however_many_ask() {
    let s = marketplace().await;
    let up = Upstreams::start().await;
    gather_settings(&s, up.settings("test-key")).await;
    stock(&up);
    // Slow answers, so the requests below all wait at once: one call each is made.
    up.with(|w| {
        w.gelato_mode = Mode::Slow;
        w.coingecko_mode = Mode::Slow;
    });
    let asks = (0..20).map(|_| s.get("/api/menu/products", None));
    let answers = futures::future::join_all(asks).await;
    up.with(|w| {
        w.gelato_mode = Mode::Normal;
        w.coingecko_mode = Mode::Normal;
    });
    for (st, b) in &answers {
        assert_eq!(*st, StatusCode::OK, "{b}");
        assert_eq!(b, &answers[0].1);
    }
    assert_eq!(
        up.seen("products:search").len(),
        3,
        "one variant lookup per product"
    );
    assert_eq!(up.seen("/prices").len(), 3, "one price per product");
    assert_eq!(up.seen("simple/price").len(), 1, "one rate");

    // $10.00 with the 40 % margin at $350 a BCH: 0.04 BCH.
    let listed = &answers[0].1["items"];
    let prices: Vec<(Value, Value, Value)> = (0..3)
        .map(|i| {
            let it = &listed[i];
            (
                it["available"].clone(),
                it["base_price_bch"].clone(),
                it["base_price_sats"].clone(),
            )
        })
        .collect();
    assert_eq!(
        prices,
        [
            (json!(true), json!("0.040000"), json!(4_000_000)),
            (json!(true), json!("0.026000"), json!(2_600_000)),
            (json!(true), json!("0.100000"), json!(10_000_000)),
        ]
    );

    // What Gelato and CoinGecko were sent.
    let lookup = up
        .seen("/v3/catalogs/t-shirts/products:search")
        .pop()
        .expect("a lookup");
    assert_eq!(lookup.method, "POST");
    assert_eq!(
        (
            lookup.api_key.as_str(),
            lookup.user_agent.as_str(),
            lookup.content_type.as_str()
        ),
        ("test-key", "Gather/1.0", "application/json")
    );
    assert_eq!(
        lookup.body,
        json!({"attributeFilters": {"GarmentColor": ["white"], "GarmentCut": ["unisex"],
            "GarmentPrint": ["4-0"], "GarmentQuality": ["classic"], "GarmentSize": ["M"],
            "GarmentSubcategory": ["crewneck"], "ProductStatus": ["activated"]},
            "limit": 1, "offset": 0})
    );
    let price = up
        .seen("/v3/products/shirt-m-white/prices")
        .pop()
        .expect("price");
    assert_eq!(price.method, "GET");
    assert!(
        price.uri.ends_with("?country=US&currency=USD"),
        "{}",
        price.uri
    );
    assert_eq!(price.api_key, "test-key");
    let rate = up.seen("simple/price").pop().expect("rate");
    assert!(
        rate.uri.ends_with("?ids=bitcoin-cash&vs_currencies=usd"),
        "{}",
        rate.uri
    );
    assert!(rate.api_key.is_empty(), "Gelato's key goes to Gelato only");
}

#[tokio::test]
async fn unpriceable_items_are_unavailable_and_not_remembered_so() {
    let s = marketplace().await;
    let up = Upstreams::start().await;
    gather_settings(&s, up.settings("test-key")).await;
    stock(&up);
    // No mug variant, and no price for the print.
    up.with(|w| {
        w.catalogues.insert("mugs".into(), vec![]);
        w.prices.remove("print-a3-ver");
    });
    let listed = items(&s).await;
    let available: Vec<Value> = listed.iter().map(|i| i["available"].clone()).collect();
    assert_eq!(available, [json!(true), json!(false), json!(false)]);
    // Empty and failed answers are not cached: once Gelato has them, they are on the menu.
    stock(&up);
    let listed = items(&s).await;
    let available: Vec<Value> = listed.iter().map(|i| i["available"].clone()).collect();
    assert_eq!(available, [json!(true), json!(true), json!(true)]);

    // CoinGecko failing or answering nonsense makes items unavailable, never a 500.
    let s2 = marketplace().await;
    gather_settings(&s2, up.settings("test-key")).await;
    for mode in [Mode::Failing, Mode::Malformed] {
        up.with(|w| w.coingecko_mode = mode);
        let listed = items(&s2).await;
        assert!(
            listed.iter().all(|i| i["available"] == false),
            "{mode:?}: {listed:?}"
        );
    }
}

#[tokio::test]
async fn product_options_come_live_from_gelato() {
    let s = marketplace().await;
    let up = Upstreams::start().await;
    gather_settings(&s, up.settings("test-key")).await;
    stock(&up);
    // 150 shirts: two catalogue pages.
    let sizes = ["XL", "S", "M", "2XL", "L", "XS"];
    let colors = ["white", "black", "navy", "red", "heather-grey"];
    up.with(|w| {
        let mut all = Vec::new();
        for i in 0..150 {
            let (size, color) = (sizes[i % sizes.len()], colors[i % colors.len()]);
            all.push(shirt(&format!("shirt-{i}"), size, color));
        }
        w.catalogues.insert("t-shirts".into(), all);
    });
    let (st, b) = s.get("/api/products/t-shirt/options", None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"product_id": "t-shirt", "product_name": "T-Shirt — Unisex crewneck, printed front",
            "options": {"color": ["black", "heather-grey", "navy", "red", "white"],
                        "size": ["XS", "S", "M", "L", "XL", "2XL"]}})
    );
    let pages: Vec<Value> = up
        .seen("/v3/catalogs/t-shirts/products:search")
        .iter()
        .map(|r| json!([r.body["limit"], r.body["offset"]]))
        .collect();
    assert_eq!(pages, [json!([100, 0]), json!([100, 100])]);
    // Cached: no new call.
    assert_eq!(
        s.get("/api/products/t-shirt/options", None).await.0,
        StatusCode::OK
    );
    assert_eq!(up.seen("/v3/catalogs/t-shirts/").len(), 2);

    // Gelato failing, answering nonsense or too slowly: 503 with what went wrong.
    gather_settings(&s, json!({"shop": {"upstreamTimeoutSeconds": 1}})).await;
    for (mode, says) in [
        (Mode::Failing, "answered 500"),
        (Mode::Malformed, "no product list"),
        (Mode::Slow, "did not answer in time"),
    ] {
        up.with(|w| w.gelato_mode = mode);
        let (st, b) = s.get("/api/products/mug/options", None).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{mode:?}: {b}");
        assert!(
            b["message"].as_str().is_some_and(|m| m.contains(says)),
            "{mode:?}: {b}"
        );
        assert!(
            !b.to_string().contains("test-key"),
            "the key is never shown"
        );
    }
    // Nor does the settings document show it to superusers.
    let (_, settings) = s.su(Method::GET, "/api/gather/settings", None).await;
    assert_eq!(settings["shop"]["gelatoApiKey"], "******");
    assert!(!settings.to_string().contains("test-key"), "{settings}");

    // What was fetched before stays served while Gelato is down.
    let (st, b) = s.get("/api/products/t-shirt/options", None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    up.with(|w| w.gelato_mode = Mode::Normal);
    let (st, b) = s.get("/api/products/mug/options", None).await;
    assert_eq!(
        (st, b["options"].clone()),
        (StatusCode::OK, json!({"size": ["11-oz"]})),
        "{b}"
    );
}

async fn upload(s: &Server, token: Option<&str>, name: &str, data: Vec<u8>) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new().part("file", files::part(name, data));
    files::send_form(s, Method::POST, "/api/designs/upload", token, form).await
}

#[tokio::test]
async fn designs_are_typed_from_their_bytes_limited_and_owned() {
    let s = marketplace().await;
    let (_, token) = agent(&s, "designer", false).await;
    let (_, other) = agent(&s, "other", false).await;
    let high = json!({"perMinute": 100000, "burst": 100000});
    gather_settings(&s, json!({"rateLimits": {"designUploads": high}})).await;
    let png = files::png(40, 30);

    let (st, _) = upload(&s, None, "logo.png", png.clone()).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The name says JPEG; the bytes say PNG, and the bytes win.
    let (st, d) = upload(&s, Some(&token), "logo.jpg", png.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    assert_eq!(
        (
            d["mime_type"].clone(),
            d["width"].clone(),
            d["height"].clone(),
            d["size_bytes"].clone()
        ),
        (json!("image/png"), json!(40), json!(30), json!(png.len()))
    );
    assert_eq!(d["original_name"], "logo.jpg");
    let path = d["design_url"].as_str().expect("path").to_string();
    assert!(path.starts_with("/api/files/designs/"), "{path}");
    assert!(
        d["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http") && u.ends_with(&path)),
        "{d}"
    );
    let got = s
        .http
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .expect("download");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), png);

    // Refused: SVG, other formats, a lying signature, nothing; each a 400 naming why.
    let svg =
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    for (name, data, says) in [
        ("art.svg", svg.to_vec(), "SVG"),
        ("art.png", svg.to_vec(), "SVG"),
        ("anim.gif", gif, "PNG, JPEG or WebP"),
        (
            "fake.png",
            b"\x89PNG\r\n\x1a\nnot an image".to_vec(),
            "does not decode",
        ),
        ("empty.png", Vec::new(), "empty"),
    ] {
        let (st, b) = upload(&s, Some(&token), name, data).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{name}: {b}");
        assert!(
            b["message"].as_str().is_some_and(|m| m.contains(says)),
            "{name}: {b}"
        );
    }

    // Over the size the settings allow: 413, nothing stored.
    gather_settings(&s, json!({"shop": {"designMaxBytes": 1000}})).await;
    let (st, b) = upload(&s, Some(&token), "big.png", files::noisy_png(40, 40)).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["status"], 413);
    gather_settings(&s, json!({"shop": {"designMaxBytes": 20971520}})).await;

    // Each agent sees its own designs, newest first.
    let (st, d2) = upload(&s, Some(&token), "second.png", files::png(8, 8)).await;
    assert_eq!(st, StatusCode::CREATED, "{d2}");
    let (st, mine) = s.get("/api/designs", Some(&token)).await;
    assert_eq!(st, StatusCode::OK, "{mine}");
    assert_eq!(mine["total"], 2);
    assert_eq!(mine["designs"][0]["design_id"], d2["design_id"]);
    assert_eq!(mine["designs"][1]["design_id"], d["design_id"]);
    let (_, theirs) = s.get("/api/designs", Some(&other)).await;
    assert_eq!(theirs["total"], 0);
    let (st, _) = s.get("/api/designs", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // The per-agent upload limit.
    gather_settings(
        &s,
        json!({"rateLimits": {"designUploads": {"perMinute": 1, "burst": 1}}}),
    )
    .await;
    let (st, b) = upload(&s, Some(&other), "a.png", files::png(4, 4)).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let (st, b) = upload(&s, Some(&other), "b.png", files::png(4, 4)).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{b}");
}

#[tokio::test]
async fn feedback_is_kept_for_the_operators() {
    let s = marketplace().await;
    let (st, b) = post(
        &s,
        "/api/feedback",
        None,
        json!({"rating": 5, "message": "  Great mugs <3  ", "agent": "claude"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "thanks");
    let id = b["feedback_id"].as_str().expect("id");
    let (st, stored) = s
        .su(
            Method::GET,
            &format!("/api/collections/feedback/records/{id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{stored}");
    assert_eq!(
        (
            stored["rating"].clone(),
            stored["message"].clone(),
            stored["agent_name"].clone()
        ),
        (json!(5), json!("Great mugs <3"), json!("claude"))
    );
    assert!(stored["created"].as_str().is_some_and(|c| c.len() > 10));
    // Nobody else reads it.
    let (st, _) = s
        .get(&format!("/api/collections/feedback/records/{id}"), None)
        .await;
    assert!(
        matches!(st, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{st}"
    );
    for bad in [
        json!({"rating": 0}),
        json!({"rating": 6}),
        json!({"rating": 3, "message": "x".repeat(5001)}),
        json!({"message": "no rating"}),
    ] {
        let (st, b) = post(&s, "/api/feedback", None, bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    }
}
