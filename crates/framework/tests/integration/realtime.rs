//! Realtime over SSE with a real HTTP client reading the stream: rule filtering per
//! subscriber, options, unsubscribe, reconnect, auth binding, and the OAuth2 redirect.

use crate::common::sse::SseClient;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn subscribe(s: &Server, c: &SseClient, token: Option<&str>, subs: Value) -> StatusCode {
    s.call(
        Method::POST,
        "/api/realtime",
        token,
        Some(json!({"clientId": c.id, "subscriptions": subs})),
    )
    .await
    .0
}

/// `notes`: everyone may view one, but only its owner lists it.
async fn notes(s: &Server) {
    s.create_collection(json!({
        "name": "notes", "listRule": "owner = @request.auth.id", "viewRule": "",
        "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1}
        ]
    }))
    .await;
}

#[tokio::test]
async fn events_reach_only_those_the_rules_allow() {
    let s = start().await;
    notes(&s).await;
    let (ann, ann_token) = s.user("ann@example.com").await;
    let (bob, _) = s.user("bob@example.com").await;

    let mut guest = SseClient::connect(&s.base).await;
    let mut owner = SseClient::connect(&s.base).await;
    let mut admin = SseClient::connect(&s.base).await;
    assert_ne!(guest.id, owner.id);
    assert_eq!(
        subscribe(&s, &guest, None, json!(["notes/*"])).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        subscribe(&s, &owner, Some(&ann_token), json!(["notes/*"])).await,
        StatusCode::NO_CONTENT
    );
    let su = s.su_token.clone();
    assert_eq!(
        subscribe(&s, &admin, Some(&su), json!(["notes"])).await,
        StatusCode::NO_CONTENT
    );

    let mine = s
        .create_record("notes", json!({"title": "ann's", "owner": ann}))
        .await;
    let theirs = s
        .create_record("notes", json!({"title": "bob's", "owner": bob}))
        .await;

    let f = owner.next().await.expect("owner hears of their note");
    assert_eq!(f.event, "notes/*");
    assert_eq!(f.data["action"], "create");
    assert_eq!(f.data["record"]["id"], mine["id"]);
    assert_eq!(f.data["record"]["collectionName"], "notes");
    owner.quiet().await;
    guest.quiet().await;
    let ids: Vec<Value> = vec![admin.next().await.unwrap(), admin.next().await.unwrap()]
        .into_iter()
        .map(|f| {
            assert_eq!(f.event, "notes");
            f.data["record"]["id"].clone()
        })
        .collect();
    assert_eq!(ids, vec![mine["id"].clone(), theirs["id"].clone()]);

    // One record by id goes by the view rule, which is public.
    let theirs_id = theirs["id"].as_str().unwrap();
    let topic = format!("notes/{theirs_id}");
    assert_eq!(
        subscribe(&s, &guest, None, json!([topic])).await,
        StatusCode::NO_CONTENT
    );
    let path = format!("/api/collections/notes/records/{theirs_id}");
    let (st, _) = s
        .su(
            Method::PATCH,
            &path,
            Some(json!({"title": "bob's, edited"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = guest.next().await.expect("guest hears of the update");
    assert_eq!(
        (f.event.as_str(), f.data["action"].as_str()),
        (topic.as_str(), Some("update"))
    );
    assert_eq!(f.data["record"]["title"], "bob's, edited");

    // Deletes are announced to those who could see the record before it went.
    let (st, _) = s.su(Method::DELETE, &path, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let f = guest.next().await.expect("guest hears of the delete");
    assert_eq!(f.data["action"], "delete");
    assert_eq!(f.data["record"]["id"], theirs_id);
    owner.quiet().await;
}

#[tokio::test]
async fn subscription_options_unsubscribe_and_reconnect() {
    let s = start().await;
    notes(&s).await;
    let (ann, token) = s.user("ann@example.com").await;
    let mut c = SseClient::connect(&s.base).await;
    let options = json!({"query": {"fields": "id,title,expand.owner.email", "expand": "owner", "filter": "title ~ 'keep'"}, "headers": {"X-Test": "1"}});
    let raw = format!(
        "notes/*?options={}",
        url_encode(&[("", &options.to_string())]).trim_start_matches('=')
    );
    assert_eq!(
        subscribe(&s, &c, Some(&token), json!([raw])).await,
        StatusCode::NO_CONTENT
    );
    s.create_record("notes", json!({"title": "drop me", "owner": ann}))
        .await;
    s.create_record("notes", json!({"title": "keep me", "owner": ann}))
        .await;
    let f = c.next().await.expect("the kept note");
    assert_eq!(
        f.event, raw,
        "events are named after the subscription as sent"
    );
    let rec = f.data["record"].as_object().unwrap();
    let mut keys: Vec<&str> = rec.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["expand", "id", "title"]);
    assert_eq!(
        f.data["record"]["expand"]["owner"]["email"],
        "ann@example.com"
    );
    c.quiet().await;

    // An empty list unsubscribes from everything.
    assert_eq!(
        subscribe(&s, &c, Some(&token), json!([])).await,
        StatusCode::NO_CONTENT
    );
    s.create_record("notes", json!({"title": "keep this too", "owner": ann}))
        .await;
    c.quiet().await;

    // A new connection is a new client; the old one is gone once the server finds its
    // stream closed (on the next frame it sends it).
    assert_eq!(
        subscribe(&s, &c, Some(&token), json!(["notes/*"])).await,
        StatusCode::NO_CONTENT
    );
    let old = c.id.clone();
    drop(c);
    let c2 = SseClient::connect(&s.base).await;
    assert_ne!(c2.id, old);
    let mut gone = false;
    for _ in 0..50 {
        s.create_record("notes", json!({"title": "ping", "owner": ann}))
            .await;
        let (st, _) = s
            .call(
                Method::POST,
                "/api/realtime",
                None,
                Some(json!({"clientId": old, "subscriptions": []})),
            )
            .await;
        if st == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "a closed stream's client is removed");
}

#[tokio::test]
async fn auth_binding_and_bad_requests() {
    let s = start().await;
    notes(&s).await;
    let (_, ann) = s.user("ann@example.com").await;
    let (_, bob) = s.user("bob@example.com").await;
    let c = SseClient::connect(&s.base).await;
    let (st, err) = s
        .call(
            Method::POST,
            "/api/realtime",
            None,
            Some(json!({"clientId": "nope", "subscriptions": []})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(err["message"], "Missing or invalid client id.");
    // Guest first, then logged in: allowed. Then someone else: refused.
    assert_eq!(
        subscribe(&s, &c, None, json!(["notes/*"])).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        subscribe(&s, &c, Some(&ann), json!(["notes/*"])).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        subscribe(&s, &c, Some(&bob), json!(["notes/*"])).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        subscribe(&s, &c, None, json!(["notes/*"])).await,
        StatusCode::FORBIDDEN
    );
    let too_many: Vec<String> = (0..1001).map(|i| format!("notes/{i}")).collect();
    assert_eq!(
        subscribe(&s, &c, Some(&ann), json!(too_many)).await,
        StatusCode::BAD_REQUEST
    );
    let long = format!("notes/{}", "x".repeat(2600));
    assert_eq!(
        subscribe(&s, &c, Some(&ann), json!([long])).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        subscribe(&s, &c, Some(&ann), json!(["notes/*?options=%7Bnot-json"])).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn oauth2_redirect_reaches_the_waiting_client() {
    let s = start().await;
    let mut c = SseClient::connect(&s.base).await;
    assert_eq!(
        subscribe(&s, &c, None, json!(["@oauth2"])).await,
        StatusCode::NO_CONTENT
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser
        .get(format!(
            "{}/api/oauth2-redirect?state={}&code=the-code",
            s.base, c.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        resp.headers()["location"],
        "/_/#/auth/oauth2-redirect-success"
    );
    let f = c.next().await.expect("@oauth2 frame");
    assert_eq!(f.event, "@oauth2");
    assert_eq!(f.data, json!({"state": c.id, "code": "the-code"}));

    // A form POST gets 303; an unknown state goes to the failure page.
    let resp = browser
        .post(format!("{}/api/oauth2-redirect", s.base))
        .form(&[("state", "unknown"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        "/_/#/auth/oauth2-redirect-failure"
    );
    let resp = browser
        .get(format!(
            "{}/api/oauth2-redirect?state={}&error=access_denied",
            s.base, c.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["location"],
        "/_/#/auth/oauth2-redirect-failure"
    );
    let f = c.next().await.expect("@oauth2 error frame");
    assert_eq!(f.data["error"], "access_denied");
}

/// A subscription's own filter is a client filter: `@collection.*` and `@request.*` are
/// for superusers only there as in a list, so whether an event arrives never tells a
/// guest or a user anything about a collection they may not read.
#[tokio::test]
async fn subscription_filters_cannot_probe_hidden_collections() {
    let s = start().await;
    notes(&s).await;
    s.create_collection(json!({"name": "secrets", "fields": [{"name": "code", "type": "text"}]}))
        .await;
    s.create_record("secrets", json!({"code": "s3cret"})).await;
    let (_, ann_token) = s.user("ann@example.com").await;

    let probes = [
        "@collection.secrets.code = 's3cret'",
        "@collection.secrets.code ?= 's3cret'",
        "id != '' && @collection.secrets:s.code ~ 's3'",
        "@request.headers.x_probe = ''",
        "@request.auth.id = ''",
    ];
    // REST refuses every probe in a filter (and in a sort) with a 403.
    for p in probes {
        for token in [None, Some(ann_token.as_str())] {
            let path = format!(
                "/api/collections/notes/records?{}",
                url_encode(&[("filter", p)])
            );
            let (st, body) = s.get(&path, token).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{p}: {body}");
            assert_eq!(body["status"], 403);
        }
    }
    let (st, _) = s
        .get(
            "/api/collections/notes/records?sort=@collection.secrets.code",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A superuser may.
    let path = format!(
        "/api/collections/notes/records?{}",
        url_encode(&[("filter", probes[0])])
    );
    let (st, _) = s.get(&path, Some(&s.su_token.clone())).await;
    assert_eq!(st, StatusCode::OK);

    let topic = |filter: &str| {
        let options = json!({"query": {"filter": filter}}).to_string();
        format!("notes/*?{}", url_encode(&[("options", &options)]))
    };
    let mut guest = SseClient::connect(&s.base).await;
    let mut user = SseClient::connect(&s.base).await;
    let mut control = SseClient::connect(&s.base).await;
    let guest_topics: Vec<String> = probes.iter().map(|p| topic(p)).collect();
    assert_eq!(
        subscribe(&s, &guest, None, json!(guest_topics)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        subscribe(&s, &user, Some(&ann_token), json!(guest_topics)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        subscribe(&s, &control, None, json!([topic("title != ''")])).await,
        StatusCode::NO_CONTENT
    );
    // `notes` lists to its owner; this note has none, so make it viewable by everyone
    // through the list rule for the test: subscribers would otherwise see nothing anyway.
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/collections/notes",
            Some(json!({"listRule": ""})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    s.create_record("notes", json!({"title": "hello"})).await;
    let f = control.next().await.expect("a plain filter is served");
    assert_eq!(f.data["record"]["title"], "hello");
    guest.quiet().await;
    user.quiet().await;
}

/// App code publishes to a custom topic: its subscribers get the message, others not.
#[tokio::test]
async fn app_code_publishes_to_custom_topics() {
    let s = start().await;
    let mut news = SseClient::connect(&s.base).await;
    let mut other = SseClient::connect(&s.base).await;
    assert_eq!(
        subscribe(&s, &news, None, json!(["news"])).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        subscribe(&s, &other, None, json!(["weather"])).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(s.app.publish("news", &json!({"headline": "hello"})), 1);
    let f = news.next().await.expect("the news");
    assert_eq!(f.event, "news");
    assert_eq!(f.data["headline"], "hello");
    other.quiet().await;
    assert_eq!(s.app.publish("nobody-listens", &json!(1)), 0);
}
