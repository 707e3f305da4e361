//! `/api/logs`: every API request is logged (in batches), and superusers list, filter,
//! count per hour, view and clear the entries.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// Polls the logs until `filter` matches `want` entries (they are written in batches).
/// A page and its total are two reads, so a batch landing between them can make them
/// disagree for one poll: wait until both say `want`.
async fn wait_for(s: &Server, filter: &str, want: i64) -> Value {
    for _ in 0..50 {
        let (st, b) = s.list_logs(&[("filter", filter)]).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        let listed = b["items"].as_array().map(|i| i.len() as i64);
        if b["totalItems"].as_i64() == Some(want) && listed == Some(want) {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the logs never had {want} entries for {filter}");
}

trait Logs {
    async fn list_logs(&self, params: &[(&str, &str)]) -> (StatusCode, Value);
}

impl Logs for Server {
    async fn list_logs(&self, params: &[(&str, &str)]) -> (StatusCode, Value) {
        let q = url_encode(params);
        self.su(Method::GET, &format!("/api/logs?{q}"), None).await
    }
}

#[tokio::test]
async fn requests_are_logged_and_superusers_read_them() {
    let s = start().await;
    for _ in 0..3 {
        let (st, _) = s.get("/api/health?probe=1", None).await;
        assert_eq!(st, StatusCode::OK);
    }
    let (st, _) = s.get("/api/collections/nosuch/records", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get("/api/collections/users/records?filter=((", None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let b = wait_for(&s, "data.url ~ 'probe=1'", 3).await;
    let first = &b["items"][0];
    assert_eq!(first["message"], "GET /api/health?probe=1");
    assert_eq!(first["level"], 0);
    assert_eq!(first["data"]["status"], 200);
    assert_eq!(first["data"]["method"], "GET");
    assert!(first["data"]["execTime"].as_f64().is_some_and(|t| t >= 0.0));
    assert_eq!(first["data"]["remoteIP"], "127.0.0.1");
    let errors = wait_for(&s, "data.status >= 400 && data.url ~ '/records'", 2).await;
    assert_eq!(errors["items"][0]["level"], 4, "client errors are warnings");

    let id = first["id"].as_str().expect("id");
    let (st, one) = s.su(Method::GET, &format!("/api/logs/{id}"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["id"], id);
    let (st, stats) = s
        .su(
            Method::GET,
            "/api/logs/stats?filter=data.url%20~%20'probe%3D1'",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{stats}");
    assert_eq!(stats.as_array().map(Vec::len), Some(1));
    assert_eq!(stats[0]["total"], 3);
    assert!(stats[0]["date"]
        .as_str()
        .is_some_and(|d| d.ends_with(":00:00.000Z")));
    let (st, b) = s.list_logs(&[("filter", "nope ~")]).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    // Only superusers.
    let (st, _) = s.get("/api/logs", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (_, token) = s.user("reader@example.com").await;
    let (st, _) = s.get("/api/logs", Some(&token)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let (st, _) = s.su(Method::DELETE, "/api/logs", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, b) = s.list_logs(&[("filter", "data.url ~ 'probe=1'")]).await;
    assert_eq!(b["totalItems"], 0);

    // maxDays 0 turns request logs off.
    let (st, _) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"logs": {"maxDays": 0}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    s.get("/api/health?probe=2", None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, b) = s.list_logs(&[("filter", "data.url ~ 'probe=2'")]).await;
    assert_eq!(b["totalItems"], 0);
}

/// SQLite keeps the logs in `auxiliary.db`; the entries a version before left in
/// `data.db` move there when the server starts.
#[tokio::test]
async fn logs_of_an_older_version_move_to_the_auxiliary_file() {
    if is_postgres() {
        return;
    }
    let dir = std::env::temp_dir().join(unique("gather_old_logs"));
    std::fs::create_dir_all(&dir).expect("dir");
    {
        let old = rusqlite::Connection::open(dir.join("data.db")).expect("open");
        old.execute_batch(
            "CREATE TABLE \"_logs\" (\"id\" TEXT NOT NULL PRIMARY KEY, \"level\" INTEGER NOT NULL DEFAULT 0, \
             \"message\" TEXT NOT NULL DEFAULT '', \"data\" TEXT NOT NULL DEFAULT '{}', \"created\" TEXT NOT NULL DEFAULT '');
             INSERT INTO \"_logs\" VALUES ('oldlog000000001', 0, 'from before', '{\"status\": 200}', '2099-01-01 00:00:00.000Z');",
        )
        .expect("old logs");
    }
    let moved_to = dir.clone();
    let s = start_configured(move |c| c.data_dir = moved_to).await;
    let (st, b) = s.list_logs(&[("filter", "message = 'from before'")]).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["totalItems"], 1, "{b}");
    assert_eq!(b["items"][0]["data"]["status"], 200);
    let old = rusqlite::Connection::open(dir.join("data.db")).expect("open");
    let left: i64 = old
        .query_row("SELECT COUNT(*) FROM \"_logs\"", [], |r| r.get(0))
        .expect("count");
    assert_eq!(left, 0, "nothing stays behind");
    assert!(dir.join("auxiliary.db").exists());
    // New entries go to the auxiliary file as well, and are listed beside the old one.
    let (st, _) = s.get("/api/health?probe=aux", None).await;
    assert_eq!(st, StatusCode::OK);
    wait_for(&s, "data.url ~ 'probe=aux'", 1).await;
}
