//! Auth endpoints beyond password login: auth-methods, impersonation, refresh of
//! non-refreshable tokens, and who may change e-mail, verified and password.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The claims of a JWT, read without verifying it (the server verifies).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64_url_decode(payload);
    serde_json::from_slice(&bytes).unwrap()
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let Some(v) = table.iter().position(|&t| t == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[tokio::test]
async fn auth_methods() {
    let s = start().await;
    let (st, m) = s
        .get(
            "/api/collections/users/auth-methods?fields=mfa,otp,password,oauth2",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        m["password"],
        json!({"enabled": true, "identityFields": ["email"]})
    );
    assert_eq!(m["oauth2"]["enabled"], false);
    assert!(m.get("emailPassword").is_none());
    let (_, m) = s.get("/api/collections/users/auth-methods", None).await;
    assert_eq!(
        (m["emailPassword"].clone(), m["usernamePassword"].clone()),
        (json!(true), json!(false))
    );
    s.create_collection(json!({"name": "posts"})).await;
    let (st, err) = s.get("/api/collections/posts/auth-methods", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        err["message"],
        "Missing or invalid auth collection context."
    );
}

#[tokio::test]
async fn impersonation_and_refresh() {
    let s = start().await;
    let (uid, user) = s.user("u@example.com").await;
    let path = format!("/api/collections/users/impersonate/{uid}");
    let (st, _) = s.call(Method::POST, &path, None, Some(json!({}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .call(Method::POST, &path, Some(&user), Some(json!({})))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = s
        .su(Method::POST, &path, Some(json!({"duration": 60})))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["record"]["id"], json!(uid));
    let token = body["token"].as_str().unwrap().to_string();
    let c = claims(&token);
    assert_eq!(
        (c["refreshable"].clone(), c["type"].clone(), c["id"].clone()),
        (json!(false), json!("auth"), json!(uid))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = c["exp"].as_u64().unwrap();
    assert!(exp > now + 50 && exp <= now + 61, "exp {exp} vs now {now}");
    // The token works, and refreshing it gives it back unchanged.
    let (st, me) = s
        .get(
            &format!("/api/collections/users/records/{uid}"),
            Some(&token),
        )
        .await;
    assert_eq!(
        (st, me["email"].clone()),
        (StatusCode::OK, json!("u@example.com"))
    );
    let (st, r) = s
        .call(
            Method::POST,
            "/api/collections/users/auth-refresh",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(r["token"], json!(token));
    // A normal token refreshes into a new, refreshable one.
    let (_, r) = s
        .call(
            Method::POST,
            "/api/collections/users/auth-refresh",
            Some(&user),
            None,
        )
        .await;
    assert_eq!(claims(r["token"].as_str().unwrap())["refreshable"], true);
    // Impersonating a missing record: 404; a null body: the collection's duration.
    let (st, _) = s
        .su(
            Method::POST,
            "/api/collections/users/impersonate/missing00000000",
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body) = s.su(Method::POST, &path, Some(Value::Null)).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let exp = claims(body["token"].as_str().unwrap())["exp"]
        .as_u64()
        .unwrap();
    assert!(exp > now + 400_000, "default users token lasts 432000 s");
}

#[tokio::test]
async fn who_may_change_email_verified_and_password() {
    let s = start().await;
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({
                "updateRule": "id = @request.auth.id || @request.auth.email = 'boss@example.com'",
                "viewRule": "id = @request.auth.id || @request.auth.email = 'boss@example.com'",
                "manageRule": "@request.auth.email = 'boss@example.com'"
            })),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (uid, user) = s.user("u@example.com").await;
    let (_, boss) = s.user("boss@example.com").await;
    let path = format!("/api/collections/users/records/{uid}");

    // The owner cannot change their e-mail or verified state directly.
    let (st, err) = s
        .call(
            Method::PATCH,
            &path,
            Some(&user),
            Some(json!({"email": "new@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["data"]["email"]["code"], "validation_values_mismatch");
    let (st, _) = s
        .call(
            Method::PATCH,
            &path,
            Some(&user),
            Some(json!({"verified": true})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // Sending the same e-mail is not a change.
    let (st, _) = s
        .call(
            Method::PATCH,
            &path,
            Some(&user),
            Some(json!({"email": "u@example.com", "name": "U"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // A manager may, and may set a password without the old one.
    let (st, r) = s
        .call(
            Method::PATCH,
            &path,
            Some(&boss),
            Some(json!({"email": "moved@example.com", "verified": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (r["email"].clone(), r["verified"].clone()),
        (json!("moved@example.com"), json!(true))
    );
    let (st, _) = s
        .call(
            Method::PATCH,
            &path,
            Some(&boss),
            Some(json!({"password": "managed-pass-1", "passwordConfirm": "managed-pass-1"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/users/auth-with-password",
            None,
            Some(json!({"identity": "moved@example.com", "password": "managed-pass-1"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // And so may a superuser.
    let (st, _) = s
        .su(
            Method::PATCH,
            &path,
            Some(json!({"email": "again@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn auth_endpoints_are_rate_limited_per_ip() {
    let s = start().await;
    s.user("rl@example.com").await;
    let patch = json!({"rateLimits": {"enabled": true, "rules": [
        {"label": "*:auth", "audience": "", "duration": 60, "maxRequests": 2},
        {"label": "/api/", "audience": "", "duration": 60, "maxRequests": 1000},
    ]}});
    let (st, b) = s.su(Method::PATCH, "/api/settings", Some(patch)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    for _ in 0..2 {
        assert_eq!(
            s.login("users", "rl@example.com", "wrong-password").await.0,
            StatusCode::BAD_REQUEST
        );
    }
    let resp = s
        .http
        .post(format!(
            "{}/api/collections/users/auth-with-password",
            s.base
        ))
        .json(&json!({"identity": "rl@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": 429, "message": "Too Many Requests.", "data": {}})
    );
    // Other routes go by their own rule.
    assert_eq!(s.get("/api/health", None).await.0, StatusCode::OK);
    // Excluded addresses are not counted.
    let patch = json!({"rateLimits": {"excludedIPs": ["127.0.0.1"]}});
    assert_eq!(
        s.su(Method::PATCH, "/api/settings", Some(patch)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.login("users", "rl@example.com", "password123").await.0,
        StatusCode::OK
    );
}

/// `X-Forwarded-For` counts only from a configured proxy: from anyone else a client
/// cannot pick a fresh address per request to escape its limit.
#[tokio::test]
async fn proxy_headers_count_only_from_trusted_proxies() {
    let s = start().await;
    s.user("px@example.com").await;
    let limits = json!({"enabled": true, "rules": [
        {"label": "*:auth", "audience": "", "duration": 60, "maxRequests": 2},
        {"label": "/api/", "audience": "", "duration": 60, "maxRequests": 1000},
    ]});
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"rateLimits": limits,
                "trustedProxy": {"headers": ["X-Forwarded-For"], "ips": ["10.1.2.3", "192.168.0.0/16"]}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let attempt = |n: usize| {
        let s = &s;
        async move {
            s.http
                .post(format!(
                    "{}/api/collections/users/auth-with-password",
                    s.base
                ))
                .header("x-forwarded-for", format!("203.0.113.{n}"))
                .json(&json!({"identity": "px@example.com", "password": "wrong-password"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The test's peer (127.0.0.1) is not a listed proxy: one bucket, whatever the header.
    assert_eq!(attempt(1).await, StatusCode::BAD_REQUEST);
    assert_eq!(attempt(2).await, StatusCode::BAD_REQUEST);
    assert_eq!(attempt(3).await, StatusCode::TOO_MANY_REQUESTS);

    // Listed as a proxy, its header names the client: each address has its own bucket,
    // and the rightmost address that is not a proxy is the client.
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"trustedProxy": {"ips": ["127.0.0.0/8"]}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    for n in 10..14 {
        assert_eq!(attempt(n).await, StatusCode::BAD_REQUEST, "client {n}");
    }

    // Entries must be addresses or ranges.
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"trustedProxy": {"ips": ["10.0.0.0/33"]}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        b["data"]["trustedProxy"]["ips"]["code"],
        "validation_invalid_ip"
    );
}

/// Whoever satisfies `manageRule` sees the e-mail of the records they manage on every
/// path, not only in `view`: lists, expand, write responses, batch and realtime all
/// present records through one function.
#[tokio::test]
async fn managers_see_emails_on_every_path() {
    use crate::common::sse::SseClient;
    let s = start().await;
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({
                "listRule": "", "viewRule": "",
                "updateRule": "id = @request.auth.id || @request.auth.email = 'boss@example.com'",
                "manageRule": "@request.auth.email = 'boss@example.com'"
            })),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    s.create_collection(json!({
        "name": "notes", "listRule": "", "viewRule": "",
        "fields": [{"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1}]
    }))
    .await;
    let (uid, _) = s.user("u@example.com").await;
    let (_, boss) = s.user("boss@example.com").await;
    let (_, peer) = s.user("peer@example.com").await;
    s.create_record("notes", json!({"author": uid})).await;
    let email_of = |v: &Value| v.get("email").cloned().unwrap_or(Value::Null);

    for (token, sees) in [(&boss, true), (&peer, false)] {
        let want = if sees {
            json!("u@example.com")
        } else {
            Value::Null
        };
        let (_, list) = s
            .get(
                &format!("/api/collections/users/records?filter=id='{uid}'"),
                Some(token),
            )
            .await;
        assert_eq!(email_of(&list["items"][0]), want, "list: {list}");
        let (_, one) = s
            .get(
                &format!("/api/collections/users/records/{uid}"),
                Some(token),
            )
            .await;
        assert_eq!(email_of(&one), want, "view");
        let (_, notes) = s
            .get("/api/collections/notes/records?expand=author", Some(token))
            .await;
        assert_eq!(
            email_of(&notes["items"][0]["expand"]["author"]),
            want,
            "expand"
        );
    }
    // A manager's write answers and batch answers.
    let (st, r) = s
        .call(
            Method::PATCH,
            &format!("/api/collections/users/records/{uid}"),
            Some(&boss),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(email_of(&r), json!("u@example.com"), "update response");
    let (st, r) = s
        .call(
            Method::POST,
            "/api/batch",
            Some(&boss),
            Some(json!({"requests": [{"method": "PATCH", "url": format!("/api/collections/users/records/{uid}"), "body": {"name": "Again"}}]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(email_of(&r[0]["body"]), json!("u@example.com"), "batch");
    // Realtime.
    let mut c = SseClient::connect(&s.base).await;
    let (st, _) = s
        .call(
            Method::POST,
            "/api/realtime",
            Some(&boss),
            Some(json!({"clientId": c.id, "subscriptions": ["users/*"]})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .su(
            Method::PATCH,
            &format!("/api/collections/users/records/{uid}"),
            Some(json!({"name": "Live"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = c.next().await.expect("an event");
    assert_eq!(
        email_of(&f.data["record"]),
        json!("u@example.com"),
        "realtime"
    );
}
