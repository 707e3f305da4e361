//! OAuth2 end to end against a local OpenID Connect provider started by the test:
//! auth-methods → authorize → code → token → user info → record created and linked.

use crate::common::oauth::{MockProvider, CLIENT_ID, CLIENT_SECRET};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const REDIRECT: &str = "http://client.test/oauth2-callback";

async fn enable(s: &Server, providers: Value) {
    let (st, c) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({"oauth2": {"enabled": true, "mappedFields": {"name": "name"}, "providers": providers}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let p = &c["oauth2"]["providers"][0];
    assert!(p.get("clientSecret").is_none(), "secret leaked: {p}");
}

fn oidc(mock: &MockProvider) -> Value {
    json!([{
        "name": "oidc",
        "displayName": "Test IdP",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "extra": {"discoveryURL": format!("{}/.well-known/openid-configuration", mock.base)},
    }])
}

/// The provider entry `auth-methods` offers now.
async fn offer(s: &Server) -> Value {
    let (st, m) = s
        .get("/api/collections/users/auth-methods?fields=oauth2", None)
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    m["oauth2"]["providers"][0].clone()
}

/// What a browser does: open the authorization URL (plus the client's redirect URL) and
/// follow the provider's redirect back; returns the code and the state it came with.
async fn authorize(offer: &Value) -> (String, String) {
    let url = format!("{}{}", offer["authURL"].as_str().unwrap(), REDIRECT);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser.get(&url).send().await.expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND, "{url}");
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT), "{location}");
    let back = url::Url::parse(&location).unwrap();
    let q: std::collections::HashMap<String, String> = back.query_pairs().into_owned().collect();
    (q["code"].clone(), q["state"].clone())
}

async fn login(s: &Server, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        "/api/collections/users/auth-with-oauth2",
        token,
        Some(body),
    )
    .await
}

/// One whole login: offer, browser round trip, code exchange.
async fn full_login(s: &Server, provider: &str, token: Option<&str>) -> (StatusCode, Value) {
    let o = offer(s).await;
    let (code, state) = authorize(&o).await;
    assert_eq!(state, o["state"], "the client checks the state it sent");
    login(
        s,
        token,
        json!({"provider": provider, "code": code, "codeVerifier": o["codeVerifier"], "redirectURL": REDIRECT, "createData": {}}),
    )
    .await
}

#[tokio::test]
async fn oidc_sign_up_then_log_in() {
    let s = start().await;
    let mock = MockProvider::start().await;
    mock.set_user(json!({"sub": "u-1", "name": "Olga", "preferred_username": "olga", "email": "olga@example.com", "email_verified": true, "picture": "http://img.test/o.png"}));

    let (st, err) = login(&s, None, json!({"provider": "oidc", "code": "x"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{err}");
    enable(&s, oidc(&mock)).await;

    let o = offer(&s).await;
    assert_eq!(o["name"], "oidc");
    assert_eq!(o["displayName"], "Test IdP");
    assert_eq!(o["codeChallengeMethod"], "S256");
    let auth_url = o["authURL"].as_str().unwrap();
    assert!(
        auth_url.starts_with(&format!("{}/authorize?", mock.base))
            && auth_url.ends_with("&redirect_uri="),
        "{auth_url}"
    );
    assert!(auth_url.contains(o["codeChallenge"].as_str().unwrap()));

    let (code, _) = authorize(&o).await;
    let body = json!({"provider": "oidc", "code": code, "codeVerifier": o["codeVerifier"], "redirectURL": REDIRECT, "createData": {"emailVisibility": true}});
    let (st, first) = login(&s, None, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    assert_eq!(first["meta"]["isNew"], true);
    assert_eq!(first["meta"]["id"], "u-1");
    assert_eq!(
        first["meta"]["accessToken"]
            .as_str()
            .map(|t| t.starts_with("access-")),
        Some(true)
    );
    let rec = &first["record"];
    assert_eq!(rec["email"], "olga@example.com");
    assert_eq!(rec["verified"], true);
    assert_eq!(rec["name"], "Olga");
    assert_eq!(rec["emailVisibility"], true);
    // A code works once.
    let (st, _) = login(&s, None, body).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, again) = full_login(&s, "oidc", None).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["meta"]["isNew"], false);
    assert_eq!(again["record"]["id"], rec["id"]);

    // The link is the record's own to see.
    let token = again["token"].as_str().unwrap().to_string();
    let (_, links) = s.list("_externalAuths", &[], Some(&token)).await;
    assert_eq!(links["totalItems"], 1, "{links}");
    assert_eq!(links["items"][0]["provider"], "oidc");
    let (_, other) = s.user("someone@example.com").await;
    let (_, links) = s.list("_externalAuths", &[], Some(&other)).await;
    assert_eq!(links["totalItems"], 0);
}

#[tokio::test]
async fn pkce_redirect_and_provider_mismatches_are_refused() {
    let s = start().await;
    let mock = MockProvider::start().await;
    mock.set_user(json!({"sub": "u-2", "email": "p@example.com", "email_verified": true}));
    enable(&s, oidc(&mock)).await;

    // The verifier of another offer does not match this code's challenge.
    let o1 = offer(&s).await;
    let o2 = offer(&s).await;
    assert_ne!(o1["codeVerifier"], o2["codeVerifier"]);
    assert_ne!(o1["state"], o2["state"]);
    let (code, _) = authorize(&o1).await;
    let (st, err) = login(&s, None, json!({"provider": "oidc", "code": code, "codeVerifier": o2["codeVerifier"], "redirectURL": REDIRECT})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["message"], "Failed to fetch OAuth2 token.");

    let (code, _) = authorize(&o1).await;
    let (st, _) = login(&s, None, json!({"provider": "oidc", "code": code, "codeVerifier": o1["codeVerifier"], "redirectURL": "http://evil.test/cb"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, err) = login(&s, None, json!({"provider": "github", "code": "x"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("missing or is not enabled"));
    let (st, err) = s
        .su(
            Method::PATCH,
            "/api/collections/users",
            Some(json!({"oauth2": {"providers": [{"name": "myspace"}]}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["data"]["oauth2"]["code"], "validation_invalid_provider");
    // No record was created by any of this.
    let (_, users) = s
        .su(Method::GET, "/api/collections/users/records", None)
        .await;
    assert_eq!(users["totalItems"], 0);
}

#[tokio::test]
async fn github_preset_links_by_verified_email_and_to_the_caller() {
    let s = start().await;
    let mock = MockProvider::start().await;
    let (uid, _) = s.user("octo@example.com").await;
    enable(
        &s,
        json!([{
            "name": "github",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "authURL": format!("{}/authorize", mock.base),
            "tokenURL": format!("{}/token", mock.base),
            "userInfoURL": format!("{}/user", mock.base),
        }]),
    )
    .await;
    // Updating a provider without its secret keeps the secret.
    let (st, _) = s
        .su(Method::PATCH, "/api/collections/users", Some(json!({"oauth2": {"providers": [{"name": "github", "clientId": CLIENT_ID, "authURL": format!("{}/authorize", mock.base), "tokenURL": format!("{}/token", mock.base), "userInfoURL": format!("{}/user", mock.base)}]}})))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, legacy) = s.get("/api/collections/users/auth-methods", None).await;
    assert_eq!(legacy["authProviders"][0]["displayName"], "GitHub");

    // The private, verified primary address comes from /user/emails and matches the
    // existing account: it is linked, verified, and its old password is gone.
    mock.set_user(json!({"sub": "4242", "preferred_username": "octo", "name": "Octo", "email": "octo@example.com", "email_verified": true}));
    let (st, r) = full_login(&s, "github", None).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (r["meta"]["isNew"].clone(), r["record"]["id"].clone()),
        (json!(false), json!(uid))
    );
    assert_eq!(r["meta"]["username"], "octo");
    assert_eq!(r["meta"]["id"], "4242");
    assert_eq!(r["record"]["verified"], true);
    assert_eq!(
        s.login("users", "octo@example.com", "password123").await.0,
        StatusCode::BAD_REQUEST
    );

    // A logged-in user adds a provider account whose address is not verified.
    let (other_id, other) = s.user("other@example.com").await;
    mock.set_user(json!({"sub": "777", "preferred_username": "o2", "email": "unverified@example.com", "email_verified": false}));
    let (st, r) = full_login(&s, "github", Some(&other)).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["record"]["id"], json!(other_id));
    assert_eq!(r["meta"]["email"], "");
    // And without a session, an unverified address links nothing: a new account,
    // with the address it asked for, unverified.
    mock.set_user(json!({"sub": "888", "preferred_username": "o3", "email": "other@example.com", "email_verified": false}));
    let o = offer(&s).await;
    let (code, _) = authorize(&o).await;
    let (st, r) = login(&s, None, json!({"provider": "github", "code": code, "codeVerifier": o["codeVerifier"], "redirectURL": REDIRECT, "createData": {"email": "new@example.com"}})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["meta"]["isNew"], true);
    assert_eq!(
        (
            r["record"]["email"].clone(),
            r["record"]["verified"].clone()
        ),
        (json!("new@example.com"), json!(false))
    );
}

/// Runs raw SQL against the test's database (fault injection).
async fn sql(s: &Server, statements: &[&str]) {
    let d = s.app.dialect();
    for st in statements {
        s.app.db().execute(d.raw(*st, vec![])).await.expect(st);
    }
}

/// A first login writes the new record (or the claim of an existing one) and its link in
/// one transaction: a failure while linking leaves nothing behind.
#[tokio::test]
async fn a_failed_link_leaves_no_account_behind() {
    let s = start().await;
    let mock = MockProvider::start().await;
    enable(&s, oidc(&mock)).await;
    let (fail, heal): (&[&str], &[&str]) = if is_postgres() {
        (
            &[
                "CREATE FUNCTION gather_test_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER fail_links BEFORE INSERT ON \"_externalAuths\" FOR EACH ROW EXECUTE FUNCTION gather_test_fail()",
            ],
            &["DROP TRIGGER fail_links ON \"_externalAuths\""],
        )
    } else {
        (
            &["CREATE TRIGGER fail_links BEFORE INSERT ON \"_externalAuths\" BEGIN SELECT RAISE(ABORT, 'injected failure'); END"],
            &["DROP TRIGGER fail_links"],
        )
    };
    sql(&s, fail).await;

    // A new account.
    mock.set_user(
        json!({"sub": "n-1", "name": "Nina", "email": "nina@example.com", "email_verified": true}),
    );
    let (st, b) = full_login(&s, "oidc", None).await;
    assert!(!st.is_success(), "{b}");
    let (_, found) = s
        .su(
            Method::GET,
            "/api/collections/users/records?filter=email='nina@example.com'",
            None,
        )
        .await;
    assert_eq!(
        found["totalItems"], 0,
        "no record without its link: {found}"
    );

    // An existing, unverified account the provider vouches for.
    let rec = s
        .create_record(
            "users",
            json!({"email": "vera@example.com", "password": "password123", "passwordConfirm": "password123"}),
        )
        .await;
    mock.set_user(json!({"sub": "v-1", "email": "vera@example.com", "email_verified": true}));
    let (st, b) = full_login(&s, "oidc", None).await;
    assert!(!st.is_success(), "{b}");
    let path = format!(
        "/api/collections/users/records/{}",
        rec["id"].as_str().unwrap()
    );
    let (_, after) = s.su(Method::GET, &path, None).await;
    assert_eq!(
        after["verified"], false,
        "the claim went with the failed link"
    );

    // Once linking works, both logins succeed as first logins.
    sql(&s, heal).await;
    mock.set_user(
        json!({"sub": "n-1", "name": "Nina", "email": "nina@example.com", "email_verified": true}),
    );
    let (st, b) = full_login(&s, "oidc", None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["meta"]["isNew"], true);
    mock.set_user(json!({"sub": "v-1", "email": "vera@example.com", "email_verified": true}));
    let (st, b) = full_login(&s, "oidc", None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["record"]["id"], rec["id"]);
    assert_eq!(b["record"]["verified"], true);
}
