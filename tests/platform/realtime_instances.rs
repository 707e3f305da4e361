//! Realtime across instances: with PostgreSQL, a change written through one server
//! process reaches a subscriber connected to another (`LISTEN/NOTIFY`), rules applied by
//! the instance the subscriber is on, deletes and payloads too large for `NOTIFY` included.

use crate::common::sse::SseClient;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::process::{Child, Command, Stdio};

/// A `gather serve` process; killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary on the same database as `s`; returns its base URL.
async fn second_process(s: &Server) -> (Process, String) {
    let port = free_port();
    let config = s.config();
    let dir = config.data_dir.join("second");
    let child = Command::new(env!("CARGO_BIN_EXE_gather"))
        .arg("--dir")
        .arg(&dir)
        .arg("--database-url")
        .arg(config.database_url.expect("a PostgreSQL URL"))
        .arg("--secrets-dir")
        .arg(config.secrets_dir.expect("the shared secrets"))
        .arg("serve")
        .arg("--http")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gather");
    let base = format!("http://127.0.0.1:{port}");
    let process = Process(child);
    let health = format!("{base}/api/health");
    if wait_for_ok(&health, 200, std::time::Duration::from_millis(50)).await {
        return (process, base);
    }
    panic!("the second process did not become healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_subscribers_on_another_process() {
    if !is_postgres() {
        // SQLite has one writer process per file; realtime is per process there.
        eprintln!("skipped: realtime across instances needs PostgreSQL");
        return;
    }
    // Configured as the `gather` binary is, so both share its realtime channel.
    let s = start_configured(gather::configure).await;
    s.create_collection(json!({
        "name": "notes", "listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "body", "type": "editor", "maxSize": 100000},
            {"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1}
        ]
    }))
    .await;
    let (ann, ann_token) = s.user("ann@example.com").await;
    let (bob, _) = s.user("bob@example.com").await;
    let (_b_process, b) = second_process(&s).await;

    let mut on_b = SseClient::connect(&b).await;
    let mut guest_on_b = SseClient::connect(&b).await;
    for (c, token) in [(&on_b, Some(ann_token.as_str())), (&guest_on_b, None)] {
        let (st, body) = s
            .http
            .post(format!("{b}/api/realtime"))
            .header("Authorization", token.unwrap_or_default())
            .json(&json!({"clientId": c.id, "subscriptions": ["notes/*"]}))
            .send()
            .await
            .map(|r| (r.status(), r))
            .unwrap();
        assert_eq!(st, StatusCode::NO_CONTENT, "{:?}", body.text().await);
    }

    // Written through the in-test instance, heard on the other process.
    s.create_record("notes", json!({"title": "bob's", "owner": bob}))
        .await;
    let mine = s
        .create_record("notes", json!({"title": "ann's", "owner": ann}))
        .await;
    let f = on_b.next().await.expect("create from the other instance");
    assert_eq!(
        (f.event.as_str(), f.data["action"].as_str()),
        ("notes/*", Some("create"))
    );
    assert_eq!(f.data["record"]["id"], mine["id"]);

    let path = format!(
        "/api/collections/notes/records/{}",
        mine["id"].as_str().unwrap()
    );
    let big = "x".repeat(20_000);
    let (st, _) = s.su(Method::PATCH, &path, Some(json!({"body": big}))).await;
    assert_eq!(st, StatusCode::OK);
    let f = on_b.next().await.expect("update");
    assert_eq!(f.data["action"], "update");
    assert_eq!(
        f.data["record"]["body"].as_str().map(str::len),
        Some(20_000)
    );

    // The delete carries the record (too big for NOTIFY: stored, then read by id) and
    // the other instance checks its client's rule against it.
    let (st, _) = s.su(Method::DELETE, &path, None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let f = on_b.next().await.expect("delete");
    assert_eq!(f.data["action"], "delete");
    assert_eq!(f.data["record"]["id"], mine["id"]);
    assert_eq!(f.data["record"]["title"], "ann's");

    on_b.quiet().await;
    guest_on_b.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_messages_and_signals_reach_members_on_another_process() {
    if !is_postgres() {
        eprintln!("skipped: realtime across instances needs PostgreSQL");
        return;
    }
    let s = crate::agents::gather_server().await;
    let (_ann, ann) = s.user("ann@example.com").await;
    let (bob_id, bob) = s.user("bob@example.com").await;
    let (_eve, eve) = s.user("eve@example.com").await;
    let (st, made) = s
        .call(
            Method::POST,
            "/api/chat/workspaces",
            Some(&ann),
            Some(json!({"name": "Far", "slug": "far"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{made}");
    let ws = made["workspace"]["id"].as_str().expect("id").to_string();
    let general = made["channel"]["id"].as_str().expect("id").to_string();
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/members"),
            Some(&ann),
            Some(json!({"user": bob_id})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (b, _stop_b) = s
        .twin_with(
            |app| async move { gather::setup(&app).await.expect("gather setup") },
            gather::api(),
        )
        .await;

    // Bob (a member) and Eve (not one) listen on the other process.
    let topics = json!(["chat_messages/*", format!("chat_typing/{general}")]);
    let mut bob_on_b = SseClient::connect(&b).await;
    let mut eve_on_b = SseClient::connect(&b).await;
    for (c, token) in [(&bob_on_b, &bob), (&eve_on_b, &eve)] {
        let r = s
            .http
            .post(format!("{b}/api/realtime"))
            .header("Authorization", token.as_str())
            .json(&json!({"clientId": c.id, "subscriptions": topics}))
            .send()
            .await
            .expect("subscribe");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let (st, msg) = s
        .call(
            Method::POST,
            "/api/collections/chat_messages/records",
            Some(&ann),
            Some(json!({"channel": general, "text": "across"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{msg}");
    let f = bob_on_b.next().await.expect("the message, once");
    assert_eq!(f.data["record"]["id"], msg["id"]);
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/api/chat/channels/{general}/typing"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let f = bob_on_b
        .next()
        .await
        .expect("typing from the other process");
    assert_eq!(f.event, format!("chat_typing/{general}"));
    bob_on_b.quiet().await;
    eve_on_b.quiet().await;
}
