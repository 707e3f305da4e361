//! The platform's own hot paths, each beside the ceiling of what it does, on one Gather
//! server: an agent's login (challenge + authenticate: one Ed25519 verify and a few
//! writes) beside the rate this machine verifies Ed25519 signatures and the server's
//! record creates; `GET /api/inbox` beside a view by id (one indexed read) of the
//! framework. Closed loop: CLIENTS workers, each for SECONDS, its own agent and token.
//! Prints one JSON object of rates and latencies.
//!
//!   cargo run --release --example platform_bench -- --base http://127.0.0.1:8095 \
//!       --email admin@example.com --password pass --clients 16 --seconds 5

use base64::Engine;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signer, SigningKey, Verifier};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

struct Args {
    base: String,
    email: String,
    password: String,
    clients: usize,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args {
        base: "http://127.0.0.1:8095".into(),
        email: "admin@example.com".into(),
        password: "admin-password-123".into(),
        clients: 16,
        seconds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--base" => a.base = v,
            "--email" => a.email = v,
            "--password" => a.password = v,
            "--clients" => a.clients = v.parse().expect("--clients N"),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// One agent of the benchmark: its key, the key's PEM and a token.
struct BenchAgent {
    key: SigningKey,
    pem: String,
    token: String,
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.header("Authorization", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Challenge, sign, authenticate: a token, or `None` when the server refused.
async fn login(http: &reqwest::Client, base: &str, key: &SigningKey, pem: &str) -> Option<String> {
    let (st, c) = send(
        http,
        reqwest::Method::POST,
        &format!("{base}/api/agents/challenge"),
        None,
        Some(json!({"public_key": pem})),
    )
    .await;
    if st != 200 {
        return None;
    }
    let nonce = B64.decode(c["nonce"].as_str()?).ok()?;
    let signature = B64.encode(key.sign(&nonce).to_bytes());
    let (st, a) = send(
        http,
        reqwest::Method::POST,
        &format!("{base}/api/agents/authenticate"),
        None,
        Some(json!({"public_key": pem, "signature": signature, "nonce": c["nonce"]})),
    )
    .await;
    (st == 200).then(|| a["token"].as_str().map(str::to_string))?
}

/// Runs `step` in `clients` workers for `seconds`; rate per second and latency
/// percentiles in ms, over the steps that succeeded, and how many failed.
async fn closed_loop<F, Fut>(clients: usize, seconds: u64, step: F) -> Value
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..clients {
        let step = step.clone();
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (Vec::new(), 0u64);
            while Instant::now() < until {
                let t = Instant::now();
                if step(w).await {
                    ok.push(t.elapsed().as_micros() as u64);
                } else {
                    failed += 1;
                }
            }
            (ok, failed)
        }));
    }
    let (mut all, mut failed) = (Vec::new(), 0);
    for w in workers {
        if let Ok((ok, f)) = w.await {
            all.extend(ok);
            failed += f;
        }
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(0.0)
    };
    json!({
        "per_second": (all.len() as f64 / seconds as f64).round(),
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "failed": failed,
    })
}

/// Ed25519 verifications a second on one core of this machine (the client's own
/// process: the same library the server uses).
fn verifies_per_second() -> f64 {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let msg = rand::random::<[u8; 32]>();
    let sig = key.sign(&msg);
    let public = key.verifying_key();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            let _ = std::hint::black_box(public.verify(&msg, &sig));
        }
        n += 100;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let a = args();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.clients * 2)
        .build()
        .expect("client");
    let base = a.base.clone();
    let (st, su) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/api/collections/_superusers/auth-with-password"),
        None,
        Some(json!({"identity": a.email, "password": a.password})),
    )
    .await;
    assert_eq!(st, 200, "superuser login: {su}");
    let su = su["token"].as_str().expect("token").to_string();
    // The benchmark is the only client: limits would measure the limiter.
    let high = json!({"perMinute": 100_000_000, "burst": 100_000_000});
    let limits =
        json!({"rateLimits": {"perIp": high, "registeredWrites": high, "verifiedWrites": high}});
    let (st, b) = send(
        &http,
        reqwest::Method::PATCH,
        &format!("{base}/api/gather/settings"),
        Some(&su),
        Some(limits),
    )
    .await;
    assert_eq!(st, 200, "settings: {b}");

    // One agent per worker, logged in once; a collection and a record for the ceilings.
    let mut agents = Vec::new();
    for i in 0..a.clients {
        let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let pem = key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .expect("pem");
        let (st, r) = send(
            &http,
            reqwest::Method::POST,
            &format!("{base}/api/agents/register"),
            None,
            Some(json!({"name": format!("bench-{i}"), "public_key": pem})),
        )
        .await;
        assert_eq!(st, 200, "register: {r}");
        let token = login(&http, &base, &key, &pem).await.expect("login");
        agents.push(BenchAgent {
            key,
            pem,
            token: format!("Bearer {token}"),
        });
    }
    let agents = std::sync::Arc::new(agents);
    let collection = json!({"name": "bench_notes", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "text", "type": "text"}]});
    let (st, b) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/api/collections"),
        Some(&su),
        Some(collection),
    )
    .await;
    assert_eq!(st, 200, "collection: {b}");
    let (st, rec) = send(
        &http,
        reqwest::Method::POST,
        &format!("{base}/api/collections/bench_notes/records"),
        None,
        Some(json!({"text": "hello"})),
    )
    .await;
    assert_eq!(st, 200, "record: {rec}");
    let record = rec["id"].as_str().expect("id").to_string();

    let (clients, seconds) = (a.clients, a.seconds);
    let run = |label: &'static str| eprintln!("{label}…");

    run("login");
    let (h, b, ag) = (http.clone(), base.clone(), agents.clone());
    let logins = closed_loop(clients, seconds, move |w| {
        let (h, b, ag) = (h.clone(), b.clone(), ag.clone());
        async move { login(&h, &b, &ag[w].key, &ag[w].pem).await.is_some() }
    })
    .await;

    run("create (ceiling of a login's writes)");
    let (h, b) = (http.clone(), base.clone());
    let creates = closed_loop(clients, seconds, move |_| {
        let (h, b) = (h.clone(), b.clone());
        async move {
            send(
                &h,
                reqwest::Method::POST,
                &format!("{b}/api/collections/bench_notes/records"),
                None,
                Some(json!({"text": "x"})),
            )
            .await
            .0 == 200
        }
    })
    .await;

    run("inbox");
    let (h, b, ag) = (http.clone(), base.clone(), agents.clone());
    let inbox = closed_loop(clients, seconds, move |w| {
        let (h, b, ag) = (h.clone(), b.clone(), ag.clone());
        async move {
            send(
                &h,
                reqwest::Method::GET,
                &format!("{b}/api/inbox"),
                Some(&ag[w].token),
                None,
            )
            .await
            .0 == 200
        }
    })
    .await;

    run("view by id (ceiling of the inbox's read)");
    let (h, b) = (http.clone(), base.clone());
    let views = closed_loop(clients, seconds, move |_| {
        let (h, b, r) = (h.clone(), b.clone(), record.clone());
        async move {
            send(
                &h,
                reqwest::Method::GET,
                &format!("{b}/api/collections/bench_notes/records/{r}"),
                None,
                None,
            )
            .await
            .0 == 200
        }
    })
    .await;

    let verify = verifies_per_second();
    println!(
        "{}",
        json!({
            "clients": clients, "seconds": seconds,
            "login": logins, "create": creates, "inbox": inbox, "view": views,
            "ed25519_verifies_per_second_one_core": verify.round(),
        })
    );
}
