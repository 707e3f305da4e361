//! The MCP server of a framework app with no MCP options of its own, over plain
//! JSON-RPC: no tools until the operator offers the framework's routes, and a stopped
//! server lets go of its app even with a session open.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A JSON-RPC request to `/mcp` (in `session`, if given); the answer and the session id.
async fn rpc(s: &Server, session: Option<&str>, body: Value) -> (Value, Option<String>) {
    let mut req = s
        .http
        .post(format!("{}/mcp", s.base))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body);
    if let Some(id) = session {
        req = req.header("mcp-session-id", id);
    }
    let resp = req.send().await.expect("send");
    let id = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.text().await.expect("body");
    // A stream of events: the answer is the `data:` line that is a JSON-RPC response.
    let answer = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or(Value::Null);
    (answer, id)
}

async fn open_session(s: &Server) -> String {
    let (init, id) = rpc(
        s,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
    )
    .await;
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    let id = id.expect("a session id");
    rpc(
        s,
        Some(&id),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    id
}

async fn tool_names(s: &Server) -> Vec<String> {
    let id = open_session(s).await;
    let (list, _) = rpc(
        s,
        Some(&id),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn the_framework_routes_are_tools_only_when_the_operator_offers_them() {
    let s = start().await;
    assert!(tool_names(&s).await.is_empty());
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"mcp": {"coreTools": true}})),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK, "{b}");
    let names = tool_names(&s).await;
    for name in [
        "health",
        "listRecords",
        "authWithPassword",
        "listCollections",
        "getSettings",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    // A superuser-only tool without a token is the route's own 401, as a tool error.
    let id = open_session(&s).await;
    let (r, _) = rpc(
        &s,
        Some(&id),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "health", "arguments": {}}}),
    )
    .await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert_eq!(r["result"]["structuredContent"]["code"], 200, "{r}");
}

#[tokio::test]
async fn a_stopped_server_lets_go_of_its_app() {
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let s = start().await;
    s.app.put_state(Dropped(dropped.clone()));
    // An MCP session is open, and a tool call went through the whole endpoint.
    open_session(&s).await;
    drop(s);
    for _ in 0..100 {
        if dropped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the app (and its database pool) outlived its server");
}
