//! Bad input of every kind gets a 4xx with the `{status, message, data}` envelope.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn is_envelope(v: &Value, status: u16) -> bool {
    v["status"] == status
        && v["message"].as_str().is_some_and(|m| !m.is_empty())
        && v["data"].is_object()
}

#[tokio::test]
async fn malformed_requests() {
    let s = start().await;
    s.create_collection(json!({"name": "posts", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "fields": [{"name": "title", "type": "text"}, {"name": "n", "type": "number"}]})).await;
    let url = format!("{}/api/collections/posts/records", s.base);
    let raw = |body: &'static str, ct: &'static str| {
        s.http
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    for (body, ct) in [
        ("{not json", "application/json"),
        ("[1,2]", "application/json"),
        ("\"str\"", "application/json"),
        ("hello", "text/plain"),
        ("", "application/json"),
    ] {
        let resp = raw(body, ct).await.unwrap();
        let st = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body:?} {ct}: {v}");
        assert!(is_envelope(&v, 400), "{body:?}: {v}");
    }
    // Wrong types are refused, not coerced.
    let (st, v) = s
        .call(
            Method::POST,
            "/api/collections/posts/records",
            None,
            Some(json!({"title": {"a": 1}, "n": "12abc"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["data"]["title"]["code"], "validation_invalid_type");
    assert_eq!(v["data"]["n"]["code"], "validation_invalid_type");

    // Too large bodies: 413, with or without a declared length.
    let big = "x".repeat(2 << 20);
    let resp = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(format!("{{\"title\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(is_envelope(&resp.json().await.unwrap(), 413));
    let stream =
        futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 << 10])));
    let resp = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // NUL characters, which PostgreSQL cannot store: refused on both engines.
    let (st, v) = s
        .call(
            Method::POST,
            "/api/collections/posts/records",
            None,
            Some(json!({"title": "a\u{0}b"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(is_envelope(&v, 400));
    let (st, _) = s.get("/api/collections/posts/records/abc%00", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .list("posts", &[("filter", "title = 'a\u{0}'")], None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Unknown things.
    for path in [
        "/api/collections/nope/records",
        "/api/collections/posts/records/missing",
        "/api/nothing-here",
        "/api/collections/nope/records/x",
    ] {
        let (st, v) = s.get(path, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
        assert!(is_envelope(&v, 404), "{path}: {v}");
    }
    let (st, v) = s
        .call(
            Method::PUT,
            "/api/collections/posts/records",
            None,
            Some(json!({})),
        )
        .await;
    assert!(st.is_client_error(), "{st}");
    assert!(is_envelope(&v, st.as_u16()), "{v}");
}

#[tokio::test]
async fn bad_filters_and_sorts() {
    let s = start().await;
    s.create_collection(
        json!({"name": "posts", "listRule": "", "fields": [{"name": "title", "type": "text"}]}),
    )
    .await;
    for f in [
        "title =",
        "title = 'x' &&",
        "(title = 'x'",
        "nope = 1",
        "title:nope = 1",
        "title = 1e3",
        "// only comment",
        "unknown(title) = 1",
        "title.x = 1",
        "@nope = 1",
        "title = 'x' title = 'y'",
        "tags:each = 1",
        "'a' = 'b' = 'c'",
    ] {
        let (st, v) = s.list("posts", &[("filter", f)], None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{f}: {v}");
        assert!(is_envelope(&v, 400), "{f}: {v}");
    }
    for sort in ["nope", "-", "title,nope", "a,b,c,d,e,f,g,h,i"] {
        let (st, v) = s.list("posts", &[("sort", sort)], None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{sort}: {v}");
    }
    let (st, _) = s.list("posts", &[("page", "abc")], None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn forged_and_expired_tokens_are_guests() {
    let s = start().await;
    s.create_collection(json!({"name": "mine", "listRule": "@request.auth.id != ''", "fields": [{"name": "t", "type": "text"}]})).await;
    s.create_record("mine", json!({"t": "x"})).await;
    let (_, token) = s.user("u@example.com").await;
    let (_, l) = s.list("mine", &[], Some(&token)).await;
    assert_eq!(l["totalItems"], 1);
    let (_, l) = s.list("mine", &[], Some(&format!("Bearer {token}"))).await;
    assert_eq!(l["totalItems"], 1);
    // Tamper with the payload, keep the signature.
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    let wrong_sig = format!("{}.{}.{}", parts[0], parts[1], "AAAA");
    for t in [forged.as_str(), wrong_sig.as_str(), "garbage", "a.b.c", ""] {
        let (st, l) = s.list("mine", &[], Some(t)).await;
        assert_eq!(
            (st, l["totalItems"].clone()),
            (StatusCode::OK, json!(0)),
            "token {t:?}"
        );
    }
    // Guarded endpoints answer 401 for them.
    let (st, v) = s
        .call(
            Method::POST,
            "/api/collections/users/auth-refresh",
            Some(&forged),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(is_envelope(&v, 401));
    let (st, _) = s
        .call(Method::GET, "/api/collections", Some(&forged), None)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // A user token is not a superuser token, even for _superusers' own endpoints.
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/_superusers/auth-refresh",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = s
        .call(
            Method::POST,
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "u@example.com", "password": "wrong"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["message"], "Failed to authenticate.");
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/posts/auth-with-password",
            None,
            Some(json!({"identity": "x", "password": "y"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_openapi() {
    let s = start().await;
    let (st, v) = s.get("/api/health", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        v,
        json!({"message": "API is healthy.", "code": 200, "data": {}})
    );
    let (st, spec) = s.get("/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/health",
        "/api/collections",
        "/api/collections/{collection}/records",
        "/api/collections/{collection}/records/{id}",
        "/api/collections/{collection}/auth-with-password",
    ] {
        assert!(
            spec["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    let resp = s.http.get(format!("{}/docs", s.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("swagger"));
}
