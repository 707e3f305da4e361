//! Chat at HTTP level: a human (a `users` token, as the JS SDK sends it) and an agent
//! (its JWT) in one channel over the records API and realtime; what the rules keep from
//! everyone else through every path; invites; the per-channel sequence under
//! concurrent posts.

use crate::agents::gather_server;
use crate::common::files::{part, png, send_form};
use crate::common::sse::SseClient;
use crate::common::*;
use crate::skills::agent;
use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MESSAGES: &str = "/api/collections/chat_messages/records";

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// Subscribes `c` to `topics` as the holder of `token`.
async fn subscribe(s: &Server, c: &SseClient, token: Option<&str>, topics: &[String]) {
    let mut req = s
        .http
        .post(format!("{}/api/realtime", s.base))
        .json(&json!({"clientId": c.id, "subscriptions": topics}));
    if let Some(t) = token {
        req = req.header("Authorization", t);
    }
    let r = req.send().await.expect("subscribe");
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{:?}", r.text().await);
}

/// A workspace made by the human with `token`: (workspace id, general's id, owner member).
async fn workspace(s: &Server, token: &str, slug: &str) -> (String, String, String) {
    let (st, b) = s
        .call(
            Method::POST,
            "/api/chat/workspaces",
            Some(token),
            Some(json!({"name": format!("The {slug}"), "slug": slug})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "create workspace: {b}");
    assert_eq!(b["member"]["role"], "owner");
    assert_eq!(b["channel"]["name"], "general");
    (id(&b["workspace"]), id(&b["channel"]), id(&b["member"]))
}

async fn post_message(s: &Server, token: &str, body: Value) -> (StatusCode, Value) {
    s.call(Method::POST, MESSAGES, Some(token), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_and_an_agent_chat_in_one_channel() {
    let s = gather_server().await;
    let (_ann, ann) = s.user("ann@example.com").await;
    let (bot_id, bot_jwt) = agent(&s, "helper_bot", false).await;
    let bot = bearer(&bot_jwt);
    let (ws, general, ann_member) = workspace(&s, &ann, "crew").await;

    // The agent is registered by its key fingerprint: a registered agent, never a handle.
    let (_, rec) = s
        .su(
            Method::GET,
            &format!("/api/collections/agents/records/{bot_id}"),
            None,
        )
        .await;
    let fingerprint = rec["pubkey_fingerprint"].as_str().expect("fingerprint");
    let path = format!("/api/chat/workspaces/{ws}/members");
    let (st, b) = s
        .call(
            Method::POST,
            &path,
            Some(&ann),
            Some(json!({"agent_fingerprint": "00ff"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, member) = s
        .call(
            Method::POST,
            &path,
            Some(&ann),
            Some(json!({"agent_fingerprint": fingerprint})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{member}");
    assert_eq!(
        (member["kind"].as_str(), member["agent"].as_str()),
        (Some("agent"), Some(bot_id.as_str()))
    );
    let bot_member = id(&member);
    let (st, _) = s
        .call(
            Method::POST,
            &path,
            Some(&ann),
            Some(json!({"agent": bot_id})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "a member once");

    // The agent sees the workspace through the records API with its own token.
    let (st, b) = s
        .get("/api/collections/chat_workspaces/records", Some(&bot))
        .await;
    assert_eq!(
        (st, b["totalItems"].as_i64()),
        (StatusCode::OK, Some(1)),
        "{b}"
    );

    // Both listen to the channel; the human also to typing.
    let topic = format!(
        "chat_messages/*?options={}",
        url_encode(&[(
            "x",
            &json!({"query": {"filter": format!("channel='{general}'")}}).to_string()
        )])
        .trim_start_matches("x=")
    );
    let mut ann_rt = SseClient::connect(&s.base).await;
    subscribe(
        &s,
        &ann_rt,
        Some(&ann),
        &[
            topic.clone(),
            format!("chat_typing/{general}"),
            format!("chat_presence/{ws}"),
            "chat_reactions/*".to_string(),
        ],
    )
    .await;
    let mut bot_rt = SseClient::connect(&s.base).await;
    subscribe(&s, &bot_rt, Some(&bot), std::slice::from_ref(&topic)).await;

    // The agent posts, mentioning the human; the author is who sent it, whatever it says.
    let (st, hello) = post_message(
        &s,
        &bot,
        json!({"channel": general, "text": "Hello **ann**", "mentions": [ann_member], "author": ann_member}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{hello}");
    assert_eq!(hello["seq"], 1);
    assert_eq!(hello["author"], bot_member.as_str());
    assert_eq!(hello["author_kind"], "agent");
    assert_eq!(hello["author_name"], "helper_bot");
    assert_eq!(hello["workspace"], ws.as_str());
    for rt in [&mut ann_rt, &mut bot_rt] {
        let f = rt.next().await.expect("the agent's message");
        assert_eq!(f.data["action"], "create");
        assert_eq!(f.data["record"]["id"], hello["id"]);
    }

    // The human replies and mentions the agent: it lands in the agent's inbox.
    let (st, reply) = post_message(
        &s,
        &ann,
        json!({"channel": general, "text": "Hi! @helper_bot", "reply_to": hello["id"], "mentions": [bot_member]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{reply}");
    assert_eq!(
        (reply["seq"].as_i64(), reply["author_kind"].as_str()),
        (Some(2), Some("human"))
    );
    let f = bot_rt.next().await.expect("the human's reply");
    assert_eq!(f.data["record"]["reply_to"], hello["id"]);
    ann_rt.next().await.expect("her own message too");
    let mut told = Value::Null;
    for _ in 0..50 {
        let (_, inbox) = s.get("/api/inbox", Some(&bot)).await;
        if let Some(m) = inbox["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["type"] == "chat_mention"))
        {
            told = m.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(told["ref_id"], reply["id"], "the mention is in the inbox");
    assert!(
        told["subject"]
            .as_str()
            .unwrap_or_default()
            .contains("#general"),
        "{told}"
    );

    // Only the author edits (the edit time is set); a reply stays in its channel.
    let reply_path = format!("{MESSAGES}/{}", id(&reply));
    let (st, _) = s
        .call(
            Method::PATCH,
            &reply_path,
            Some(&bot),
            Some(json!({"text": "hijacked"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, edited) = s
        .call(
            Method::PATCH,
            &reply_path,
            Some(&ann),
            Some(json!({"text": "Hi there!"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    assert!(!edited["edited"].as_str().unwrap_or_default().is_empty());
    let (st, _) = s
        .call(
            Method::PATCH,
            &reply_path,
            Some(&ann),
            Some(json!({"channel": "x", "seq": 9})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let f = bot_rt.next().await.expect("the edit");
    assert_eq!(
        (f.data["action"].as_str(), f.data["record"]["text"].as_str()),
        (Some("update"), Some("Hi there!"))
    );
    ann_rt.next().await.expect("the edit, for her too");

    // Reactions, once per member and emoji.
    let reaction = json!({"message": reply["id"], "emoji": "👍"});
    let (st, r) = s
        .call(
            Method::POST,
            "/api/collections/chat_reactions/records",
            Some(&bot),
            Some(reaction.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["member"], bot_member.as_str());
    let f = ann_rt.next().await.expect("the reaction, live");
    assert_eq!(
        (f.event.as_str(), f.data["record"]["emoji"].as_str()),
        ("chat_reactions/*", Some("👍"))
    );
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/chat_reactions/records",
            Some(&bot),
            Some(reaction),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Typing reaches the channel's readers, and nothing is stored.
    let (st, b) = s
        .call(
            Method::POST,
            &format!("/api/chat/channels/{general}/typing"),
            Some(&bot),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let f = ann_rt.next().await.expect("typing");
    assert_eq!(f.event, format!("chat_typing/{general}"));
    assert_eq!(
        (f.data["member"].as_str(), f.data["kind"].as_str()),
        (Some(bot_member.as_str()), Some("agent"))
    );
    // Presence too, and the member's last_seen is kept.
    let (st, b) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/presence"),
            Some(&bot),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let f = ann_rt.next().await.expect("presence");
    assert_eq!(f.event, format!("chat_presence/{ws}"));
    assert_eq!(
        (f.data["online"].as_bool(), f.data["kind"].as_str()),
        (Some(true), Some("agent"))
    );
    let (_, me) = s
        .get(
            &format!("/api/collections/chat_members/records/{bot_member}"),
            Some(&ann),
        )
        .await;
    assert!(
        !me["last_seen"].as_str().unwrap_or_default().is_empty(),
        "{me}"
    );

    // An agent's attachment, opened by the human and by the agent with their file tokens.
    let form = Form::new()
        .text("channel", general.clone())
        .part("attachments", part("chart.png", png(3, 3)));
    let (st, pic) = send_form(&s, Method::POST, MESSAGES, Some(&bot), form).await;
    assert_eq!(st, StatusCode::OK, "{pic}");
    for rt in [&mut ann_rt, &mut bot_rt] {
        rt.next().await.expect("the attachment's message");
    }
    let file = pic["attachments"][0].as_str().expect("a file");
    for token in [&ann, &bot] {
        let (_, t) = s
            .call(Method::POST, "/api/files/token", Some(token), None)
            .await;
        let url = format!(
            "{}/api/files/chat_messages/{}/{file}?token={}",
            s.base,
            id(&pic),
            t["token"].as_str().unwrap_or_default()
        );
        let r = s.http.get(url).send().await.expect("download");
        assert_eq!(r.status(), StatusCode::OK);
    }

    // Resuming: what came after 1, in order.
    let after = format!(
        "{MESSAGES}?filter={}&sort=seq",
        url_encode(&[("f", "seq > 1")]).trim_start_matches("f=")
    );
    let (_, page) = s.get(&after, Some(&bot)).await;
    assert_eq!(column(&page, "seq"), [json!(2), json!(3)], "{page}");

    // Unread counts, until read.
    let (_, unread) = s.get("/api/chat/unread", Some(&ann)).await;
    let general_unread = unread["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["channel"] == general.as_str()).cloned());
    assert_eq!(
        general_unread.as_ref().map(|c| c["unread"].clone()),
        Some(json!(3)),
        "{unread}"
    );
    let (st, b) = s
        .call(
            Method::POST,
            &format!("/api/chat/channels/{general}/read"),
            Some(&ann),
            Some(json!({"seq": 99})),
        )
        .await;
    assert_eq!((st, b["last_read"].as_i64()), (StatusCode::OK, Some(3)));
    let (_, unread) = s
        .get(&format!("/api/chat/unread?workspace={ws}"), Some(&ann))
        .await;
    assert_eq!(unread["channels"][0]["unread"], 0, "{unread}");

    // The agent deletes its message; the human hears it.
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("{MESSAGES}/{}", id(&hello)),
            Some(&bot),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let f = ann_rt.next().await.expect("the delete");
    assert_eq!(
        (f.data["action"].as_str(), f.data["record"]["id"].as_str()),
        (Some("delete"), hello["id"].as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_with_the_js_sdk_and_an_agent_chat() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        dir.join("node_modules/pocketbase").exists(),
        "the SDK is not installed: run `npm ci --prefix tests/sdk` (scripts/test.sh does)"
    );
    let s = gather_server().await;
    let (bot_id, bot_jwt) = agent(&s, "helper", false).await;
    let env = vec![
        ("GATHER_URL", s.base.clone()),
        ("AGENT_ID", bot_id),
        ("AGENT_TOKEN", bot_jwt),
    ];
    run_node_tests(dir, "chat.test.mjs", env, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_member_reads_nothing_of_a_workspace() {
    let s = gather_server().await;
    let (_ann, ann) = s.user("ann@example.com").await;
    let (bob_id, bob) = s.user("bob@example.com").await;
    let (eve_id, eve) = s.user("eve@example.com").await;
    let (_mal, mal_jwt) = agent(&s, "mallory", false).await;
    let mal = bearer(&mal_jwt);
    let (ws, general, _) = workspace(&s, &ann, "secret-base").await;
    // Eve has a workspace of her own: being a member somewhere opens nothing elsewhere.
    workspace(&s, &eve, "eves-place").await;
    let (st, bob_member) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/members"),
            Some(&ann),
            Some(json!({"user": bob_id})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{bob_member}");
    let (st, private) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/channels"),
            Some(&ann),
            Some(json!({"name": "plans", "kind": "private"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{private}");
    let private = id(&private);

    let mut watchers = Vec::new();
    for token in [Some(eve.as_str()), Some(mal.as_str()), None] {
        let rt = SseClient::connect(&s.base).await;
        let topics = [
            "chat_messages/*".to_string(),
            "chat_channels/*".to_string(),
            format!("chat_typing/{general}"),
            format!("chat_presence/{ws}"),
        ];
        subscribe(&s, &rt, token, &topics).await;
        watchers.push(rt);
    }
    let mut bob_rt = SseClient::connect(&s.base).await;
    subscribe(&s, &bob_rt, Some(&bob), &["chat_messages/*".to_string()]).await;

    let form = Form::new()
        .text("channel", general.clone())
        .text("text", "the secret word is swordfish")
        .part("attachments", part("map.png", png(4, 4)));
    let (st, msg) = send_form(&s, Method::POST, MESSAGES, Some(&ann), form).await;
    assert_eq!(st, StatusCode::OK, "{msg}");
    let (st, hidden) = post_message(
        &s,
        &ann,
        json!({"channel": private, "text": "swordfish plans"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{hidden}");
    s.call(
        Method::POST,
        &format!("/api/chat/channels/{general}/typing"),
        Some(&ann),
        None,
    )
    .await;
    s.call(
        Method::POST,
        &format!("/api/chat/workspaces/{ws}/presence"),
        Some(&ann),
        Some(json!({})),
    )
    .await;

    // Bob, a member, hears the general message and not the private channel's.
    let f = bob_rt.next().await.expect("bob hears general");
    assert_eq!(f.data["record"]["id"], msg["id"]);
    bob_rt.quiet().await;
    for rt in &mut watchers {
        rt.quiet().await;
    }

    let collections = [
        ("chat_workspaces", ws.clone()),
        ("chat_channels", general.clone()),
        ("chat_members", id(&bob_member)),
        ("chat_messages", id(&msg)),
        ("chat_channel_members", String::new()),
        ("chat_reactions", String::new()),
        ("chat_invites", String::new()),
    ];
    for token in [Some(eve.as_str()), Some(mal.as_str()), None] {
        for (c, rec) in &collections {
            let base = format!("/api/collections/{c}/records");
            let field = if *c == "chat_workspaces" {
                "id"
            } else {
                "workspace"
            };
            let only = url_encode(&[("filter", &format!("{field}='{ws}'"))]);
            let (st, b) = s.get(&format!("{base}?{only}"), token).await;
            assert_eq!(
                (st, b["totalItems"].as_i64()),
                (StatusCode::OK, Some(0)),
                "{c} as {token:?}: {b}"
            );
            if !rec.is_empty() {
                let (st, _) = s.get(&format!("{base}/{rec}"), token).await;
                assert_eq!(st, StatusCode::NOT_FOUND, "{c}/{rec} as {token:?}");
            }
        }
        // Search and filters find nothing either.
        let (_, b) = s.get(&format!("{MESSAGES}?search=swordfish"), token).await;
        assert_eq!(b["totalItems"], 0, "{b}");
        let (_, b) = s
            .get(
                &format!("{MESSAGES}?filter=channel.workspace.name%3D'The%20secret-base'"),
                token,
            )
            .await;
        assert_eq!(b["totalItems"].as_i64().unwrap_or(0), 0, "{b}");
        // Nor can they post, type or join a channel there.
        let (st, _) = post_message(
            &s,
            token.unwrap_or_default(),
            json!({"channel": general, "text": "hi"}),
        )
        .await;
        assert!(
            st == StatusCode::BAD_REQUEST
                || st == StatusCode::UNAUTHORIZED
                || st == StatusCode::FORBIDDEN,
            "{st}"
        );
        for path in [
            format!("/api/chat/channels/{general}/typing"),
            format!("/api/chat/channels/{general}/join"),
        ] {
            let (st, _) = s.call(Method::POST, &path, token, None).await;
            assert!(
                st == StatusCode::NOT_FOUND || st == StatusCode::UNAUTHORIZED,
                "{path}: {st}"
            );
        }
    }
    // A member sees the workspace's records, but not a private channel it is not in.
    let (_, b) = s
        .get(&format!("{MESSAGES}?search=swordfish"), Some(&bob))
        .await;
    assert_eq!(ids(&b), [id(&msg)], "{b}");
    let (_, b) = s
        .get(&format!("{MESSAGES}?search=swordfish"), Some(&ann))
        .await;
    assert_eq!(b["totalItems"], 2, "{b}");
    let (st, _) = s
        .get(
            &format!("/api/collections/chat_channels/records/{private}"),
            Some(&bob),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, b) = s
        .get(&format!("{MESSAGES}?expand=channel,reply_to"), Some(&bob))
        .await;
    assert_eq!(b["totalItems"], 1, "{b}");
    assert_eq!(b["items"][0]["expand"]["channel"]["name"], "general");

    // Protected attachments: only a reader's file token opens them.
    let file = msg["attachments"][0].as_str().expect("a file name");
    let url = format!("/api/files/chat_messages/{}/{file}", id(&msg));
    let (st, _) = s.get(&url, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for (token, expected) in [
        (&eve, StatusCode::NOT_FOUND),
        (&mal, StatusCode::NOT_FOUND),
        (&bob, StatusCode::OK),
    ] {
        let (st, t) = s
            .call(Method::POST, "/api/files/token", Some(token), None)
            .await;
        assert_eq!(st, StatusCode::OK, "{t}");
        let r = s
            .http
            .get(format!(
                "{}{url}?token={}",
                s.base,
                t["token"].as_str().unwrap_or_default()
            ))
            .send()
            .await
            .expect("download");
        assert_eq!(r.status(), expected);
    }

    // Roles: a member cannot add members or make itself an admin.
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/members"),
            Some(&bob),
            Some(json!({"user": bob_id})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let me = format!("/api/collections/chat_members/records/{}", id(&bob_member));
    let (st, _) = s
        .call(
            Method::PATCH,
            &me,
            Some(&bob),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, b) = s
        .call(
            Method::PATCH,
            &me,
            Some(&bob),
            Some(json!({"name": "Bobby"})),
        )
        .await;
    assert_eq!(
        (st, b["name"].as_str()),
        (StatusCode::OK, Some("Bobby")),
        "{b}"
    );

    // Leaving: the member's records go with it and it reads nothing any more, live
    // events included (remembered rule checks are forgotten when members change).
    let (st, _) = s.call(Method::DELETE, &me, Some(&bob), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, b) = s.get(MESSAGES, Some(&bob)).await;
    assert_eq!(b["totalItems"], 0, "{b}");
    let (st, _) = post_message(&s, &ann, json!({"channel": general, "text": "after bob"})).await;
    assert_eq!(st, StatusCode::OK);
    bob_rt.quiet().await;
    // And a newcomer hears the next message on the stream that heard nothing before.
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/members"),
            Some(&ann),
            Some(json!({"user": eve_id})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, welcome) = post_message(&s, &ann, json!({"channel": general, "text": "hi eve"})).await;
    assert_eq!(st, StatusCode::OK);
    let f = watchers[0].next().await.expect("eve hears it now");
    assert_eq!(f.data["record"]["id"], welcome["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_let_people_and_agents_in_until_used_up_or_revoked() {
    let s = gather_server().await;
    let (_ann, ann) = s.user("ann@example.com").await;
    let (_eve, eve) = s.user("eve@example.com").await;
    let (_bot, bot_jwt) = agent(&s, "joiner", false).await;
    let bot = bearer(&bot_jwt);
    let (ws, general, _) = workspace(&s, &ann, "club").await;
    let invites = "/api/collections/chat_invites/records";
    let (st, b) = s
        .call(
            Method::POST,
            invites,
            Some(&eve),
            Some(json!({"workspace": ws})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "only admins invite: {b}");
    let (st, invite) = s
        .call(
            Method::POST,
            invites,
            Some(&ann),
            Some(json!({"workspace": ws, "max_uses": 1, "code": "CHOSEN", "uses": 5})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{invite}");
    let code = invite["code"].as_str().expect("code").to_string();
    assert_ne!(code, "CHOSEN", "the server picks the code");
    assert_eq!((code.len(), invite["uses"].as_i64()), (8, Some(0)));
    assert!(
        code.bytes()
            .all(|b| b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(&b)),
        "{code}"
    );

    let (st, preview) = s
        .get(&format!("/api/chat/invites/{}", code.to_lowercase()), None)
        .await;
    assert_eq!(
        (st, preview["workspace_name"].as_str()),
        (StatusCode::OK, Some("The club")),
        "{preview}"
    );
    let (st, joined) = s
        .call(
            Method::POST,
            "/api/chat/join",
            Some(&eve),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{joined}");
    assert_eq!(
        (joined["role"].as_str(), joined["kind"].as_str()),
        (Some("member"), Some("human"))
    );
    let (st, _) = s
        .call(
            Method::POST,
            "/api/chat/join",
            Some(&eve),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "used up");
    let (st, _) = s
        .call(
            Method::POST,
            "/api/chat/join",
            Some(&bot),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "used up");
    let (_, b) = s
        .get(
            &format!("/api/collections/chat_channels/records/{general}"),
            Some(&eve),
        )
        .await;
    assert_eq!(b["name"], "general", "a joiner is in general");

    // Many at once on a two-use invite: exactly two get in.
    let (_, two) = s
        .call(
            Method::POST,
            invites,
            Some(&ann),
            Some(json!({"workspace": ws, "max_uses": 2})),
        )
        .await;
    let code = two["code"].as_str().expect("code").to_string();
    let mut tokens = Vec::new();
    for i in 0..6 {
        tokens.push(s.user(&format!("rush{i}@example.com")).await.1);
    }
    let tries = tokens.iter().map(|t| {
        s.call(
            Method::POST,
            "/api/chat/join",
            Some(t),
            Some(json!({"code": code})),
        )
    });
    let answers = futures::future::join_all(tries).await;
    let ok = answers
        .iter()
        .filter(|(st, _)| *st == StatusCode::OK)
        .count();
    assert_eq!(ok, 2, "{answers:?}");
    let (_, after) = s
        .su(Method::GET, &format!("{invites}/{}", id(&two)), None)
        .await;
    assert_eq!(after["uses"], 2);

    // A revoked invite leads nowhere; the agent joins by a fresh one.
    let (_, open) = s
        .call(
            Method::POST,
            invites,
            Some(&ann),
            Some(json!({"workspace": ws})),
        )
        .await;
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("{invites}/{}", id(&open)),
            Some(&ann),
            Some(json!({"uses": 0, "code": "X"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "code and uses are the server's"
    );
    let (_, fresh) = s
        .call(
            Method::POST,
            invites,
            Some(&ann),
            Some(json!({"workspace": ws})),
        )
        .await;
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("{invites}/{}", id(&open)),
            Some(&ann),
            Some(json!({"revoked": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .get(
            &format!(
                "/api/chat/invites/{}",
                open["code"].as_str().unwrap_or_default()
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, joined) = s
        .call(
            Method::POST,
            "/api/chat/join",
            Some(&bot),
            Some(json!({"code": fresh["code"]})),
        )
        .await;
    assert_eq!(
        (st, joined["kind"].as_str()),
        (StatusCode::OK, Some("agent")),
        "{joined}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_get_one_number_each_in_commit_order() {
    let s = gather_server().await;
    let (_ann, ann) = s.user("ann@example.com").await;
    let (_, general, _) = workspace(&s, &ann, "busy").await;
    let posts = (0..24).map(|i| {
        post_message(
            &s,
            &ann,
            json!({"channel": general, "text": format!("n{i}")}),
        )
    });
    let answers = futures::future::join_all(posts).await;
    let mut seqs: Vec<i64> = answers
        .iter()
        .map(|(st, b)| {
            assert_eq!(*st, StatusCode::OK, "{b}");
            b["seq"].as_i64().expect("seq")
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    // A direct conversation is one channel however often it is opened.
    let (bob_id, bob) = s.user("bob@example.com").await;
    let ws = answers[0].1["workspace"]
        .as_str()
        .expect("workspace")
        .to_string();
    let (_, bob_member) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/members"),
            Some(&ann),
            Some(json!({"user": bob_id})),
        )
        .await;
    let (_, ann_member) = s
        .get(
            "/api/collections/chat_members/records?filter=role%3D'owner'",
            Some(&bob),
        )
        .await;
    let path = format!("/api/chat/workspaces/{ws}/direct");
    let (st, dm) = s
        .call(
            Method::POST,
            &path,
            Some(&ann),
            Some(json!({"member": bob_member["id"]})),
        )
        .await;
    assert_eq!(
        (st, dm["kind"].as_str()),
        (StatusCode::OK, Some("direct")),
        "{dm}"
    );
    let (_, again) = s
        .call(
            Method::POST,
            &path,
            Some(&bob),
            Some(json!({"member": ann_member["items"][0]["id"]})),
        )
        .await;
    assert_eq!(again["id"], dm["id"]);

    // Only the owner deletes the workspace, and everything in it goes with it.
    let path = format!("/api/collections/chat_workspaces/records/{ws}");
    let (st, _) = s.call(Method::DELETE, &path, Some(&bob), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.call(Method::DELETE, &path, Some(&ann), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let only = url_encode(&[("filter", &format!("workspace='{ws}'"))]);
    for c in [
        "chat_members",
        "chat_channels",
        "chat_channel_members",
        "chat_messages",
    ] {
        let (_, b) = s
            .su(
                Method::GET,
                &format!("/api/collections/{c}/records?{only}"),
                None,
            )
            .await;
        assert_eq!(b["totalItems"], 0, "{c}: {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_chat_writes_count_against_its_write_limit() {
    let s = gather_server().await;
    crate::agents::gather_settings(
        &s,
        json!({"rateLimits": {"registeredWrites": {"perMinute": 1, "burst": 2}}}),
    )
    .await;
    let (_ann, ann) = s.user("ann@example.com").await;
    let (bot_id, bot_jwt) = agent(&s, "chatty", false).await;
    let bot = bearer(&bot_jwt);
    let (ws, general, _) = workspace(&s, &ann, "limits").await;
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/api/chat/workspaces/{ws}/members"),
            Some(&ann),
            Some(json!({"agent": bot_id})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut statuses = Vec::new();
    for i in 0..3 {
        let (st, b) = post_message(
            &s,
            &bot,
            json!({"channel": general, "text": format!("n{i}")}),
        )
        .await;
        statuses.push(st);
        if st == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(b["status"], 429, "{b}");
        }
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // A human is not counted by the agents' tiers.
    for i in 0..3 {
        let (st, _) = post_message(
            &s,
            &ann,
            json!({"channel": general, "text": format!("h{i}")}),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
    }
}
