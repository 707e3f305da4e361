//! One-time passwords by e-mail (single use, expiring, attempt-limited), MFA both ways
//! round, the MFA rule and the auth rule.

use crate::common::smtp::SmtpSink;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn post(s: &Server, path: &str, body: Value) -> (StatusCode, Value) {
    s.call(Method::POST, path, None, Some(body)).await
}

async fn patch_users(s: &Server, body: Value) {
    let (st, b) = s
        .su(Method::PATCH, "/api/collections/users", Some(body))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

/// The `len`-digit code in a message.
fn code_in(mail: &crate::common::smtp::ReceivedMail, len: usize) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.len() == len && w.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no {len}-digit code in: {}", mail.text))
        .to_string()
}

/// Asks for a code for `email`; returns (otpId, code from the e-mail).
async fn otp_for(s: &Server, sink: &SmtpSink, email: &str) -> (String, String) {
    let (st, b) = post(
        s,
        "/api/collections/users/request-otp",
        json!({"email": email}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let code = code_in(&sink.wait_for(email).await, 8);
    (b["otpId"].as_str().unwrap_or_default().to_string(), code)
}

async fn with_otp(s: &Server, otp_id: &str, code: &str) -> (StatusCode, Value) {
    post(
        s,
        "/api/collections/users/auth-with-otp",
        json!({"otpId": otp_id, "password": code}),
    )
    .await
}

#[tokio::test]
async fn otp_login() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (uid, _) = s.user("otp@example.com").await;
    let (st, err) = post(
        &s,
        "/api/collections/users/request-otp",
        json!({"email": "otp@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(err["message"].as_str().unwrap_or_default().contains("OTP"));

    patch_users(&s, json!({"otp": {"enabled": true}})).await;
    let (_, methods) = s
        .get("/api/collections/users/auth-methods?fields=otp", None)
        .await;
    assert_eq!(methods, json!({"otp": {"enabled": true, "duration": 180}}));

    // Unknown addresses get an id too, which matches nothing.
    let (st, b) = post(
        &s,
        "/api/collections/users/request-otp",
        json!({"email": "ghost@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let ghost = b["otpId"].as_str().unwrap_or_default().to_string();
    assert_eq!(ghost.len(), 15);
    let (st, err) = with_otp(&s, &ghost, "12345678").await;
    assert_eq!(
        (st, err["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid or expired OTP."))
    );

    let (otp_id, code) = otp_for(&s, &sink, "otp@example.com").await;
    let (st, _) = with_otp(&s, &otp_id, "00000000").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, auth) = with_otp(&s, &otp_id, &code).await;
    assert_eq!(st, StatusCode::OK, "{auth}");
    assert_eq!(auth["record"]["id"], json!(uid));
    assert!(auth["token"].as_str().is_some_and(|t| t.len() > 20));
    // Used up.
    assert_eq!(
        with_otp(&s, &otp_id, &code).await.0,
        StatusCode::BAD_REQUEST
    );
    // The code proved the address; the password someone may have pre-registered with is gone.
    assert_eq!(auth["record"]["verified"], true);
    assert_eq!(
        s.login("users", "otp@example.com", "password123").await.0,
        StatusCode::BAD_REQUEST
    );

    // Codes are only for their own collection.
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/_superusers",
            Some(json!({"otp": {"enabled": true}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (otp_id, code) = otp_for(&s, &sink, "otp@example.com").await;
    let (st, _) = post(
        &s,
        "/api/collections/_superusers/auth-with-otp",
        json!({"otpId": otp_id, "password": code}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(with_otp(&s, &otp_id, &code).await.0, StatusCode::OK);
}

#[tokio::test]
async fn otp_attempts_and_expiry() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    s.user("try@example.com").await;
    patch_users(&s, json!({"otp": {"enabled": true, "length": 6}})).await;
    let (st, b) = post(
        &s,
        "/api/collections/users/request-otp",
        json!({"email": "try@example.com"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let otp_id = b["otpId"].as_str().unwrap_or_default().to_string();
    let code = code_in(&sink.wait_for("try@example.com").await, 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            with_otp(&s, &otp_id, wrong).await.0,
            StatusCode::BAD_REQUEST
        );
    }
    // Five wrong guesses burn the code, right or not.
    assert_eq!(
        with_otp(&s, &otp_id, &code).await.0,
        StatusCode::BAD_REQUEST
    );

    patch_users(&s, json!({"otp": {"duration": 1, "length": 8}})).await;
    let (otp_id, code) = otp_for(&s, &sink, "try@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        with_otp(&s, &otp_id, &code).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn mfa_both_ways() {
    let s = start().await;
    let sink = SmtpSink::start().await;
    s.use_smtp(&sink).await;
    let (uid, _) = s.user("mfa@example.com").await;
    let (other, _) = s.user("other@example.com").await;
    patch_users(
        &s,
        json!({"otp": {"enabled": true}, "mfa": {"enabled": true}}),
    )
    .await;

    // Password first, then a code.
    let (st, first) = s.login("users", "mfa@example.com", "password123").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let mfa_id = first["mfaId"].as_str().expect("mfaId").to_string();
    assert_eq!(
        first.as_object().map(|o| o.len()),
        Some(1),
        "no envelope: {first}"
    );
    let (st, err) = post(
        &s,
        "/api/collections/users/auth-with-password",
        json!({"identity": "mfa@example.com", "password": "password123", "mfaId": mfa_id}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["message"],
        "A different authentication method is required."
    );
    let (otp_id, code) = otp_for(&s, &sink, "mfa@example.com").await;
    let (st, done) = post(
        &s,
        "/api/collections/users/auth-with-otp",
        json!({"otpId": otp_id, "password": code, "mfaId": mfa_id}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(done["record"]["id"], json!(uid));

    // A code first, then the password, with the mfaId in the query string.
    let (otp_id, code) = otp_for(&s, &sink, "mfa@example.com").await;
    let (st, first) = with_otp(&s, &otp_id, &code).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let mfa_id = first["mfaId"].as_str().expect("mfaId").to_string();
    // Someone else's password does not finish this login.
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/api/collections/users/auth-with-password?mfaId={mfa_id}"),
            None,
            Some(json!({"identity": "other@example.com", "password": "password123"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "{other}'s factor used {uid}'s session"
    );
    let (st, done) = s
        .call(
            Method::POST,
            &format!("/api/collections/users/auth-with-password?mfaId={mfa_id}"),
            None,
            Some(json!({"identity": "mfa@example.com", "password": "password123"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{done}");
    // The session is spent.
    let (st, err) = post(
        &s,
        "/api/collections/users/auth-with-password",
        json!({"identity": "mfa@example.com", "password": "password123", "mfaId": mfa_id}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["message"], "Invalid or expired MFA session.");
}

#[tokio::test]
async fn mfa_rule_and_auth_rule() {
    let s = start().await;
    s.user("plain@example.com").await;
    s.user("guarded@example.com").await;
    patch_users(
        &s,
        json!({"mfa": {"enabled": true, "rule": "email ~ 'guarded'"}}),
    )
    .await;
    assert_eq!(
        s.login("users", "plain@example.com", "password123").await.0,
        StatusCode::OK
    );
    assert_eq!(
        s.login("users", "guarded@example.com", "password123")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({"mfa": {"rule": "nope ="}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");

    patch_users(
        &s,
        json!({"mfa": {"enabled": false}, "authRule": "verified = true"}),
    )
    .await;
    let (st, err) = s.login("users", "plain@example.com", "password123").await;
    assert_eq!(
        (st, err["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Failed to authenticate."))
    );
    patch_users(&s, json!({"authRule": null})).await;
    assert_eq!(
        s.login("users", "plain@example.com", "password123").await.0,
        StatusCode::BAD_REQUEST
    );
    patch_users(&s, json!({"authRule": ""})).await;
    assert_eq!(
        s.login("users", "plain@example.com", "password123").await.0,
        StatusCode::OK
    );
}
