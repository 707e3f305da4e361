//! Property test: any JSON body for a create or update either saves or fails with a
//! 4xx envelope — never a 500, never a half-written record.

use crate::common::*;
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~é✓]{0,12}".prop_map(Value::String),
        Just(json!("2024-01-02 03:04:05.000Z")),
        Just(json!("a")),
        Just(json!("x@example.com")),
        Just(json!("https://example.com")),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::hash_map("[a-z]{1,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Map<String, Value>> {
    let keys = prop::sample::select(vec![
        "title", "n", "flag", "tags", "kind", "meta", "loc", "site", "mail", "when", "owner", "id",
        "n+", "n-", "tags+", "+tags", "tags-", "created", "nope",
    ]);
    prop::collection::vec((keys, json_value()), 0..6)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

#[test]
fn random_bodies_never_fail_the_server() {
    let rt = fuzz_runtime();
    let (s, id) = rt.block_on(async {
        let s = start().await;
        s.create_collection(json!({"name": "things", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "fields": [
            {"name": "title", "type": "text", "max": 20}, {"name": "n", "type": "number", "min": -1000000, "max": 1000000},
            {"name": "flag", "type": "bool"}, {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
            {"name": "kind", "type": "select", "values": ["a"], "maxSelect": 1}, {"name": "meta", "type": "json", "maxSize": 200},
            {"name": "loc", "type": "geoPoint"}, {"name": "site", "type": "url"}, {"name": "mail", "type": "email"},
            {"name": "when", "type": "date"}, {"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1}
        ]}))
        .await;
        let rec = s.create_record("things", json!({"title": "seed"})).await;
        (s, rec["id"].as_str().unwrap().to_string())
    });
    let mut runner = fuzz_runner();
    let result = runner.run(&(body(), any::<bool>()), |(b, update)| {
        let (method, path) = if update {
            (
                Method::PATCH,
                format!("/api/collections/things/records/{id}"),
            )
        } else {
            (Method::POST, "/api/collections/things/records".to_string())
        };
        let (st, resp) = rt.block_on(s.call(method, &path, None, Some(Value::Object(b.clone()))));
        prop_assert!(
            st == StatusCode::OK || st.is_client_error(),
            "{b:?} → {st}: {resp}"
        );
        if st != StatusCode::OK {
            prop_assert_eq!(&resp["status"], &json!(st.as_u16()));
            prop_assert!(resp["data"].is_object());
        } else {
            // What was answered is what was stored.
            let (_, stored) = rt.block_on(s.get(
                &format!(
                    "/api/collections/things/records/{}",
                    resp["id"].as_str().unwrap_or_default()
                ),
                None,
            ));
            prop_assert_eq!(stored, resp);
        }
        Ok(())
    });
    drop(s);
    if let Err(e) = result {
        panic!("{e}");
    }
}
