//! Gather over MCP (`/mcp`) with real clients: rmcp's (here) and the official TypeScript
//! SDK's (tests/sdk/mcp.test.mjs): the tools are the agent operations `/help` lists, an
//! agent signs in and reviews a skill entirely over MCP, errors are tool errors, limits
//! are REST's, and sessions do not share a sign-in.

use crate::agents::{gather_settings, pem};
use crate::common::*;
use crate::reviews::{execution_hash, signed};
use crate::skills::{agent, agent_keyed, marketplace};
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use reqwest::{Method, StatusCode};
use rmcp::model::ProtocolVersion;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, ReadResourceRequestParams,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use std::collections::BTreeSet;

type Client = RunningService<RoleClient, ()>;

/// Publishes the skill `id` (owner/name) with a SKILL.md.
async fn publish_md(s: &Server, token: &str, id: &str) {
    let name = id.rsplit('/').next().unwrap_or(id);
    let md = format!("---\nname: {name}\ndescription: The {name} tool, for code.\n---\n# {name}\n\nRun `{name} .` in the project.\n");
    let (st, b) = crate::agents::post(
        s,
        "/api/skills",
        Some(token),
        json!({"id": id, "skill_md": md}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn connect(s: &Server) -> Client {
    connect_with(s, None).await
}

/// A client; with `token`, one that sends it as `Authorization` on every request.
async fn connect_with(s: &Server, token: Option<&str>) -> Client {
    let mut config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", s.base));
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("MCP initialize")
}

async fn call(c: &Client, tool: &str, args: Value) -> CallToolResult {
    let args = args.as_object().cloned().expect("arguments are an object");
    c.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("tools/call {tool}: {e}"))
}

fn text_of(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// The answer of a call that must succeed.
fn ok(tool: &str, r: &CallToolResult) -> Value {
    assert_ne!(r.is_error, Some(true), "{tool} failed: {}", text_of(r));
    r.structured_content
        .clone()
        .unwrap_or_else(|| serde_json::from_str(&text_of(r)).unwrap_or(Value::String(text_of(r))))
}

/// The message of a call that must fail as a tool error.
fn failed(tool: &str, r: &CallToolResult) -> String {
    assert_eq!(
        r.is_error,
        Some(true),
        "{tool} should have failed: {}",
        text_of(r)
    );
    text_of(r)
}

/// Signs in over MCP: `challenge`, then `authenticate` with the nonce's signature.
async fn sign_in(c: &Client, key: &SigningKey) -> Value {
    let challenge = ok(
        "challenge",
        &call(c, "challenge", json!({"public_key": pem(key)})).await,
    );
    let nonce = B64
        .decode(challenge["nonce"].as_str().expect("nonce"))
        .expect("base64 nonce");
    let signature = B64.encode(key.sign(&nonce).to_bytes());
    ok(
        "authenticate",
        &call(
            c,
            "authenticate",
            json!({"public_key": pem(key), "signature": signature}),
        )
        .await,
    )
}

/// The tools the `/help` endpoints make: their operations' ids, as the MCP server names
/// them (the framework's routes `/help` mentions are not tools by default).
async fn expected_tools(s: &Server) -> BTreeSet<String> {
    let (_, doc) = s.call(Method::GET, "/openapi.json", None, None).await;
    let (_, help) = s.call(Method::GET, "/help", None, None).await;
    let framework_tags = ["Records", "Realtime", "Health", "Auth", "Files"];
    let mut out = BTreeSet::new();
    for e in help["endpoints"].as_array().expect("endpoints") {
        let (method, path) = (
            e["method"].as_str().unwrap_or_default(),
            e["path"].as_str().unwrap_or_default(),
        );
        let Some(op) = doc["paths"][path].get(method.to_lowercase()) else {
            continue;
        };
        let tag = op["tags"][0].as_str().unwrap_or_default();
        let id = op["operationId"].as_str().unwrap_or_default();
        if framework_tags.contains(&tag) || id == "root" {
            continue;
        }
        out.insert(match id {
            "agent-challenge" => "challenge".into(),
            "agent-authenticate" => "authenticate".into(),
            other => other.to_string(),
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tools_are_the_agent_operations_and_the_framework_routes_on_request() {
    let s = marketplace().await;
    let c = connect(&s).await;
    let info = c.peer_info().expect("server info");
    let name = info.server_info.as_ref().map(|i| i.name.clone());
    assert!(name.is_some_and(|n| !n.is_empty()), "the app's name");
    assert!(info
        .instructions
        .as_deref()
        .unwrap_or_default()
        .contains("authenticate"));

    let tools = c.list_all_tools().await.expect("tools/list");
    let names: BTreeSet<String> = tools.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(
        names,
        expected_tools(&s).await,
        "every agent operation is a tool, and only those"
    );
    for t in &tools {
        assert_eq!(t.input_schema["type"], "object", "{}", t.name);
        let text = serde_json::to_string(&t.input_schema).expect("json");
        assert!(
            !text.contains("$ref") && !text.contains("nullable"),
            "{}: {text}",
            t.name
        );
        if let Some(out) = &t.output_schema {
            assert_eq!(out["type"], "object", "{}", t.name);
        }
    }
    let inbox = tools
        .iter()
        .find(|t| t.name == "list-inbox")
        .expect("list-inbox");
    assert!(inbox
        .description
        .as_deref()
        .unwrap_or_default()
        .contains("`challenge`"));
    assert_eq!(
        inbox.annotations.as_ref().and_then(|a| a.read_only_hint),
        Some(true)
    );
    let submit = tools
        .iter()
        .find(|t| t.name == "submit-review")
        .expect("submit-review");
    assert_eq!(
        submit.input_schema["required"],
        json!(["skill_id", "task", "score"])
    );
    assert!(submit
        .output_schema
        .as_ref()
        .is_some_and(|o| o["properties"]["proof_verified"].is_object()));
    // Superuser operations are never tools by default.
    assert!(!names.contains("getGatherSettings") && !names.contains("listRecords"));
    c.cancel().await.expect("close");

    // The operator offers the framework's routes too: a new session lists them.
    let (st, b) = s
        .su(
            Method::PATCH,
            "/api/settings",
            Some(json!({"mcp": {"coreTools": true}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["mcp"]["coreTools"], true);
    let c = connect(&s).await;
    let names: BTreeSet<String> = c
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for core in [
        "listRecords",
        "createRecord",
        "authWithPassword",
        "listCollections",
    ] {
        assert!(names.contains(core), "{core} missing");
    }
    assert!(!names.contains("realtimeConnect") && !names.contains("downloadFile"));
    // A record tool works with the session's agent token, under the collection's rules.
    let (_, _, key) = agent_keyed(&s, "record-reader", false).await;
    sign_in(&c, &key).await;
    let listed = ok(
        "listRecords",
        &call(
            &c,
            "listRecords",
            json!({"collection": "chat_workspaces", "perPage": 5}),
        )
        .await,
    );
    assert_eq!(listed["items"], json!([]));
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reviews_a_skill_entirely_over_mcp() {
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish_md(&s, &publisher, "acme/lint").await;
    let (reviewer_id, _, key) = agent_keyed(&s, "reviewer", true).await;

    let c = connect(&s).await;
    // Before signing in: a clear tool error, not a protocol failure.
    let message = failed("list-inbox", &call(&c, "list-inbox", json!({})).await);
    assert!(
        message.contains("`challenge`") && message.contains("`authenticate`"),
        "{message}"
    );
    // A wrong signature is the route's own 401, as a tool error.
    let nonce = ok(
        "challenge",
        &call(&c, "challenge", json!({"public_key": pem(&key)})).await,
    );
    assert!(nonce["expires_in"].as_i64().is_some_and(|n| n > 0));
    let forged = B64.encode([0u8; 64]);
    let message = failed(
        "authenticate",
        &call(
            &c,
            "authenticate",
            json!({"public_key": pem(&key), "signature": forged}),
        )
        .await,
    );
    assert!(message.contains("HTTP 401"), "{message}");

    let session = sign_in(&c, &key).await;
    assert_eq!(session["agent_id"], reviewer_id.as_str());

    // Find the skill, read its SKILL.md as a resource.
    let found = ok(
        "list-skills",
        &call(&c, "list-skills", json!({"q": "lint"})).await,
    );
    assert_eq!(found["skills"][0]["name"], "acme/lint", "{found}");
    let md = c
        .read_resource(ReadResourceRequestParams::new(
            "gather://skills/acme%2Flint/SKILL.md",
        ))
        .await
        .expect("resources/read");
    let md = serde_json::to_value(&md.contents[0]).expect("json");
    assert_eq!(md["mimeType"], "text/markdown");
    assert!(
        md["text"].as_str().is_some_and(|t| t.contains("lint")),
        "{md}"
    );
    let missing = c
        .read_resource(ReadResourceRequestParams::new(
            "gather://skills/acme%2Fnothing/SKILL.md",
        ))
        .await;
    assert!(missing.is_err(), "a missing skill is a resource error");

    // The prompt carries the workflow for this skill.
    let prompt = c
        .get_prompt(
            GetPromptRequestParams::new("review-skill").with_arguments(
                json!({"skill": "acme/lint"})
                    .as_object()
                    .cloned()
                    .expect("map"),
            ),
        )
        .await
        .expect("prompts/get");
    let prompt = serde_json::to_string(&prompt.messages).expect("json");
    assert!(prompt.contains("request-review-challenge") && prompt.contains("acme/lint"));

    // A challenge, then a signed review that answers it.
    let ch = ok(
        "request-review-challenge",
        &call(
            &c,
            "request-review-challenge",
            json!({"skill_id": "acme/lint"}),
        )
        .await,
    );
    let (id, totem) = (
        ch["challenge_id"].as_str().expect("id"),
        ch["totem"].as_str().expect("totem"),
    );
    let mut review = json!({"skill_id": "acme/lint", "task": ch["task"], "score": 8, "security_score": 9,
        "what_worked": format!("{totem}: it found the unused imports"), "what_failed": "nothing",
        "challenge_id": id, "totem": totem});
    // Bad input is the route's 400 with its field errors, as a tool error.
    let mut bad = review.clone();
    bad["score"] = json!(11);
    let message = failed("submit-review", &call(&c, "submit-review", bad).await);
    assert!(
        message.contains("HTTP 400") && message.contains("score"),
        "{message}"
    );
    let hash = execution_hash(&reviewer_id, "acme/lint", &review, Some(id));
    review["proof"] = json!({"execution_hash": hash, "signature": signed(&key, &hash)});
    let done = ok("submit-review", &call(&c, "submit-review", review).await);
    assert_eq!(
        (
            done["challenged"].as_bool(),
            done["proof_verified"].as_bool()
        ),
        (Some(true), Some(true)),
        "{done}"
    );

    // The same review as REST sees it.
    let (st, r) = s
        .call(
            Method::GET,
            &format!("/api/reviews/{}", done["review_id"].as_str().expect("id")),
            None,
            None,
        )
        .await;
    assert_eq!(
        (st, r["score"].as_f64()),
        (StatusCode::OK, Some(8.0)),
        "{r}"
    );

    let inbox = ok(
        "list-inbox",
        &call(&c, "list-inbox", json!({"limit": 10})).await,
    );
    assert!(inbox["total"].as_i64().is_some_and(|n| n >= 1), "{inbox}");

    // A multipart upload takes its file base64-encoded.
    let png = files::png(40, 30);
    let design = ok(
        "upload-design",
        &call(&c, "upload-design", json!({"file": B64.encode(&png)})).await,
    );
    assert_eq!(
        (design["width"].as_i64(), design["size_bytes"].as_u64()),
        (Some(40), Some(png.len() as u64)),
        "{design}"
    );
    let message = failed(
        "upload-design",
        &call(&c, "upload-design", json!({"file": "%%%"})).await,
    );
    assert!(message.contains("base64"), "{message}");

    // An unknown tool and missing arguments are tool errors too.
    let message = failed("nope", &call(&c, "nope", json!({})).await);
    assert!(message.contains("tools/list"), "{message}");
    let message = failed("get-skill", &call(&c, "get-skill", json!({})).await);
    assert!(message.contains("`id`"), "{message}");

    // Another session is not signed in by this one.
    let other = connect(&s).await;
    failed("list-inbox", &call(&other, "list-inbox", json!({})).await);
    // ...unless it sends an agent token on the transport.
    let token = session["token"].as_str().expect("token");
    let bearer = connect_with(&s, Some(token)).await;
    ok("list-inbox", &call(&bearer, "list-inbox", json!({})).await);

    // The agent's write limit is REST's: the tool calls count against it.
    gather_settings(
        &s,
        json!({"rateLimits": {"verifiedWrites": {"perMinute": 1, "burst": 1}}}),
    )
    .await;
    let mut limited = 0;
    for _ in 0..3 {
        let r = call(&c, "install-skill", json!({"id": "acme/lint"})).await;
        if r.is_error == Some(true) {
            assert!(text_of(&r).contains("HTTP 429"), "{}", text_of(&r));
            limited += 1;
        }
    }
    assert!(limited >= 2, "burst 1: at most one of three writes passes");
    for client in [c, other, bearer] {
        client.cancel().await.expect("close");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateless_client_of_the_newest_protocol_signs_in_by_header() {
    let s = marketplace().await;
    let (_, token) = agent(&s, "modern", false).await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", s.base)).auth_header(token),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let c = ().serve_with_lifecycle(transport, lifecycle).await.expect("server/discover");
    assert!(c
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .any(|t| t.name == "list-inbox"));
    let inbox = ok("list-inbox", &call(&c, "list-inbox", json!({})).await);
    assert!(
        inbox["total"].as_i64().is_some_and(|n| n >= 1),
        "the welcome message: {inbox}"
    );
    // No session: a sign-in by tool cannot be kept, so a client without a header has none.
    let anonymous = ()
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_uri(format!("{}/mcp", s.base)),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("server/discover");
    failed(
        "list-inbox",
        &call(&anonymous, "list-inbox", json!({})).await,
    );
    for client in [c, anonymous] {
        client.cancel().await.expect("close");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_sdk_signs_in_and_reviews_over_mcp() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        dir.join("node_modules/@modelcontextprotocol/sdk").exists(),
        "the MCP SDK is not installed: run `npm ci --prefix tests/sdk` (scripts/test.sh does)"
    );
    let s = marketplace().await;
    let (_, publisher) = agent(&s, "publisher", true).await;
    publish_md(&s, &publisher, "acme/format").await;
    let (reviewer_id, _, key) = agent_keyed(&s, "ts-reviewer", true).await;
    let seed: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let env = vec![
        ("GATHER_URL", s.base.clone()),
        ("AGENT_ID", reviewer_id),
        ("AGENT_PUBLIC_KEY", pem(&key)),
        ("AGENT_KEY_SEED", seed),
        ("SKILL_NAME", "acme/format".to_string()),
        (
            "EXPECTED_TOOLS",
            expected_tools(&s)
                .await
                .into_iter()
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    run_node_tests(dir, "mcp.test.mjs", env, 4).await;
}

#[tokio::test]
async fn the_transports_refusals_are_enveloped() {
    let s = marketplace().await;
    let http = reqwest::Client::new();
    let url = format!("{}/mcp", s.base);
    let accept = ("accept", "application/json, text/event-stream");
    let cases = [
        (http.get(&url), StatusCode::NOT_ACCEPTABLE),
        (
            http.post(&url)
                .header(accept.0, accept.1)
                .header("content-type", "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            http.post(&url)
                .header(accept.0, accept.1)
                .header("content-type", "application/json")
                .header("mcp-session-id", "no-such-session")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            StatusCode::NOT_FOUND,
        ),
        (http.put(&url), StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (req, status) in cases {
        let resp = req.send().await.expect("send");
        assert_eq!(resp.status(), status);
        let body: Value = resp.json().await.expect("an error envelope");
        assert_eq!(body["status"], status.as_u16(), "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}
