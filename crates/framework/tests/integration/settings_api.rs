//! `/api/settings`: superusers only, partial updates, validation, secrets never returned,
//! and shared by instances on one database.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_round_trip() {
    let s = start().await;
    // A second instance, started before the change, must pick it up.
    let (b, _stop) = s.twin().await;
    let (st, _) = s.get("/api/settings", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (_, user) = s.user("u@example.com").await;
    let (st, _) = s
        .call(Method::PATCH, "/api/settings", Some(&user), Some(json!({})))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let (st, v) = s.su(Method::GET, "/api/settings", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        v["meta"]["appName"], "App",
        "the default is the configured name"
    );
    assert_eq!(v["rateLimits"]["rules"][0]["label"], "*:auth");
    assert!(v["smtp"].get("password").is_none());

    let (st, v) = s
        .su(Method::PATCH, "/api/settings", Some(json!({"meta": {"appName": "Acme"}, "smtp": {"enabled": true, "host": "127.0.0.1", "port": 2525, "password": "secret"}})))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["meta"]["appName"].clone(), v["smtp"]["port"].clone()),
        (json!("Acme"), json!(2525))
    );
    assert_eq!(
        v["meta"]["senderName"], "Support",
        "untouched keys keep their values"
    );
    assert!(v["smtp"].get("password").is_none());
    assert_eq!(s.app.settings().smtp.password, "secret");

    // Invalid values: 400 with nested field errors, nothing saved.
    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"meta": {"appName": "", "appURL": "not a url"}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["message"],
        "An error occurred while saving the new settings."
    );
    assert_eq!(
        err["data"]["meta"]["appName"]["code"],
        "validation_required"
    );
    assert_eq!(err["data"]["meta"]["appURL"]["code"], "validation_is_url");
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"smtp": {"port": "x"}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, v) = s
        .su(Method::GET, "/api/settings?fields=meta.appName", None)
        .await;
    assert_eq!(v, json!({"meta": {"appName": "Acme"}}));

    let mut seen = false;
    for _ in 0..50 {
        let v: serde_json::Value = s
            .http
            .get(format!("{b}/api/settings"))
            .header("Authorization", &s.su_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["meta"]["appName"] == "Acme" {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen);
}

#[tokio::test]
async fn password_hashing_cost_is_a_setting() {
    let s = start().await;
    s.user("before@example.com").await;
    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"passwordHashing": {"memoryKiB": 4, "iterations": 0}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["data"]["passwordHashing"]["memoryKiB"]["code"],
        "validation_out_of_range"
    );
    assert!(err["data"]["passwordHashing"]["iterations"].is_object());
    let (st, v) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"passwordHashing": {"memoryKiB": 8192, "iterations": 1}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["passwordHashing"],
        json!({"memoryKiB": 8192, "iterations": 1, "parallelism": 1})
    );
    s.user("after@example.com").await;
    let d = s.app.dialect();
    let hash = |email: &'static str| {
        let sql = format!(
            "SELECT \"password\" FROM \"users\" WHERE \"email\" = {}",
            d.param(1)
        );
        let db = s.app.db().clone();
        async move {
            db.query_one(d.raw(sql, vec![email.into()]))
                .await
                .unwrap()
                .unwrap()
                .string("password")
                .unwrap()
        }
    };
    assert!(hash("before@example.com").await.contains("m=7168,t=5,p=1"));
    assert!(hash("after@example.com").await.contains("m=8192,t=1,p=1"));
    // Both log in: a hash carries its own cost.
    for who in ["before@example.com", "after@example.com"] {
        assert_eq!(s.login("users", who, "password123").await.0, StatusCode::OK);
    }
}
