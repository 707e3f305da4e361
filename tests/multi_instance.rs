//! Two instances on one database behave as one: records written through one are read
//! through the other, and schema changes made through one reach the other.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_and_records_are_shared() {
    let a = start().await;
    let (b, _stop) = a.twin().await;
    a.create_collection(json!({"name": "shared", "listRule": "", "createRule": "", "fields": [{"name": "v", "type": "text"}]})).await;
    // B learns about the new collection within a few polls.
    let url = format!("{b}/api/collections/shared/records");
    let mut ok = false;
    for _ in 0..50 {
        let resp = a
            .http
            .post(&url)
            .json(&json!({"v": "from b"}))
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "instance B never saw the collection created through A");
    let (_, l) = a.list("shared", &[], None).await;
    assert_eq!(column(&l, "v"), [json!("from b")]);

    // A field added through A shows up in B's answers.
    let (_, c) = a.su(Method::GET, "/api/collections/shared", None).await;
    let mut fields = c["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "extra", "type": "number"}));
    let (st, _) = a
        .su(
            Method::PATCH,
            "/api/collections/shared",
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut seen = false;
    for _ in 0..50 {
        let v: Value = a.http.get(&url).send().await.unwrap().json().await.unwrap();
        if v["items"][0].get("extra").is_some() {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "instance B never saw the new field");
}
