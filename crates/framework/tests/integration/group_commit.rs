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
