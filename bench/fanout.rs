//! Realtime fan-out: K SSE subscribers on one server, M records created one after another;
//! reports how long each event takes to reach every subscriber. Works against any
//! PocketBase-compatible server (it needs a superuser to create its collection).
//!
//!   cargo run --release --example fanout -- --base http://127.0.0.1:8090 \
//!       --email admin@example.com --password pass --subs 10000 --events 20

use futures::StreamExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COLLECTION: &str = "fanout_bench";

struct Args {
    base: String,
    email: String,
    password: String,
    subs: usize,
    events: usize,
}

fn args() -> Args {
    let mut a = Args {
        base: "http://127.0.0.1:8090".into(),
        email: "admin@example.com".into(),
        password: "admin-password-123".into(),
        subs: 1000,
        events: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--base" => a.base = v,
            "--email" => a.email = v,
            "--password" => a.password = v,
            "--subs" => a.subs = v.parse().expect("--subs N"),
            "--events" => a.events = v.parse().expect("--events N"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// Per event: how many subscribers have it and when the last one got it.
struct Arrivals {
    count: Vec<AtomicUsize>,
    last: Mutex<Vec<Option<Instant>>>,
}

async fn subscriber(
    http: reqwest::Client,
    base: String,
    arrivals: Arc<Arrivals>,
    ready: Arc<tokio::sync::Semaphore>,
    handshake: tokio::sync::OwnedSemaphorePermit,
) -> Result<(), String> {
    // Held until subscribed: a bounded number of handshakes at once (the listen
    // backlog is finite).
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
                    .json(&json!({"clientId": id, "subscriptions": [format!("{COLLECTION}/*")]}))
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
            // The title is "e<N>": find it without parsing the whole record.
            if let Some(i) = find(&frame, b"\"title\":\"e") {
                let rest = &frame[i + 10..];
                let n: usize = rest
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .fold(0, |acc, b| acc * 10 + (b - b'0') as usize);
                if let Some(c) = arrivals.count.get(n) {
                    c.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut last) = arrivals.last.lock() {
                        last[n] = Some(now);
                    }
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
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let login: Value = http
        .post(format!(
            "{}/api/collections/_superusers/auth-with-password",
            a.base
        ))
        .json(&json!({"identity": a.email, "password": a.password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"]
        .as_str()
        .expect("superuser token")
        .to_string();
    // A public collection (no rule to check: this measures delivery itself).
    let _ = http
        .post(format!("{}/api/collections", a.base))
        .header("Authorization", &token)
        .json(&json!({"name": COLLECTION, "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                      "fields": [{"name": "title", "type": "text"}]}))
        .send()
        .await
        .expect("create collection");

    let arrivals = Arc::new(Arrivals {
        count: (0..a.events).map(|_| AtomicUsize::new(0)).collect(),
        last: Mutex::new(vec![None; a.events]),
    });
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    for _ in 0..a.subs {
        let (http, base, arrivals, ready, gate) = (
            http.clone(),
            a.base.clone(),
            arrivals.clone(),
            ready.clone(),
            gate.clone(),
        );
        tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            if let Err(e) = subscriber(http, base, arrivals, ready, permit).await {
                eprintln!("subscriber: {e}");
            }
        });
    }
    let all = ready
        .acquire_many(a.subs as u32)
        .await
        .expect("subscribers ready");
    all.forget();
    let connect_s = started.elapsed().as_secs_f64();

    let mut latencies = Vec::new();
    let begin = Instant::now();
    for n in 0..a.events {
        let sent = Instant::now();
        let r = http
            .post(format!("{}/api/collections/{COLLECTION}/records", a.base))
            .json(&json!({"title": format!("e{n}")}))
            .send()
            .await
            .expect("create");
        assert!(r.status().is_success(), "create: {}", r.status());
        // Wait until every subscriber has it (or 30 s).
        let deadline = sent + Duration::from_secs(30);
        while arrivals.count[n].load(Ordering::Relaxed) < a.subs && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let got = arrivals.count[n].load(Ordering::Relaxed);
        let last = arrivals.last.lock().ok().and_then(|l| l[n]);
        match last {
            Some(t) if got == a.subs => {
                latencies.push(t.duration_since(sent).as_secs_f64() * 1000.0)
            }
            _ => eprintln!("event {n}: {got} of {} subscribers got it", a.subs),
        }
    }
    let total = begin.elapsed().as_secs_f64();
    latencies.sort_by(|x, y| x.total_cmp(y));
    let q = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let out = json!({
        "subscribers": a.subs,
        "events": a.events,
        "complete_events": latencies.len(),
        "connect_subscribe_s": (connect_s * 1000.0).round() / 1000.0,
        "all_subscribers_ms_p50": (q(0.5) * 100.0).round() / 100.0,
        "all_subscribers_ms_p99": (q(0.99) * 100.0).round() / 100.0,
        "all_subscribers_ms_max": (q(1.0) * 100.0).round() / 100.0,
        "deliveries_per_s": ((latencies.len() * a.subs) as f64 / total).round(),
    });
    println!("{out}");
}
