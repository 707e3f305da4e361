//! The Gather agent platform at HTTP level: registration, challenge-response login,
//! agent tokens, the inbox, Twitter verification against a local oEmbed server, rate
//! limits, `/help` and `/discover`, and a challenge answered on another instance.

#[path = "../../examples/agent_client.rs"]
#[allow(dead_code)]
pub(crate) mod agent_client;

use crate::common::oembed::OEmbed;
use crate::common::*;
use agent_client::Agent;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer, SigningKey};
use gather::{AgentAuth, VerifiedAgent};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A route of a third party's that needs a verified agent: the guards are public API.
struct PartnerApi;

#[OpenApi]
impl PartnerApi {
    /// Only verified agents.
    #[oai(
        path = "/api/partner/verified-only",
        method = "post",
        operation_id = "partnerVerifiedOnly"
    )]
    async fn verified_only(&self, agent: VerifiedAgent) -> Json<Value> {
        Json(json!({"agent": agent.0.id, "handle": agent.0.twitter_handle}))
    }

    /// Any registered agent.
    #[oai(
        path = "/api/partner/whoami",
        method = "get",
        operation_id = "partnerWhoami"
    )]
    async fn whoami(&self, agent: AgentAuth) -> Json<Value> {
        Json(json!({"agent": agent.0.id, "verified": agent.0.verified}))
    }
}

/// A server with Gather; all requests come from 127.0.0.1, so the per-IP limit is
/// raised (the rate limit test sets its own).
pub(crate) async fn gather_server() -> Server {
    let s = start_with(
        |app| async move { gather::setup(&app).await.expect("gather setup") },
        (gather::api(), PartnerApi),
    )
    .await;
    gather_settings(
        &s,
        json!({"rateLimits": {"perIp": {"perMinute": 100000, "burst": 100000}}}),
    )
    .await;
    s
}

pub(crate) fn new_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

pub(crate) fn pem(key: &SigningKey) -> String {
    key.verifying_key()
        .to_public_key_pem(Default::default())
        .expect("pem")
}

pub(crate) async fn post(
    s: &Server,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    s.call(Method::POST, path, token, Some(body)).await
}

pub(crate) async fn register(s: &Server, key: &SigningKey, name: &str) -> Value {
    let (st, b) = post(
        s,
        "/api/agents/register",
        None,
        json!({"name": name, "public_key": pem(key)}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "register: {b}");
    b
}

/// Challenge, sign, authenticate against `base`; returns the authenticate answer.
async fn login_at(s: &Server, base: &str, key: &SigningKey) -> Value {
    let nonce = challenge_at(s, base, key).await;
    let sig = B64.encode(key.sign(&B64.decode(nonce).expect("base64")).to_bytes());
    let r = s
        .http
        .post(format!("{base}/api/agents/authenticate"))
        .json(&json!({"public_key": pem(key), "signature": sig}))
        .send()
        .await
        .expect("authenticate");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

async fn challenge_at(s: &Server, base: &str, key: &SigningKey) -> String {
    let r = s
        .http
        .post(format!("{base}/api/agents/challenge"))
        .json(&json!({"public_key": pem(key)}))
        .send()
        .await
        .expect("challenge");
    assert_eq!(r.status(), StatusCode::OK);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["expires_in"], 300);
    b["nonce"].as_str().expect("nonce").to_string()
}

pub(crate) async fn login(s: &Server, key: &SigningKey) -> String {
    login_at(s, &s.base, key).await["token"]
        .as_str()
        .expect("token")
        .to_string()
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&raw).expect("claims")
}

pub(crate) async fn gather_settings(s: &Server, patch: Value) {
    let (st, b) = s
        .su(Method::PATCH, "/api/gather/settings", Some(patch))
        .await;
    assert_eq!(st, StatusCode::OK, "gather settings: {b}");
}

#[tokio::test]
async fn register_login_and_read_the_inbox() {
    let s = gather_server().await;
    let key = new_key();
    let r = register(&s, &key, "Test agent").await;
    let agent_id = r["agent_id"].as_str().expect("id").to_string();
    let code = r["verification_code"].as_str().expect("code");
    assert!(code.starts_with("gtr-") && code.len() == 8, "{code}");
    assert_eq!(r["expires_in"], "30 minutes");
    assert_eq!(
        r["tweet_template"],
        format!("Registering my agent 'Test agent' on @gather_is! Code: {code}")
    );

    let auth = login_at(&s, &s.base, &key).await;
    assert_eq!(auth["agent_id"], agent_id.as_str());
    assert_eq!(auth["expires_in"], 3600);
    assert_eq!(auth["unread_messages"], 1, "the welcome message");
    let token = auth["token"].as_str().expect("token").to_string();
    let c = claims(&token);
    use sha2::Digest;
    let fp: String = sha2::Sha256::digest(key.verifying_key().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        (c["agent_id"].as_str(), c["sub"].as_str()),
        (Some(agent_id.as_str()), Some(agent_id.as_str()))
    );
    assert_eq!(c["pubkey_fp"], fp.as_str());
    assert_eq!(c["iss"], "gather.is");
    assert_eq!(
        c["exp"].as_u64().unwrap_or(0) - c["iat"].as_u64().unwrap_or(0),
        3600
    );

    // Bearer or bare, the token works; the inbox holds the welcome message.
    for auth in [format!("Bearer {token}"), token.clone()] {
        let (st, b) = s.get("/api/inbox", Some(&auth)).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        assert_eq!(
            (b["total"].clone(), b["unread"].clone()),
            (json!(1), json!(1))
        );
        let m = &b["messages"][0];
        assert_eq!(
            (m["type"].as_str(), m["subject"].as_str()),
            (Some("welcome"), Some("Welcome to Gather!"))
        );
        assert!(m["created"].as_str().is_some_and(|c| !c.is_empty()));
        assert!(m.get("agent_id").is_none());
    }
    let (_, b) = s.get("/api/inbox", Some(&token)).await;
    let mid = b["messages"][0]["id"].as_str().expect("id").to_string();
    let (st, b) = s
        .call(
            Method::PUT,
            &format!("/api/inbox/{mid}/read"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((st, b), (StatusCode::OK, json!({"status": "read"})));
    let (_, b) = s.get("/api/inbox/unread", Some(&token)).await;
    assert_eq!(b, json!({"unread": 0}));
    let (_, b) = s.get("/api/inbox?unread_only=true", Some(&token)).await;
    assert_eq!(
        (b["total"].clone(), b["messages"].clone()),
        (json!(0), json!([]))
    );
    let (st, b) = s
        .call(
            Method::DELETE,
            &format!("/api/inbox/{mid}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((st, b), (StatusCode::OK, json!({"status": "deleted"})));
    let (_, b) = s.get("/api/inbox", Some(&token)).await;
    assert_eq!(b["total"], 0);

    // A third party's route sees the agent through the same guard.
    let (st, b) = s.get("/api/partner/whoami", Some(&token)).await;
    assert_eq!(
        (st, b),
        (
            StatusCode::OK,
            json!({"agent": agent_id, "verified": false})
        )
    );
    // ...and is refused to unverified agents where it needs verification.
    let (st, b) = post(&s, "/api/partner/verified-only", Some(&token), json!({})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    assert!(b["message"]
        .as_str()
        .unwrap_or_default()
        .contains("verified"));
}

#[tokio::test]
async fn the_example_client_works() {
    let s = gather_server().await;
    let key = new_key();
    let agent = Agent::register(&s.base, key.clone(), "Example")
        .await
        .expect("example client");
    assert!(agent.verification_code.is_some());
    let inbox = agent.inbox().await.expect("inbox");
    assert_eq!(inbox.unread, 1);
    assert_eq!(inbox.subjects, vec!["Welcome to Gather!".to_string()]);
    // Registering again is refused; logging in again works.
    assert!(Agent::register(&s.base, key.clone(), "Example")
        .await
        .is_err());
    let again = Agent::login(&s.base, key).await.expect("login");
    assert_eq!(again.id, agent.id);
    // An unknown key cannot log in.
    assert!(Agent::login(&s.base, new_key()).await.is_err());
}

#[tokio::test]
async fn bad_keys_and_bad_registrations() {
    let s = gather_server().await;
    let rsa = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQD7LU1l1VClt4m61qrrmAOc2xk5\n1ZmQb1vnF00ynUJWMZYJ59RahR2LPPXhi+WAgtMj5+/rL6SDaNiON4Q/SAaUeFa3\nZkVh/YAg3WPnriUiclx2GvCjxFWybQZ9Lnn2ACeHDqY2zMNLt8V3HvcBJwM/t/Vv\nGAzVQ1TC9AHUElMNhQIDAQAB\n-----END PUBLIC KEY-----\n";
    for (body, why) in [
        (json!({"name": "a", "public_key": "not a key"}), "no PEM"),
        (
            json!({"name": "a", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}),
            "bad DER",
        ),
        (json!({"name": "a", "public_key": rsa}), "RSA"),
    ] {
        let (st, b) = post(&s, "/api/agents/register", None, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{why}: {b}");
        assert_eq!(
            b["data"]["public_key"]["code"], "validation_invalid_public_key",
            "{why}: {b}"
        );
    }
    let key = new_key();
    for body in [
        json!({"name": "", "public_key": pem(&key)}),
        json!({"name": "x".repeat(101), "public_key": pem(&key)}),
        json!({"name": "a", "description": "d".repeat(501), "public_key": pem(&key)}),
        json!({"public_key": pem(&key)}),
    ] {
        let (st, b) = post(&s, "/api/agents/register", None, body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["status"], 400);
    }
    // Unknown keys are ignored, as on every route (and as the OpenAPI document says).
    let extras =
        json!({"name": "a", "public_key": pem(&new_key()), "extra": true, "nested": {"x": 1}});
    let (st, b) = post(&s, "/api/agents/register", None, extras).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s
        .http
        .post(format!("{}/api/agents/register", s.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .expect("send");
    assert_eq!((st, b), (StatusCode::BAD_REQUEST, ()));
    register(&s, &key, "First").await;
    let (st, b) = post(
        &s,
        "/api/agents/register",
        None,
        json!({"name": "Again", "public_key": pem(&key)}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["data"]["public_key"]["code"], "validation_not_unique");
    // An unknown key gets no challenge.
    let (st, b) = post(
        &s,
        "/api/agents/challenge",
        None,
        json!({"public_key": pem(&new_key())}),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn challenges_are_single_use_and_expire() {
    let s = gather_server().await;
    let key = new_key();
    register(&s, &key, "Agent").await;
    let auth = |sig: String| {
        let s = &s;
        let key = &key;
        async move {
            post(
                s,
                "/api/agents/authenticate",
                None,
                json!({"public_key": pem(key), "signature": sig}),
            )
            .await
        }
    };
    // No challenge yet.
    let (st, b) = auth(B64.encode([0u8; 64])).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    let nonce = challenge_at(&s, &s.base, &key).await;
    let raw = B64.decode(&nonce).expect("base64");
    // Bad encodings, a wrong key, the base64 text signed instead of the bytes.
    for bad in ["%%%".to_string(), B64.encode([1u8; 10])] {
        let (st, b) = auth(bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(
            b["data"]["signature"]["code"],
            "validation_invalid_signature"
        );
    }
    let (st, _) = auth(B64.encode(new_key().sign(&raw).to_bytes())).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = auth(B64.encode(key.sign(nonce.as_bytes()).to_bytes())).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "the nonce's bytes are signed, not its text"
    );
    // Failed attempts do not use the challenge up; the right signature does.
    let good = B64.encode(key.sign(&raw).to_bytes());
    let (st, b) = auth(good.clone()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = auth(good.clone()).await;
    assert_eq!(
        st,
        StatusCode::BAD_REQUEST,
        "a replay finds no challenge: {b}"
    );
    // With a newer challenge pending, the old signature still does not work.
    let _ = challenge_at(&s, &s.base, &key).await;
    let (st, _) = auth(good).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // An expired challenge (moved into the past by a superuser) fails.
    let nonce = challenge_at(&s, &s.base, &key).await;
    let filter = format!("nonce = '{nonce}'");
    let (_, list) = s
        .list(
            "agent_challenges",
            &[("filter", &filter)],
            Some(&s.su_token.clone()),
        )
        .await;
    let cid = list["items"][0]["id"]
        .as_str()
        .expect("challenge row")
        .to_string();
    let (st, b) = s
        .su(
            Method::PATCH,
            &format!("/api/collections/agent_challenges/records/{cid}"),
            Some(json!({"expires": "2020-01-01 00:00:00.000Z"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let sig = B64.encode(key.sign(&B64.decode(&nonce).expect("b64")).to_bytes());
    let (st, b) = post(
        &s,
        "/api/agents/authenticate",
        None,
        json!({"public_key": pem(&key), "signature": sig, "nonce": nonce}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn tokens_are_checked() {
    let s = gather_server().await;
    let key = new_key();
    let r = register(&s, &key, "Agent").await;
    let token = login(&s, &key).await;
    let (st, b) = s.get("/api/inbox", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "no token: {b}");
    assert_eq!(b["status"], 401);
    // Forged: same claims, another key.
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims(&token),
        &jsonwebtoken::EncodingKey::from_secret(b"an attacker's key, at least 32 bytes long"),
    )
    .expect("encode");
    let tampered = format!("{}x", &token[..token.len() - 1]);
    for bad in [forged, tampered, "garbage".to_string(), s.su_token.clone()] {
        let (st, b) = s.get("/api/inbox", Some(&bad)).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{b}");
    }
    // Expired: tokens for one second.
    gather_settings(&s, json!({"jwtSeconds": 1})).await;
    let short = login(&s, &key).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (st, _) = s.get("/api/inbox", Some(&short)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "expired");
    // A deleted agent's token dies with it.
    let id = r["agent_id"].as_str().expect("id");
    let (st, _) = s
        .su(
            Method::DELETE,
            &format!("/api/collections/agents/records/{id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.get("/api/inbox", Some(&token)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "deleted agent");
    // Agents' rows are for superusers only through the generic API.
    let (st, _) = s.get("/api/collections/agents/records", None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn agents_only_see_their_own_messages() {
    let s = gather_server().await;
    let (a, b) = (new_key(), new_key());
    let ra = register(&s, &a, "A").await;
    register(&s, &b, "B").await;
    let (ta, tb) = (login(&s, &a).await, login(&s, &b).await);
    let aid = ra["agent_id"].as_str().expect("id");
    for i in 0..5 {
        // Apart in time, so "newest first" has one answer.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        gather::send_inbox_message(
            &s.app,
            aid,
            gather::MessageType::System,
            &format!("note {i}"),
            "body",
            Some(("order", "ord1")),
        )
        .await
        .expect("send");
    }
    let (_, page) = s.get("/api/inbox?limit=2&offset=1", Some(&ta)).await;
    assert_eq!(page["total"], 6);
    let subjects: Vec<&str> = page["messages"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .collect();
    assert_eq!(subjects, vec!["note 3", "note 2"], "newest first");
    assert_eq!(page["messages"][0]["ref_type"], "order");
    let (st, b) = s.get("/api/inbox?limit=0", Some(&ta)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, _) = s.get("/api/inbox?limit=101", Some(&ta)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let mid = page["messages"][0]["id"].as_str().expect("id");
    let (_, theirs) = s.get("/api/inbox", Some(&tb)).await;
    assert_eq!(theirs["total"], 1, "B sees only its welcome");
    for (m, path) in [
        (Method::PUT, format!("/api/inbox/{mid}/read")),
        (Method::DELETE, format!("/api/inbox/{mid}")),
    ] {
        let (st, b) = s.call(m, &path, Some(&tb), None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    }
    let (st, _) = s
        .call(
            Method::PUT,
            "/api/inbox/nosuchmessage12/read",
            Some(&ta),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, still) = s.get("/api/inbox?unread_only=true", Some(&ta)).await;
    assert_eq!(still["total"], 6, "B's attempts changed nothing");
}

#[tokio::test]
async fn twitter_verification() {
    let s = gather_server().await;
    let oembed = OEmbed::start().await;
    gather_settings(&s, json!({"twitter": {"oembedURL": oembed.url}})).await;
    let key = new_key();
    let r = register(&s, &key, "Tweeter").await;
    let (id, code) = (
        r["agent_id"].as_str().expect("id"),
        r["verification_code"].as_str().expect("code"),
    );
    let verify = |agent: String, url: &str| {
        let s = &s;
        let url = url.to_string();
        async move {
            post(
                s,
                "/api/agents/verify",
                None,
                json!({"agent_id": agent, "tweet_url": url}),
            )
            .await
        }
    };
    oembed.tweet(
        "https://twitter.com/alice/status/1",
        "alice",
        "Registering on @gather_is but no code",
    );
    oembed.tweet(
        "https://twitter.com/alice/status/2",
        "alice",
        &format!("My code is {code}, no mention"),
    );
    oembed.tweet(
        "https://twitter.com/Alice/status/3",
        "Alice",
        &format!("Registering my agent on @Gather_IS! Code: {code}"),
    );
    for (url, why) in [
        ("https://x.com/alice/status/1", "no code"),
        ("https://x.com/alice/status/2", "no mention"),
        ("https://x.com/alice/status/404", "no such tweet"),
        ("https://example.com/not-a-tweet", "not a tweet URL"),
    ] {
        let (st, b) = verify(id.to_string(), url).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{why}: {b}");
    }
    let (st, b) = verify("nosuchagent0000".into(), "https://x.com/Alice/status/3").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    let (st, b) = verify(id.to_string(), "https://x.com/Alice/status/3?s=20").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"status": "verified", "agent_id": id, "twitter_handle": "alice"})
    );
    let (st, _) = verify(id.to_string(), "https://x.com/Alice/status/3").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "already verified");
    let token = login(&s, &key).await;
    let (st, b) = post(&s, "/api/partner/verified-only", Some(&token), json!({})).await;
    assert_eq!(
        (st, b),
        (StatusCode::OK, json!({"agent": id, "handle": "alice"}))
    );

    // The same Twitter account cannot verify a second agent within 24 hours.
    let other = new_key();
    let r2 = register(&s, &other, "Second").await;
    let code2 = r2["verification_code"].as_str().expect("code");
    oembed.tweet(
        "https://twitter.com/alice/status/4",
        "alice",
        &format!("@gather_is {code2}"),
    );
    let (st, b) = verify(
        r2["agent_id"].as_str().expect("id").into(),
        "https://twitter.com/alice/status/4",
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{b}");

    // An expired code cannot verify.
    let third = new_key();
    let r3 = register(&s, &third, "Third").await;
    let id3 = r3["agent_id"].as_str().expect("id");
    let (st, _) = s
        .su(
            Method::PATCH,
            &format!("/api/collections/agents/records/{id3}"),
            Some(json!({"code_expires_at": "2020-01-01 00:00:00.000Z"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    oembed.tweet(
        "https://twitter.com/bob/status/5",
        "bob",
        &format!(
            "@gather_is {}",
            r3["verification_code"].as_str().unwrap_or_default()
        ),
    );
    let (st, b) = verify(id3.into(), "https://twitter.com/bob/status/5").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["message"]
        .as_str()
        .unwrap_or_default()
        .contains("expired"));
}

#[tokio::test]
async fn rate_limits_per_ip_and_per_agent_tier() {
    let s = gather_server().await;
    let oembed = OEmbed::start().await;
    gather_settings(&s, json!({
        "twitter": {"oembedURL": oembed.url},
        "rateLimits": {"registeredWrites": {"perMinute": 1, "burst": 2}, "verifiedWrites": {"perMinute": 1, "burst": 4}}
    }))
    .await;
    let key = new_key();
    let r = register(&s, &key, "Writer").await;
    let token = login(&s, &key).await;
    let write = || {
        let s = &s;
        let token = token.clone();
        async move {
            s.call(
                Method::PUT,
                "/api/inbox/nosuchmessage12/read",
                Some(&token),
                None,
            )
            .await
            .0
        }
    };
    assert_eq!(write().await, StatusCode::NOT_FOUND);
    assert_eq!(write().await, StatusCode::NOT_FOUND);
    let resp = s
        .http
        .put(format!("{}/api/inbox/nosuchmessage12/read", s.base))
        .header("Authorization", &token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    let b: Value = resp.json().await.expect("envelope");
    assert_eq!(b["status"], 429);
    // Verification moves the agent to the verified tier, with its own allowance.
    let code = r["verification_code"].as_str().expect("code");
    oembed.tweet(
        "https://twitter.com/writer/status/9",
        "writer",
        &format!("@gather_is {code}"),
    );
    let (st, b) = post(
        &s,
        "/api/agents/verify",
        None,
        json!({"agent_id": r["agent_id"], "tweet_url": "https://x.com/writer/status/9"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(write().await, StatusCode::NOT_FOUND, "verified tier");

    // Per IP: every Gather route counts.
    gather_settings(
        &s,
        json!({"rateLimits": {"perIp": {"perMinute": 1, "burst": 3}}}),
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(s.get("/api/auth/health", None).await.0);
    }
    assert!(codes[..2].iter().all(|c| *c == StatusCode::OK), "{codes:?}");
    assert_eq!(codes[4], StatusCode::TOO_MANY_REQUESTS, "{codes:?}");
    // The framework's own routes are not Gather's to limit.
    assert_eq!(s.get("/api/health", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn help_and_discover_follow_the_routes() {
    let s = gather_server().await;
    let (st, help) = s.get("/help", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(help["prerequisites"][0]["id"], "ed25519_keypair");
    let steps: Vec<u64> = help["workflow"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_u64())
        .collect();
    assert_eq!(steps, (1..=steps.len() as u64).collect::<Vec<_>>());
    let (_, spec) = s.get("/openapi.json", None).await;
    let endpoints = help["endpoints"].as_array().expect("endpoints");
    for e in endpoints {
        let (m, p) = (
            e["method"].as_str().unwrap_or_default(),
            e["path"].as_str().unwrap_or_default(),
        );
        if ["/", "/docs", "/openapi.json"].contains(&p) {
            continue;
        }
        assert!(
            spec["paths"][p][m.to_lowercase()].is_object(),
            "{m} {p} is in /help but not in the API"
        );
    }
    // Each route once, and none that needs a superuser.
    let mut seen = std::collections::HashSet::new();
    for e in endpoints {
        let key = format!("{} {}", e["method"], e["path"]);
        assert!(seen.insert(key.clone()), "{key} is listed twice");
        let (m, p) = (
            e["method"].as_str().unwrap_or_default().to_lowercase(),
            e["path"].as_str().unwrap_or_default(),
        );
        let security = spec["paths"][p][&m]["security"].to_string();
        assert!(
            !security.contains("SuperuserToken"),
            "{key} needs a superuser"
        );
    }
    assert!(!endpoints
        .iter()
        .any(|e| e["path"] == "/api/gather/settings"));
    let settings_op = &spec["paths"]["/api/gather/settings"]["get"]["security"];
    assert!(
        settings_op.to_string().contains("SuperuserToken"),
        "{settings_op}"
    );
    let register = endpoints
        .iter()
        .find(|e| e["path"] == "/api/agents/register")
        .expect("register listed");
    assert!(!register["tips"].as_array().expect("tips").is_empty());
    assert!(endpoints
        .iter()
        .any(|e| e["path"] == "/api/inbox/{id}/read" && e["method"] == "PUT"));
    // The skills workflow is there, from the routes.
    for path in [
        "/api/skills",
        "/api/skills/{id}/SKILL.md",
        "/api/skills/{id}/install",
    ] {
        assert!(endpoints.iter().any(|e| e["path"] == path), "{path}");
    }

    let (st, d) = s.get("/discover", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (d["name"].as_str(), d["getting_started"].as_str()),
        (Some("Gather"), Some("/help"))
    );
    assert_eq!(d["key_endpoints"]["skills"], "GET /api/skills");
    for (_, v) in d["key_endpoints"].as_object().expect("keys") {
        let (m, p) = v
            .as_str()
            .and_then(|v| v.split_once(' '))
            .expect("METHOD path");
        assert!(spec["paths"][p][m.to_lowercase()].is_object(), "{v}");
    }
    let r = s
        .http
        .get(format!("{}/", s.base))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("root");
    assert_eq!(r.json::<Value>().await.expect("json"), d);
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // Browsers get the landing page (tests/platform/pages.rs); other clients the docs.
    let r = no_redirect
        .get(format!("{}/", s.base))
        .header("Accept", "text/plain")
        .send()
        .await
        .expect("root");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/docs");
    // The guards document themselves in the OpenAPI document.
    assert!(spec["components"]["securitySchemes"]["AgentToken"].is_object());
}

#[tokio::test]
async fn a_challenge_from_one_instance_is_answered_at_another() {
    let s = gather_server().await;
    let (twin, _stop) = s
        .twin_with(
            |app| async move { gather::setup(&app).await.expect("setup") },
            gather::api(),
        )
        .await;
    let key = new_key();
    register(&s, &key, "Roamer").await;
    // Challenge at A, answer at B; the token from B works at A.
    let nonce = challenge_at(&s, &s.base, &key).await;
    let sig = B64.encode(key.sign(&B64.decode(&nonce).expect("b64")).to_bytes());
    let r = s
        .http
        .post(format!("{twin}/api/agents/authenticate"))
        .json(&json!({"public_key": pem(&key), "signature": sig}))
        .send()
        .await
        .expect("auth at B");
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (st, _) = s.get("/api/inbox", Some(&token)).await;
    assert_eq!(st, StatusCode::OK, "both instances share the signing key");
    // The challenge is used up everywhere.
    let again = s
        .http
        .post(format!("{}/api/agents/authenticate", s.base))
        .json(&json!({"public_key": pem(&key), "signature": sig}))
        .send()
        .await
        .expect("replay at A");
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

/// Every string the database holds under `v`.
fn strings_in(v: &Value, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::String(s) => out.push(s.clone().into_bytes()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings_in(x, out)),
        _ => {}
    }
}

fn sign_claims(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("sign")
}

/// A leaked database is harmless: with everything in it and the public code, no agent
/// or record token can be made that the server accepts. The keys live in files (0600).
#[tokio::test]
async fn a_copy_of_the_database_forges_no_token() {
    let s = gather_server().await;
    let key = new_key();
    register(&s, &key, "target").await;
    let agent_token = login(&s, &key).await;
    let (uid, user_token) = s.user("victim@example.com").await;

    // Every value that could be a key: each string in `_params` and every auth
    // collection's secrets, alone and as PocketBase combines them with a token key.
    let mut candidates: Vec<Vec<u8>> = vec![vec![]];
    let d = s.app.dialect();
    let rows = s
        .app
        .db()
        .query_all(d.raw("SELECT \"value\" FROM \"_params\"".to_string(), vec![]))
        .await
        .expect("params");
    for r in rows {
        let v: Value = serde_json::from_str(&r.string("value").expect("value")).expect("json");
        strings_in(&v, &mut candidates);
    }
    let row = s
        .app
        .db()
        .query_one(d.raw(
            format!(
                "SELECT \"tokenKey\" FROM \"users\" WHERE \"id\" = {}",
                d.param(1)
            ),
            vec![uid.clone().into()],
        ))
        .await
        .expect("user row")
        .expect("user");
    let token_key = row.string("tokenKey").expect("tokenKey");
    for c in s.app.collections().iter().filter(|c| c.is_auth()) {
        let secret = c.auth.as_ref().expect("auth options").token_secret.clone();
        candidates.push(format!("{token_key}{secret}").into_bytes());
        candidates.push(secret.into_bytes());
    }

    let secrets = s.config().secrets_dir.expect("secrets dir");
    let jwt_key = std::fs::read(secrets.join("jwt.key")).expect("jwt.key");
    let server_secret = std::fs::read(secrets.join("token.key")).expect("token.key");
    #[cfg(unix)]
    for f in ["jwt.key", "token.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(secrets.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    assert!(
        !candidates.contains(&jwt_key),
        "the agent key is not in the database"
    );

    let agent_claims = claims(&agent_token);
    let user_claims = claims(&user_token);
    for k in &candidates {
        let forged = sign_claims(&agent_claims, k);
        let (st, _) = s.get("/api/inbox", Some(&forged)).await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "agent token forged from the database"
        );
        let forged = sign_claims(&user_claims, k);
        let (st, _) = s
            .call(
                Method::POST,
                "/api/collections/users/auth-refresh",
                Some(&forged),
                None,
            )
            .await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "record token forged from the database"
        );
    }
    // The forging is faithful: with the keys from the files, the same claims work.
    let (st, _) = s
        .get("/api/inbox", Some(&sign_claims(&agent_claims, &jwt_key)))
        .await;
    assert_eq!(st, StatusCode::OK);
    let users = s.app.collection("users").expect("users");
    let secret = users.auth.as_ref().expect("auth").token_secret.clone();
    let mut full = format!("{token_key}{secret}").into_bytes();
    full.extend_from_slice(&server_secret);
    let (st, _) = s
        .call(
            Method::POST,
            "/api/collections/users/auth-refresh",
            Some(&sign_claims(&user_claims, &full)),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // On PostgreSQL, where instances share the database, a server with no explicit place
    // for its secrets refuses to start and says how to give one.
    if is_postgres() {
        let mut config = s.config();
        gather::configure(&mut config);
        config.secrets_dir = None;
        config.data_dir = config.data_dir.join("elsewhere");
        let err = framework::App::open(config).await.err().expect("refused");
        let msg = err.to_string();
        assert!(
            msg.contains("GATHER_TOKEN_SECRET") && msg.contains("--secrets-dir"),
            "{msg}"
        );
    }
}

/// A key an older version generated into `_params` moves to the key file on upgrade,
/// leaves the database, and the tokens it signed keep working.
#[tokio::test]
async fn a_key_kept_in_the_database_moves_to_the_key_file() {
    let old = "an-old-generated-key-".repeat(4);
    let kept = old.clone();
    let s = start_with(
        move |app| async move {
            framework::settings::save(&app, "gather_jwt_key", &json!(kept))
                .await
                .expect("old key");
            gather::setup(&app).await.expect("gather setup");
        },
        gather::api(),
    )
    .await;
    let left = framework::settings::load(&s.app, "gather_jwt_key")
        .await
        .expect("params");
    assert!(left.is_none(), "the key left the database");
    let file = s.config().secrets_dir.expect("secrets").join("jwt.key");
    assert_eq!(std::fs::read_to_string(file).expect("jwt.key"), old);
    let key = new_key();
    register(&s, &key, "upgraded").await;
    let token = login(&s, &key).await;
    let before_upgrade = sign_claims(&claims(&token), old.as_bytes());
    let (st, _) = s.get("/api/inbox", Some(&before_upgrade)).await;
    assert_eq!(st, StatusCode::OK);
}

/// Values from a request are bound into the engine's filters, never written into them:
/// text that would be filter syntax is just a value that matches nothing.
#[tokio::test]
async fn request_values_never_become_filter_syntax() {
    let s = gather_server().await;
    let key = new_key();
    register(&s, &key, "bound").await;
    let nonce = challenge_at(&s, &s.base, &key).await;
    let sig = B64.encode(key.sign(&B64.decode(&nonce).expect("base64")).to_bytes());
    for probe in [
        "x\\",
        "' || nonce != '",
        "\" || nonce != \"",
        "{:agent}",
        "x' && ",
    ] {
        let (st, b) = post(
            &s,
            "/api/agents/authenticate",
            None,
            json!({"public_key": pem(&key), "signature": sig, "nonce": probe}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{probe}: {b}");
        assert!(b["data"].get("filter").is_none(), "{probe}: {b}");
        assert!(
            !b["message"].as_str().unwrap_or_default().contains("filter"),
            "{b}"
        );
    }
    let (st, _) = post(
        &s,
        "/api/agents/authenticate",
        None,
        json!({"public_key": pem(&key), "signature": sig, "nonce": "n".repeat(101)}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "an over-long nonce");
    // The real nonce still works once.
    let (st, b) = post(
        &s,
        "/api/agents/authenticate",
        None,
        json!({"public_key": pem(&key), "signature": sig, "nonce": nonce}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}
