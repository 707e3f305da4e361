//! Property test: any filter (or sort) either runs or fails with a 4xx — never a 500.

use crate::common::*;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::json;

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("title".to_string()),
        Just("views".to_string()),
        Just("tags".to_string()),
        Just("tags:each".to_string()),
        Just("tags:length".to_string()),
        Just("title:lower".to_string()),
        Just("meta.a.0".to_string()),
        Just("meta".to_string()),
        Just("loc.lon".to_string()),
        Just("author.email".to_string()),
        Just("author.name:lower".to_string()),
        Just("comments_via_post.text".to_string()),
        Just("comments_via_post:length".to_string()),
        Just("published".to_string()),
        Just("created".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("@now".to_string()),
        Just("@weekday".to_string()),
        Just("@request.auth.id".to_string()),
        Just("@request.body.x:isset".to_string()),
        Just("@request.query.page".to_string()),
        Just("@request.headers.x_y".to_string()),
        Just("@collection.users.email".to_string()),
        Just("@collection.users:u.name".to_string()),
        Just("geoDistance(loc.lon, loc.lat, 1, 2)".to_string()),
        Just("strftime('%Y', created)".to_string()),
        "[a-z_@#.:]{1,12}",
        "-?[0-9]{1,4}(\\.[0-9]{1,3})?",
        "'[^']{0,8}'",
        "\"[a-z%_\\\\ é]{0,8}\"",
    ]
}

fn sign() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~",
        "?!~", "==", "=>", "!",
    ])
}

fn comparison() -> impl Strategy<Value = String> {
    (operand(), sign(), operand()).prop_map(|(a, s, b)| format!("{a} {s} {b}"))
}

fn filter() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![4 => comparison(), 1 => "[ -~]{0,20}"];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["&&", "||", "&", "|", ""]),
                inner.clone()
            )
                .prop_map(|(a, j, b)| format!("{a} {j} {b}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

#[test]
fn random_filters_never_fail_the_server() {
    let rt = fuzz_runtime();
    let s = rt.block_on(async {
        let s = start().await;
        s.create_collection(json!({"name": "posts", "listRule": "", "fields": [
            {"name": "title", "type": "text"}, {"name": "views", "type": "number"}, {"name": "published", "type": "bool"},
            {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2}, {"name": "meta", "type": "json"},
            {"name": "loc", "type": "geoPoint"}, {"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1}
        ]}))
        .await;
        s.create_collection(json!({"name": "comments", "listRule": "", "fields": [
            {"name": "text", "type": "text"}, {"name": "post", "type": "relation", "collectionId": "posts", "maxSelect": 1}
        ]}))
        .await;
        let (uid, _) = s.user("f@example.com").await;
        for (i, meta) in [json!({"a": [1, "x"]}), json!("text"), json!(3), json!(null), json!([1, 2])].into_iter().enumerate() {
            let p = s.create_record("posts", json!({"title": format!("t{i}"), "views": i, "tags": ["a"], "meta": meta, "author": uid})).await;
            s.create_record("comments", json!({"text": "c", "post": p["id"]})).await;
        }
        s
    });
    let mut runner = fuzz_runner();
    let result = runner.run(&(filter(), any::<bool>()), |(f, as_superuser)| {
        let token = as_superuser.then(|| s.su_token.clone());
        let (st, body) = rt.block_on(s.list("posts", &[("filter", &f)], token.as_deref()));
        prop_assert!(
            st == StatusCode::OK || st == StatusCode::BAD_REQUEST || st == StatusCode::FORBIDDEN,
            "filter {f:?} → {st}: {body}"
        );
        if st != StatusCode::OK {
            prop_assert_eq!(&body["status"], &json!(st.as_u16()));
        }
        let (st, body) = rt.block_on(s.list("posts", &[("sort", &f)], token.as_deref()));
        prop_assert!(
            st == StatusCode::OK || st == StatusCode::BAD_REQUEST || st == StatusCode::FORBIDDEN,
            "sort {f:?} → {st}: {body}"
        );
        Ok(())
    });
    drop(s);
    if let Err(e) = result {
        panic!("{e}");
    }
}
