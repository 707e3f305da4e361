//! The e-mail flows end to end: the server mails a real local SMTP server, the test
//! reads the message, takes the link's token and finishes the flow.

use crate::common::smtp::{ReceivedMail, SmtpSink};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// The token at the end of the link to `page` in a message's text part.
fn token_from(mail: &ReceivedMail, page: &str) -> String {
    let marker = format!("http://app.test/_/#/auth/{page}/");
    let start = mail
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {page} link in: {}", mail.text))
        + marker.len();
    mail.text[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn post(s: &Server, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    s.call(Method::POST, path, token, Some(body)).await
}

async fn record(s: &Server, id: &str) -> Value {
    let (st, rec) = s
        .su(
            Method::GET,
            &format!("/api/collections/users/records/{id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    rec
}

#[tokio::test]
async fn verification() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (uid, _) = s.user("ann@example.com").await;
    let path = "/api/collections/users/request-verification";

    let (st, err) = post(&s, path, None, json!({"email": "not an address"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["data"]["email"]["code"], "validation_is_email");
    // Unknown addresses get the same answer and no message.
    let (st, body) = post(&s, path, None, json!({"email": "nobody@example.com"})).await;
    assert_eq!((st, body), (StatusCode::NO_CONTENT, Value::Null));

    let (st, _) = post(&s, path, None, json!({"email": "ann@example.com"})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mail = sink.wait_for("ann@example.com").await;
    assert!(mail.subject.contains("Acme"), "{}", mail.subject);
    assert!(mail
        .html
        .contains("http://app.test/_/#/auth/confirm-verification/"));
    let token = token_from(&mail, "confirm-verification");

    let confirm = "/api/collections/users/confirm-verification";
    for bad in ["", "garbage", &format!("{token}x")] {
        let (st, err) = post(&s, confirm, None, json!({"token": bad})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(err["data"]["token"]["code"], "validation_invalid_token");
    }
    // A verification token is no auth token, and no token for another collection.
    let (st, _) = s
        .get(
            &format!("/api/collections/users/records/{uid}"),
            Some(&token),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = post(
        &s,
        "/api/collections/_superusers/confirm-verification",
        None,
        json!({"token": token}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    assert_eq!(record(&s, &uid).await["verified"], false);
    let (st, _) = post(&s, confirm, None, json!({"token": token})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(record(&s, &uid).await["verified"], true);
    // Confirming again is harmless, and a verified record gets no more messages.
    let (st, _) = post(&s, confirm, None, json!({"token": token})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = post(&s, path, None, json!({"email": "ann@example.com"})).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        sink.count_for("ann@example.com", Duration::from_millis(300))
            .await,
        0
    );
    assert_eq!(
        sink.count_for("nobody@example.com", Duration::ZERO).await,
        0
    );
}

#[tokio::test]
async fn password_reset() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (uid, old_token) = s.user("bob@example.com").await;
    let (st, _) = post(
        &s,
        "/api/collections/users/request-password-reset",
        None,
        json!({"email": "bob@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let token = token_from(
        &sink.wait_for("bob@example.com").await,
        "confirm-password-reset",
    );
    let confirm = "/api/collections/users/confirm-password-reset";
    let (st, err) = post(
        &s,
        confirm,
        None,
        json!({"token": token, "password": "new-password-1", "passwordConfirm": "other-password"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["data"]["passwordConfirm"]["code"],
        "validation_values_mismatch"
    );
    let (st, err) = post(
        &s,
        confirm,
        None,
        json!({"token": token, "password": "short", "passwordConfirm": "short"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(err["data"]["password"]["code"].is_string(), "{err}");

    let good =
        json!({"token": token, "password": "new-password-1", "passwordConfirm": "new-password-1"});
    let (st, _) = post(&s, confirm, None, good.clone()).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // Single use: the token key rotated with the password.
    let (st, err) = post(&s, confirm, None, good).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["data"]["token"]["code"], "validation_invalid_token");

    assert_eq!(
        s.login("users", "bob@example.com", "password123").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        s.login("users", "bob@example.com", "new-password-1")
            .await
            .0,
        StatusCode::OK
    );
    let (st, _) = post(
        &s,
        "/api/collections/users/auth-refresh",
        Some(&old_token),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Reading the mail proved the address.
    assert_eq!(record(&s, &uid).await["verified"], true);
}

#[tokio::test]
async fn email_change() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (uid, token) = s.user("cat@example.com").await;
    s.user("taken@example.com").await;
    let path = "/api/collections/users/request-email-change";

    let (st, _) = post(&s, path, None, json!({"newEmail": "new@example.com"})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let su = s.su_token.clone();
    let (st, _) = post(&s, path, Some(&su), json!({"newEmail": "new@example.com"})).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a superuser is not a users record"
    );
    for bad in ["nope", "taken@example.com", "cat@example.com"] {
        let (st, err) = post(&s, path, Some(&token), json!({"newEmail": bad})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
        assert!(err["data"]["newEmail"]["code"].is_string(), "{err}");
    }
    let (st, _) = post(
        &s,
        path,
        Some(&token),
        json!({"newEmail": "new@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let change = token_from(
        &sink.wait_for("new@example.com").await,
        "confirm-email-change",
    );

    let confirm = "/api/collections/users/confirm-email-change";
    let (st, err) = post(
        &s,
        confirm,
        None,
        json!({"token": change, "password": "wrong-password"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["data"]["password"]["code"],
        "validation_invalid_password"
    );
    let (st, _) = post(
        &s,
        confirm,
        None,
        json!({"token": change, "password": "password123"}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let rec = record(&s, &uid).await;
    assert_eq!(
        (rec["email"].clone(), rec["verified"].clone()),
        (json!("new@example.com"), json!(true))
    );
    // The old session and the link are spent; the new address logs in.
    let (st, _) = post(
        &s,
        "/api/collections/users/auth-refresh",
        Some(&token),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, err) = post(
        &s,
        confirm,
        None,
        json!({"token": change, "password": "password123"}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["data"]["token"]["code"], "validation_invalid_token");
    assert_eq!(
        s.login("users", "new@example.com", "password123").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_smtp_requests_still_succeed() {
    let s = start().await;
    s.user("dan@example.com").await;
    for (path, body) in [
        ("request-verification", json!({"email": "dan@example.com"})),
        (
            "request-password-reset",
            json!({"email": "dan@example.com"}),
        ),
    ] {
        let (st, _) = post(&s, &format!("/api/collections/users/{path}"), None, body).await;
        assert_eq!(st, StatusCode::NO_CONTENT, "{path}");
    }
    let (st, err) = s
        .su(
            Method::POST,
            "/api/settings/test/email",
            Some(json!({"email": "ops@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not configured"),
        "{err}"
    );
}

#[tokio::test]
async fn test_email_and_custom_templates() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (_, user) = s.user("eve@example.com").await;
    let path = "/api/settings/test/email";
    let (st, _) = s
        .call(
            Method::POST,
            path,
            Some(&user),
            Some(json!({"email": "ops@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s
        .su(
            Method::POST,
            path,
            Some(json!({"email": "ops@example.com"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(sink
        .wait_for("ops@example.com")
        .await
        .text
        .contains("SMTP settings work"));
    let (st, _) = s
        .su(
            Method::POST,
            path,
            Some(json!({"email": "ops@example.com", "template": "bogus"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // A collection's own template, with placeholders filled and values escaped.
    let (st, c) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({"verificationTemplate": {
                "subject": "Welcome, {RECORD:name}",
                "body": "<p>{APP_NAME} says: verify at {APP_URL}/verify?t={TOKEN}</p>"
            }})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        c["verificationTemplate"]["subject"],
        "Welcome, {RECORD:name}"
    );
    let (st, _) = post(
        &s,
        "/api/collections/users/request-verification",
        None,
        json!({"email": "eve@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mail = sink.wait_for("eve@example.com").await;
    assert_eq!(mail.subject, "Welcome, eve@example.com");
    assert!(
        mail.text
            .starts_with("Acme says: verify at http://app.test/verify?t=ey"),
        "{}",
        mail.text
    );
    let token = mail
        .text
        .rsplit("t=")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let (st, _) = post(
        &s,
        "/api/collections/users/confirm-verification",
        None,
        json!({"token": token}),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
}
