//! Chat fan-out: MEMBERS humans in one channel of a Gather server, each on its own SSE
//! stream under its own token (so every delivery passes the chat rules for that member),
//! and one member posting RATE messages a second for SECONDS. Reports the delivery
//! latency (post sent → frame read) over every delivery, the share delivered, and the
//! server's memory per connected member (RSS before and after they connect).
//!
//!   cargo run --release --example chat_bench -- --base http://127.0.0.1:8094 \
//!       --email admin@example.com --password pass --pid <server pid> \
//!       --members 1000 --rate 100 --seconds 10

use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    base: String,
    email: String,
    password: String,
    pid: u32,
    members: usize,
    rate: u64,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args {
        base: "http://127.0.0.1:8094".into(),
        email: "admin@example.com".into(),
        password: "admin-password-123".into(),
        pid: 0,
        members: 1000,
        rate: 100,
        seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--base" => a.base = v,
            "--email" => a.email = v,
            "--password" => a.password = v,
            "--pid" => a.pid = v.parse().expect("--pid N"),
            "--members" => a.members = v.parse().expect("--members N"),
            "--rate" => a.rate = v.parse().expect("--rate N"),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// The server's resident memory in KiB (0 when it cannot be read).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> Value {
    let r = http
        .request(method, url)
        .header("Authorization", token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {v}");
    v
}

/// Runs `requests` (`{method, url, body}`) through the batch API, 50 at a time.
async fn batch(http: &reqwest::Client, base: &str, su: &str, requests: Vec<Value>) {
    for chunk in requests.chunks(50) {
        call(
            http,
            reqwest::Method::POST,
            format!("{base}/api/batch"),
            su,
            json!({"requests": chunk}),
        )
        .await;
    }
}

/// When each message was sent, and every delivery's latency in ms.
struct Log {
    sent: Mutex<Vec<Option<Instant>>>,
    latencies: Mutex<Vec<f64>>,
}

async fn member(
    http: reqwest::Client,
    base: String,
    token: String,
    topic: String,
    log: Arc<Log>,
    ready: Arc<tokio::sync::Semaphore>,
    handshake: tokio::sync::OwnedSemaphorePermit,
) -> Result<(), String> {
    let mut handshake = Some(handshake);
    let resp = http
        .get(format!("{base}/api/realtime"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut body = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let mut subscribed = false;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        let now = Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(end) = find(&buf, b"\n\n") {
            let frame: Vec<u8> = buf.drain(..end + 2).collect();
            if !subscribed {
                let text = String::from_utf8_lossy(&frame);
                let Some(id) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("data:"))
                    .and_then(|d| serde_json::from_str::<Value>(d.trim()).ok())
                    .and_then(|v| v["clientId"].as_str().map(String::from))
                else {
                    continue;
                };
                let r = http
                    .post(format!("{base}/api/realtime"))
                    .header("Authorization", &token)
                    .json(&json!({"clientId": id, "subscriptions": [topic]}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status() != 204 {
                    return Err(format!("subscribe: {}", r.status()));
                }
                subscribed = true;
                handshake.take();
                ready.add_permits(1);
                continue;
            }
            // The text is "m<N>": find it without parsing the whole record.
            if let Some(i) = find(&frame, b"\"text\":\"m") {
                let n: usize = frame[i + 9..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .fold(0, |acc, b| acc * 10 + (b - b'0') as usize);
                let sent = log
                    .sent
                    .lock()
                    .ok()
                    .and_then(|s| s.get(n).copied().flatten());
                if let (Some(t), Ok(mut l)) = (sent, log.latencies.lock()) {
                    l.push(now.duration_since(t).as_secs_f64() * 1000.0);
                }
            }
        }
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::main]
async fn main() {
    let a = args();
    let base = a.base.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let login = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/collections/_superusers/auth-with-password"),
        "",
        json!({"identity": a.email, "password": a.password}),
    )
    .await;
    let su = login["token"]
        .as_str()
        .expect("superuser token")
        .to_string();

    // The members: users made through the batch API, their tokens by impersonation
    // (no password hashing in the measurement's way).
    let ids: Vec<String> = (0..a.members).map(|i| format!("chatbench{i:06}")).collect();
    let users = ids
        .iter()
        .map(|id| {
            json!({"method": "POST", "url": "/api/collections/users/records", "body": {
                "id": id, "email": format!("{id}@example.com"), "password": "bench-password-123",
                "passwordConfirm": "bench-password-123", "name": id}})
        })
        .collect();
    batch(&http, &base, &su, users).await;
    let mut tokens = Vec::with_capacity(a.members);
    for chunk in ids.chunks(32) {
        let calls = chunk.iter().map(|id| {
            call(
                &http,
                reqwest::Method::POST,
                format!("{base}/api/collections/users/impersonate/{id}"),
                &su,
                json!({"duration": 3600}),
            )
        });
        for v in futures::future::join_all(calls).await {
            tokens.push(v["token"].as_str().expect("token").to_string());
        }
    }
    let made = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/chat/workspaces"),
        &tokens[0],
        json!({"name": "Bench", "slug": "bench"}),
    )
    .await;
    let ws = made["workspace"]["id"]
        .as_str()
        .expect("workspace")
        .to_string();
    let general = made["channel"]["id"].as_str().expect("channel").to_string();
    let mut rows = Vec::new();
    for (i, id) in ids.iter().enumerate().skip(1) {
        let member = format!("chatmemb{i:07}");
        rows.push(
            json!({"method": "POST", "url": "/api/collections/chat_members/records", "body": {
            "id": member, "workspace": ws, "user": id, "role": "member"}}),
        );
        rows.push(json!({"method": "POST", "url": "/api/collections/chat_channel_members/records", "body": {
            "workspace": ws, "channel": general, "member": member, "who": id, "who_collection": "users"}}));
    }
    batch(&http, &base, &su, rows).await;

    let total = (a.rate * a.seconds) as usize;
    let log = Arc::new(Log {
        sent: Mutex::new(vec![None; total]),
        latencies: Mutex::new(Vec::with_capacity(total * a.members)),
    });
    let options = json!({"query": {"filter": format!("channel='{general}'")}}).to_string();
    let topic = format!(
        "chat_messages/*?options={}",
        url::form_urlencoded::byte_serialize(options.as_bytes()).collect::<String>()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(a.pid);
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let started = Instant::now();
    for token in &tokens {
        let (http, base, token, topic, log, ready, gate) = (
            http.clone(),
            base.clone(),
            token.clone(),
            topic.clone(),
            log.clone(),
            ready.clone(),
            gate.clone(),
        );
        tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            if let Err(e) = member(http, base, token, topic, log, ready, permit).await {
                eprintln!("member: {e}");
            }
        });
    }
    ready
        .acquire_many(a.members as u32)
        .await
        .expect("members ready")
        .forget();
    let connect_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = rss_kib(a.pid);

    eprintln!("posting");
    // The poster: one message every 1/RATE s, each sent without waiting for the last.
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / a.rate.max(1)));
    let mut posts = Vec::with_capacity(total);
    let poster = tokens[0].clone();
    for n in 0..total {
        tick.tick().await;
        if let Ok(mut s) = log.sent.lock() {
            s[n] = Some(Instant::now());
        }
        let (http, url, poster, general) = (
            http.clone(),
            format!("{base}/api/collections/chat_messages/records"),
            poster.clone(),
            general.clone(),
        );
        posts.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .header("Authorization", poster)
                .json(&json!({"channel": general, "text": format!("m{n}")}))
                .send()
                .await;
            r.map(|r| r.status().is_success()).unwrap_or(false)
        }));
    }
    let mut failed_posts = 0;
    for p in posts {
        if !p.await.unwrap_or(false) {
            failed_posts += 1;
        }
    }
    let expected = total * a.members;
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.latencies.lock().map(|l| l.len()).unwrap_or(0) < expected && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies = log.latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort_by(|x, y| x.total_cmp(y));
    let q = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let per_member_kib = rss_connected.saturating_sub(rss_before) as f64 / a.members as f64;
    let out = json!({
        "members": a.members,
        "messages": total,
        "rate_per_s": a.rate,
        "failed_posts": failed_posts,
        "delivered_share": round(latencies.len() as f64 / expected as f64),
        "connect_subscribe_s": round(connect_s),
        "latency_ms_p50": round(q(0.5)),
        "latency_ms_p99": round(q(0.99)),
        "latency_ms_max": round(q(1.0)),
        "rss_before_mb": round(rss_before as f64 / 1024.0),
        "rss_connected_mb": round(rss_connected as f64 / 1024.0),
        "kib_per_member": round(per_member_kib),
        "peak_rss_mb": round(rss_kib(a.pid) as f64 / 1024.0),
    });
    println!("{out}");
}
