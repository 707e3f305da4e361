//! Bad input of every kind gets a 4xx with the `{status, message, data}` envelope.

use crate::common::*;
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
    // Text that only looks like a NUL is text: `%00` in JSON, an escaped backslash
    // before `u0000`.
    for title in ["100%00", "C:\\u0000"] {
        let (st, v) = s
            .call(
                Method::POST,
                "/api/collections/posts/records",
                None,
                Some(json!({ "title": title })),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{title}: {v}");
        assert_eq!(v["title"], title);
    }
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

/// The JSON body of a raw HTTP/1.1 answer.
fn raw_body(answer: &str) -> Value {
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Slow and silent clients are cut off: headers, bodies and idle keep-alive connections
/// each have a time limit, and past the connection cap a client is told 503 at once.
#[tokio::test]
async fn slow_clients_time_out_and_the_connection_cap_sheds_load() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let s = start_configured(|c| {
        c.http.header_timeout = Duration::from_secs(1);
        c.http.body_timeout = Duration::from_secs(1);
        c.http.max_connections = 8;
    })
    .await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let patience = Duration::from_secs(5);

    // Headers that never finish: the connection is closed.
    let mut sock = TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut sock, patience).await;
    assert!(closed.is_some(), "a half-sent header was not cut off");

    // A body shorter than its Content-Length: 408 with the envelope.
    let mut sock = TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"POST /api/collections/users/auth-with-password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"identity\":")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut sock, patience).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(raw_body(&answer)["status"], 408, "{answer}");
    assert!(closed.is_some());

    // An idle keep-alive connection is closed after the header timeout.
    let mut sock = TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut sock, patience).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed.is_some(),
        "an idle keep-alive connection stayed open"
    );

    // Eight silent connections fill the cap; the ninth is answered 503 and closed.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let (answer, closed) = read_until_closed(&mut extra, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert_eq!(raw_body(&answer)["status"], 503);
    assert!(closed.is_some());
    // Once the silent ones are cut off, the server answers again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (st, _) = s.get("/api/health", None).await;
    assert_eq!(st, StatusCode::OK);
}

/// Sends `request` on a raw socket and reads the whole answer.
async fn raw_exchange(base: &str, request: &[u8]) -> String {
    use tokio::io::AsyncWriteExt;
    let addr = base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = sock.write_all(request).await;
    read_until_closed(&mut sock, std::time::Duration::from_secs(5))
        .await
        .0
}

/// Answers the HTTP layer gives before any route runs still carry the envelope, a 405
/// says which methods the path has, and a superuser-only route says 401 to an anonymous
/// caller before it looks at the input.
#[tokio::test]
async fn answers_outside_the_routes_are_enveloped() {
    let s = start().await;
    let long_uri = format!(
        "GET /api/health?x={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(70_000)
    );
    let big_header = format!(
        "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(200_000)
    );
    for (request, status) in [
        (long_uri.as_bytes(), 414),
        (big_header.as_bytes(), 431),
        (&b"GARBAGE\r\n\r\n"[..], 400),
    ] {
        let answer = raw_exchange(&s.base, request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer:.200}"
        );
        let body = raw_body(&answer);
        assert!(is_envelope(&body, status), "{answer:.300}");
    }
    let resp = s
        .http
        .put(format!("{}/api/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = resp
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(allow.as_deref(), Some("GET, HEAD"));
    let resp = s
        .http
        .delete(format!("{}/api/collections/users/records", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"].to_str().unwrap(), "GET, HEAD, POST");

    // Superuser-only routes: anonymous callers learn nothing about the input first.
    for (method, path, body) in [
        (Method::POST, "/api/collections", "{not json"),
        (Method::PATCH, "/api/settings", "[1]"),
        (Method::GET, "/api/logs?page=-1", ""),
        (
            Method::PUT,
            "/api/collections/import",
            "{\"collections\": 5}",
        ),
    ] {
        let resp = s
            .http
            .request(method.clone(), format!("{}{path}", s.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let st = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{method} {path}: {v}");
        assert!(is_envelope(&v, 401), "{v}");
    }
}
