//! Concurrent writes share transactions (group commit) without failing each other:
//! a write that fails inside the writer leaves its neighbours committed.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_writes_do_not_fail_their_neighbours() {
    let s = start().await;
    s.create_collection(json!({"name": "events", "listRule": "", "createRule": "", "fields": [{"name": "key", "type": "text"}],
        "indexes": ["CREATE UNIQUE INDEX idx_events_key ON events (key)"]}))
    .await;
    s.create_record("events", json!({"key": "taken"})).await;
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Every 10th collides with the unique index, which only the database can see.
            let key = if i % 10 == 0 {
                "taken".to_string()
            } else {
                format!("k{i}")
            };
            s.call(
                Method::POST,
                "/api/collections/events/records",
                None,
                Some(json!({"key": key})),
            )
            .await
        }));
    }
    let (mut ok, mut dup) = (0, 0);
    for t in tasks {
        let (st, body) = t.await.unwrap();
        match st {
            StatusCode::OK => ok += 1,
            StatusCode::BAD_REQUEST => {
                assert_eq!(
                    body["data"]["key"]["code"], "validation_not_unique",
                    "{body}"
                );
                dup += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((ok, dup), (180, 20));
    let (_, l) = s.list("events", &[("perPage", "1")], None).await;
    assert_eq!(l["totalItems"], 181);
}

/// What one write found inside a shared transaction (a related record exists) is not
/// trusted after a statement that could have removed it.
#[tokio::test]
async fn a_related_record_deleted_in_the_same_transaction_is_missed() {
    let s = start().await;
    s.create_collection(
        json!({"name": "owners", "listRule": "", "createRule": "", "deleteRule": "",
        "fields": [{"name": "name", "type": "text"}]}),
    )
    .await;
    s.create_collection(json!({"name": "things", "listRule": "", "createRule": "",
        "fields": [{"name": "owner", "type": "relation", "collectionId": "owners", "maxSelect": 1}]}))
    .await;
    let owner = s.create_record("owners", json!({"name": "o"})).await;
    let oid = owner["id"].as_str().expect("id");
    let (st, b) = s
        .call(
            Method::POST,
            "/api/batch",
            None,
            Some(json!({"requests": [
                {"method": "POST", "url": "/api/collections/things/records", "body": {"owner": oid}},
                {"method": "DELETE", "url": format!("/api/collections/owners/records/{oid}")},
                {"method": "POST", "url": "/api/collections/things/records", "body": {"owner": oid}}
            ]})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b["data"]["requests"]["2"]["response"]["data"]["owner"]["code"],
        "validation_missing_rel_records",
        "{b}"
    );
    let (_, l) = s.list("things", &[("perPage", "1")], None).await;
    assert_eq!(l["totalItems"], 0, "nothing of the batch is kept");
    let (_, l) = s.list("owners", &[("perPage", "1")], None).await;
    assert_eq!(l["totalItems"], 1);
}

/// Statements stay prepared on PostgreSQL: a field dropped and added again with another
/// type, by another instance, must not break this one's prepared reads or writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_retyped_by_another_instance_is_read_and_written_right() {
    let s = start().await;
    let c = s
        .create_collection(
            json!({"name": "gauges", "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "level", "type": "number"}]}),
        )
        .await;
    let first = s.create_record("gauges", json!({"level": 3})).await;
    let id = first["id"].as_str().expect("id").to_string();
    // Enough reads that every pooled connection has the statements prepared.
    read_often(&s, &id).await;
    let (twin, stop) = s.twin().await;
    let retyped = reqwest::Client::new()
        .patch(format!(
            "{twin}/api/collections/{}",
            c["id"].as_str().expect("id")
        ))
        .header("Authorization", &s.su_token)
        .json(&json!({"fields": [{"name": "level", "type": "text"}]}))
        .send()
        .await
        .expect("patch");
    assert_eq!(
        retyped.status(),
        StatusCode::OK,
        "{}",
        retyped.text().await.unwrap_or_default()
    );
    // Straight away (before this instance's poll sees the change) and after it.
    read_often(&s, &id).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let made = s.create_record("gauges", json!({"level": "high"})).await;
    assert_eq!(made["level"], "high", "{made}");
    let (_, v) = s
        .call(
            Method::GET,
            &format!("/api/collections/gauges/records/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        v["level"], "",
        "the old values went with the old field: {v}"
    );
    let _ = stop.send(());
}

/// Lists `gauges` and views record `id` forty times, each answered 200 with a `level`.
async fn read_often(s: &Server, id: &str) {
    for _ in 0..40 {
        let (st, l) = s.list("gauges", &[], None).await;
        assert_eq!(st, StatusCode::OK, "{l}");
        let (st, v) = s
            .call(
                Method::GET,
                &format!("/api/collections/gauges/records/{id}"),
                None,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert!(v["level"].is_string() || v["level"].is_number(), "{v}");
    }
}
