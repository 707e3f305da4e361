//! The dashboard at `/_/`: served from the binary, the first-run installer token, and
//! `admin-ui/tests/` driving Debian's chromium (playwright-core) through the screens:
//! log in, build a collection, add/edit/filter/delete records, change a rule and see
//! it in the REST API, change settings. Screenshots go to `admin-ui/test-output/`.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn the_dashboard_is_served_and_a_fresh_install_gets_an_installer_token() {
    let token = Arc::new(Mutex::new(None::<String>));
    let keep = token.clone();
    let s = start_fresh(move |app| async move {
        let t = framework::auth::installer(&app).await.expect("installer");
        *keep.lock().expect("lock") = t;
    })
    .await;
    let token = token
        .lock()
        .expect("lock")
        .clone()
        .expect("a fresh install has a token");

    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = no_redirect
        .get(format!("{}/_", s.base))
        .send()
        .await
        .expect("get /_");
    assert_eq!(r.status(), StatusCode::FOUND);
    let r = s
        .http
        .get(format!("{}/_/", s.base))
        .send()
        .await
        .expect("get /_/");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap_or_default()
        .contains("<div id=\"app\">"));

    // Anything else is not a superuser; the installer token is, once.
    let (st, _) = s.get("/api/collections", Some("not-the-token")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, b) = s
        .call(
            Method::POST,
            "/api/collections/_superusers/records",
            Some(&token),
            Some(json!({"email": "first@example.com", "password": "first-password", "passwordConfirm": "first-password"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, _) = s.get("/api/collections", Some(&token)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "dead once a superuser exists");
    let (st, _) = s
        .login("_superusers", "first@example.com", "first-password")
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_the_dashboard_in_a_browser() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("admin-ui");
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "run `npm ci --prefix crates/framework/admin-ui` (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Debian's chromium is needed (apt-get install chromium; .ci/run does)"
    );
    let s = start().await;
    let base = s.base.clone();
    // A password-reset link, as the e-mail would carry it, for the confirm page.
    let (uid, _) = s.user("reader@example.com").await;
    let users = s.app.collection("users").expect("users");
    let reset = framework::auth::new_record_token(
        &s.app,
        &users,
        &uid,
        framework::auth::TokenType::PasswordReset,
    )
    .await
    .expect("token");
    let env = vec![
        ("GATHER_URL", base),
        ("APP_NAME", s.app.config().name.clone()),
        ("SU_EMAIL", SU_EMAIL.to_string()),
        ("SU_PASSWORD", SU_PASSWORD.to_string()),
        ("CHROMIUM", chromium),
        ("OUTPUT", ui.join("test-output").display().to_string()),
        ("RESET_TOKEN", reset),
        ("RESET_EMAIL", "reader@example.com".to_string()),
    ];
    run_node_tests(ui, "tests/", env, 5).await;
}
