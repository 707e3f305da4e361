//! `/api/batch`: all-or-nothing record writes, rules per request, what a failure says,
//! and the multipart form PocketBase's SDK sends.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn setup(s: &Server) {
    s.create_collection(json!({
        "name": "posts", "listRule": "", "viewRule": "", "updateRule": "", "deleteRule": "",
        "createRule": "@request.auth.id != ''",
        "fields": [
            {"name": "title", "type": "text", "required": true},
            {"name": "views", "type": "number"},
            {"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1}
        ]
    }))
    .await;
    s.create_collection(json!({
        "name": "comments", "listRule": "", "viewRule": "", "updateRule": "",
        "createRule": "@request.context = 'batch'", "deleteRule": null,
        "fields": [
            {"name": "text", "type": "text"},
            {"name": "post", "type": "relation", "collectionId": "posts", "maxSelect": 1, "cascadeDelete": true}
        ]
    }))
    .await;
}

async fn batch(s: &Server, token: Option<&str>, requests: Value) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        "/api/batch",
        token,
        Some(json!({ "requests": requests })),
    )
    .await
}

async fn count(s: &Server, collection: &str) -> i64 {
    let (st, b) = s
        .list(collection, &[("perPage", "1")], Some(&s.su_token.clone()))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["totalItems"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn a_batch_commits_every_write_and_answers_each() {
    let s = start().await;
    setup(&s).await;
    let (uid, token) = s.user("writer@example.com").await;
    let old = s
        .create_record("posts", json!({"title": "old", "views": 1}))
        .await;
    let old_id = old["id"].as_str().expect("id");
    let gone = s
        .create_record("posts", json!({"title": "to delete"}))
        .await;
    let pid = "batchpost000001";
    let (st, b) = batch(
        &s,
        Some(&token),
        json!([
            {"method": "POST", "url": "/api/collections/posts/records?expand=author&fields=id,title,expand.author.id",
             "body": {"id": pid, "title": "new", "author": uid}},
            // Sees the post created just before it, inside the same transaction.
            {"method": "POST", "url": "/api/collections/comments/records", "body": {"text": "first!", "post": pid}},
            {"method": "PATCH", "url": format!("/api/collections/posts/records/{pid}"), "body": {"views+": 2}},
            {"method": "PATCH", "url": format!("/api/collections/posts/records/{old_id}"), "body": {"views+": 5}},
            {"method": "PUT", "url": "/api/collections/posts/records", "body": {"id": old_id, "title": "upserted"}},
            {"method": "PUT", "url": "/api/collections/posts/records?fields=id,title", "body": {"id": "upsertnew000001", "title": "made by upsert"}},
            {"method": "DELETE", "url": format!("/api/collections/posts/records/{}", gone["id"].as_str().unwrap_or_default())}
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let answers = b.as_array().expect("a list");
    assert_eq!(answers.len(), 7);
    assert_eq!(
        answers[0],
        json!({"status": 200, "body": {"id": pid, "title": "new", "expand": {"author": {"id": uid}}}})
    );
    assert_eq!(answers[1]["body"]["collectionName"], "comments");
    assert_eq!(answers[2]["body"]["views"], 2);
    assert_eq!(answers[3]["body"]["views"], 6);
    assert_eq!(answers[4]["body"]["title"], "upserted");
    assert_eq!(
        answers[4]["body"]["views"], 6,
        "the upsert updated the record"
    );
    assert_eq!(
        answers[5],
        json!({"status": 200, "body": {"id": "upsertnew000001", "title": "made by upsert"}})
    );
    assert_eq!(answers[6], json!({"status": 204, "body": null}));

    let (_, p) = s
        .get(&format!("/api/collections/posts/records/{pid}"), None)
        .await;
    assert_eq!(
        (p["title"].clone(), p["views"].clone()),
        (json!("new"), json!(2))
    );
    let (_, p) = s
        .get(&format!("/api/collections/posts/records/{old_id}"), None)
        .await;
    assert_eq!(
        (p["title"].clone(), p["views"].clone()),
        (json!("upserted"), json!(6))
    );
    assert_eq!(count(&s, "posts").await, 3);
    assert_eq!(count(&s, "comments").await, 1);
}

#[tokio::test]
async fn one_failure_writes_nothing_and_says_which_request_failed() {
    let s = start().await;
    setup(&s).await;
    let (_, token) = s.user("writer@example.com").await;
    let before = s
        .create_record("posts", json!({"title": "kept", "views": 1}))
        .await;
    let id = before["id"].as_str().expect("id");
    let (st, b) = batch(
        &s,
        Some(&token),
        json!([
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "one"}},
            {"method": "PATCH", "url": format!("/api/collections/posts/records/{id}"), "body": {"views": 99}},
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"views": 3}}
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["message"], "Batch transaction failed.");
    assert_eq!(
        b["data"]["requests"]["2"],
        json!({"code": "batch_request_failed", "message": "Batch request failed.",
               "response": {"status": 400, "message": "Failed to create record.",
                            "data": {"title": {"code": "validation_required", "message": "Cannot be blank."}}}})
    );
    assert_eq!(
        count(&s, "posts").await,
        1,
        "the first create was rolled back"
    );
    let (_, p) = s
        .get(&format!("/api/collections/posts/records/{id}"), None)
        .await;
    assert_eq!(p["views"], 1, "the update was rolled back");

    // A failure found only inside the transaction (a duplicate id) also undoes it all.
    let (st, b) = batch(
        &s,
        Some(&token),
        json!([
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "two"}},
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"id": id, "title": "dup"}}
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b["data"]["requests"]["1"]["response"]["data"]["id"]["code"],
        "validation_not_unique"
    );
    assert_eq!(count(&s, "posts").await, 1);

    // A missing record fails the batch with that request's 404.
    let (st, b) = batch(
        &s,
        Some(&token),
        json!([
            {"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "three"}},
            {"method": "DELETE", "url": "/api/collections/posts/records/nosuchrecord123"}
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["requests"]["1"]["response"]["status"], 404);
    assert_eq!(count(&s, "posts").await, 1);

    // A record deleted earlier in the batch is gone for the requests after it.
    let (st, b) = batch(
        &s,
        None,
        json!([
            {"method": "DELETE", "url": format!("/api/collections/posts/records/{id}")},
            {"method": "PATCH", "url": format!("/api/collections/posts/records/{id}"), "body": {"views": 2}}
        ]),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["requests"]["1"]["response"]["status"], 404);
    assert_eq!(count(&s, "posts").await, 1);
}

#[tokio::test]
async fn rules_apply_to_each_request() {
    let s = start().await;
    setup(&s).await;
    // Guests may not create posts...
    let (st, b) = batch(
        &s,
        None,
        json!([{"method": "POST", "url": "/api/collections/posts/records", "body": {"title": "x"}}]),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["requests"]["0"]["response"]["status"], 400);
    // ...nor delete comments (superusers only) ...
    let post = s.create_record("posts", json!({"title": "p"})).await;
    let pid = post["id"].as_str().expect("id");
    let (st, b) = batch(
        &s,
        None,
        json!([{"method": "POST", "url": "/api/collections/comments/records", "body": {"text": "c", "post": pid}}]),
    )
    .await;
    // ...but a comment's create rule asks for the batch context, which a batch has.
    assert_eq!(st, StatusCode::OK, "{b}");
    let cid = b[0]["body"]["id"].as_str().expect("id").to_string();
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/comments/records",
            None,
            Some(json!({"text": "direct", "post": pid})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "outside a batch the context is 'default'"
    );
    let (st, b) = batch(
        &s,
        None,
        json!([{"method": "DELETE", "url": format!("/api/collections/comments/records/{cid}")}]),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["requests"]["0"]["response"]["status"], 403);
    // Superusers may.
    let (st, b) = batch(
        &s,
        Some(&s.su_token.clone()),
        json!([{"method": "DELETE", "url": format!("/api/collections/comments/records/{cid}")}]),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn bad_batches_and_limits() {
    let s = start().await;
    setup(&s).await;
    let (st, b) = batch(&s, None, json!([])).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["requests"]["code"], "validation_required");
    let (st, b) = s
        .call(Method::POST, "/api/batch", None, Some(json!([1, 2])))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, b) = batch(&s, None, json!("nope")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    for bad in [
        json!({"method": "GET", "url": "/api/collections/posts/records"}),
        json!({"method": "POST", "url": "/api/settings"}),
        json!({"method": "POST", "url": "/api/collections/posts/records", "body": [1]}),
        json!({"method": "POST", "url": "/api/collections/nosuch/records", "body": {}}),
        json!(42),
    ] {
        let (st, b) = batch(&s, None, json!([bad])).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {b}");
        assert!(
            b["data"]["requests"]["0"]["response"]["status"].is_u64(),
            "{b}"
        );
    }
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"batch": {"maxRequests": 2}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let three: Vec<Value> = (0..3)
        .map(|i| json!({"method": "POST", "url": "/api/collections/comments/records", "body": {"text": format!("c{i}")}}))
        .collect();
    let (st, b) = batch(&s, None, json!(three)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(count(&s, "comments").await, 0);
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"batch": {"enabled": false}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, b) = batch(&s, None, json!(three[..1])).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["message"], "Batch requests are not allowed.");
}

#[tokio::test]
async fn multipart_batches_as_the_sdk_sends_them() {
    let s = start().await;
    setup(&s).await;
    let payload = json!({"requests": [
        {"method": "POST", "url": "/api/collections/comments/records", "body": {"text": "from a form"}}
    ]});
    let form = reqwest::multipart::Form::new().text("@jsonPayload", payload.to_string());
    let resp = s
        .http
        .post(format!("{}/api/batch", s.base))
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let b: Value = resp.json().await.expect("json");
    assert_eq!(b[0]["body"]["text"], "from a form");
}
