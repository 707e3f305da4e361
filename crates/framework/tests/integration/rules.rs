//! API rules for guests, users and superusers: locked, public and expression rules
//! for each action, with PocketBase's status codes.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn locked_rules_are_for_superusers_only() {
    let s = start().await;
    s.create_collection(json!({"name": "secrets", "fields": [{"name": "v", "type": "text"}]}))
        .await;
    let rec = s.create_record("secrets", json!({"v": "x"})).await;
    let id = rec["id"].as_str().unwrap();
    let (_, user) = s.user("u@example.com").await;
    for token in [None, Some(user.as_str())] {
        for (m, path, body) in [
            (
                Method::GET,
                "/api/collections/secrets/records".to_string(),
                None,
            ),
            (
                Method::GET,
                format!("/api/collections/secrets/records/{id}"),
                None,
            ),
            (
                Method::POST,
                "/api/collections/secrets/records".to_string(),
                Some(json!({"v": "y"})),
            ),
            (
                Method::PATCH,
                format!("/api/collections/secrets/records/{id}"),
                Some(json!({"v": "y"})),
            ),
            (
                Method::DELETE,
                format!("/api/collections/secrets/records/{id}"),
                None,
            ),
        ] {
            let (st, err) = s.call(m.clone(), &path, token, body).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{m} {path}: {err}");
            assert_eq!(err["message"], "Only superusers can perform this action.");
        }
    }
    let (st, l) = s
        .su(Method::GET, "/api/collections/secrets/records", None)
        .await;
    assert_eq!((st, l["totalItems"].clone()), (StatusCode::OK, json!(1)));
    let (_, l) = s.list("secrets", &[], None).await;
    assert_eq!(l["status"], 403);
}

#[tokio::test]
async fn owner_rules() {
    let s = start().await;
    s.create_collection(json!({
        "name": "notes",
        "listRule": "owner = @request.auth.id",
        "viewRule": "owner = @request.auth.id",
        "createRule": "@request.auth.id != '' && @request.body.owner = @request.auth.id",
        "updateRule": "owner = @request.auth.id && @request.body.owner:isset = false",
        "deleteRule": "owner = @request.auth.id",
        "fields": [{"name": "text", "type": "text"}, {"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1}]
    }))
    .await;
    let (alice, at) = s.user("alice@example.com").await;
    let (bob, bt) = s.user("bob@example.com").await;

    // Create: guests and impostors get 400 "Failed to create record.", nothing is written.
    let (st, err) = s
        .call(
            Method::POST,
            "/api/collections/notes/records",
            None,
            Some(json!({"text": "g", "owner": alice})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["message"], "Failed to create record.");
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/notes/records",
            Some(&bt),
            Some(json!({"text": "fake", "owner": alice})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, a1) = s
        .call(
            Method::POST,
            "/api/collections/notes/records",
            Some(&at),
            Some(json!({"text": "a1", "owner": alice})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a1}");
    let (_, _b1) = s
        .call(
            Method::POST,
            "/api/collections/notes/records",
            Some(&bt),
            Some(json!({"text": "b1", "owner": bob})),
        )
        .await;
    let (_, all) = s
        .su(Method::GET, "/api/collections/notes/records", None)
        .await;
    assert_eq!(all["totalItems"], 2);

    // List filters rows; guests see nothing (200, empty).
    let (_, l) = s.list("notes", &[], Some(&at)).await;
    assert_eq!(column(&l, "text"), [json!("a1")]);
    let (st, l) = s.list("notes", &[], None).await;
    assert_eq!((st, l["totalItems"].clone()), (StatusCode::OK, json!(0)));

    // View/update/delete of someone else's record: 404.
    let a1_path = format!(
        "/api/collections/notes/records/{}",
        a1["id"].as_str().unwrap()
    );
    for (m, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"text": "hacked"}))),
        (Method::DELETE, None),
    ] {
        let (st, _) = s.call(m.clone(), &a1_path, Some(&bt), body.clone()).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{m}");
        let (st, _) = s.call(m.clone(), &a1_path, None, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{m} as guest");
    }
    // The owner may update, but not hand the record over (@request.body rule).
    let (st, _) = s
        .call(
            Method::PATCH,
            &a1_path,
            Some(&at),
            Some(json!({"owner": bob})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, upd) = s
        .call(
            Method::PATCH,
            &a1_path,
            Some(&at),
            Some(json!({"text": "edited"})),
        )
        .await;
    assert_eq!((st, upd["text"].clone()), (StatusCode::OK, json!("edited")));
    let (st, _) = s.call(Method::DELETE, &a1_path, Some(&at), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn collection_and_request_references() {
    let s = start().await;
    s.create_collection(json!({"name": "groups", "listRule": "", "viewRule": "", "fields": [{"name": "name", "type": "text"}]})).await;
    s.create_collection(json!({"name": "members", "fields": [
        {"name": "user", "type": "relation", "collectionId": "users", "maxSelect": 1},
        {"name": "group", "type": "relation", "collectionId": "groups", "maxSelect": 1},
        {"name": "role", "type": "select", "values": ["admin", "reader"], "maxSelect": 1}
    ]}))
    .await;
    // Only admins of a group may list its docs; both conditions must hold on the same membership.
    s.create_collection(json!({"name": "docs",
        "listRule": "@collection.members.user ?= @request.auth.id && @collection.members.group ?= group && @collection.members.role ?= 'admin'",
        "viewRule": "@request.headers.x_doc_key = 'letmein'",
        "fields": [{"name": "title", "type": "text"}, {"name": "group", "type": "relation", "collectionId": "groups", "maxSelect": 1}]}))
    .await;
    let g1 = s.create_record("groups", json!({"name": "g1"})).await;
    let g2 = s.create_record("groups", json!({"name": "g2"})).await;
    let (u, ut) = s.user("m@example.com").await;
    s.create_record(
        "members",
        json!({"user": u, "group": g1["id"], "role": "admin"}),
    )
    .await;
    s.create_record(
        "members",
        json!({"user": u, "group": g2["id"], "role": "reader"}),
    )
    .await;
    let d1 = s
        .create_record("docs", json!({"title": "d1", "group": g1["id"]}))
        .await;
    s.create_record("docs", json!({"title": "d2", "group": g2["id"]}))
        .await;
    let (_, l) = s.list("docs", &[], Some(&ut)).await;
    assert_eq!(
        column(&l, "title"),
        [json!("d1")],
        "reader of g2 must not see d2: {l}"
    );

    // Headers in rules.
    let path = format!(
        "/api/collections/docs/records/{}",
        d1["id"].as_str().unwrap()
    );
    let (st, _) = s.get(&path, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let resp = s
        .http
        .get(format!("{}{}", s.base, path))
        .header("X-Doc-Key", "letmein")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Clients may not use @collection / @request in their own filters; superusers may.
    let (st, err) = s
        .list(
            "groups",
            &[("filter", "@collection.members.role = 'admin'")],
            Some(&ut),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{err}");
    let (st, _) = s
        .list("groups", &[("filter", "@request.auth.id != ''")], None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, l) = s
        .list(
            "groups",
            &[(
                "filter",
                "@collection.members.group ?= id && @collection.members.role ?= 'reader'",
            )],
            Some(&s.su_token),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{l}");
    assert_eq!(column(&l, "name"), [json!("g2")]);
}

#[tokio::test]
async fn hidden_fields_and_public_rules() {
    let s = start().await;
    s.create_collection(
        json!({"name": "items", "listRule": "", "viewRule": "", "createRule": "", "fields": [
            {"name": "name", "type": "text"}, {"name": "secret", "type": "text", "hidden": true}
        ]}),
    )
    .await;
    let (st, it) = s
        .call(
            Method::POST,
            "/api/collections/items/records",
            None,
            Some(json!({"name": "n", "secret": "s"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(it.get("secret").is_none());
    let (_, l) = s.list("items", &[], None).await;
    assert!(l["items"][0].get("secret").is_none());
    let (st, _) = s.list("items", &[("filter", "secret = 's'")], None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, l) = s
        .list("items", &[("filter", "secret = 's'")], Some(&s.su_token))
        .await;
    assert_eq!(l["items"][0]["secret"], "s");
}
