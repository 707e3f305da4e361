//! Boots a real server on a random port, on SQLite (a temp dir) or on PostgreSQL (a
//! fresh database per server) depending on `GATHER_TEST_DB`.
#![allow(dead_code)]

pub mod files;
pub mod oauth;
pub mod oembed;
pub mod s3;
pub mod smtp;
pub mod sse;

use framework::{App, Config};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// Serves `app` (a test's stand-in for an outside service) on a free loopback port until
/// the returned sender is dropped; returns its base URL.
pub async fn serve_fake<E>(app: E) -> (String, oneshot::Sender<()>)
where
    E: poem::Endpoint + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel::<()>();
    let acceptor =
        poem::listener::TcpAcceptor::from_std(listener.into_std().expect("std")).expect("acceptor");
    tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async {
                    let _ = rx.await;
                },
                None,
            )
            .await;
    });
    (url, tx)
}

pub const SU_EMAIL: &str = "admin@example.com";
pub const SU_PASSWORD: &str = "admin-password-123";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn engine() -> String {
    std::env::var("GATHER_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

pub fn is_postgres() -> bool {
    engine() == "postgres"
}

pub struct Server {
    pub base: String,
    pub app: App,
    pub http: reqwest::Client,
    pub su_token: String,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    config: Config,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A unique name for this test run's databases and directories.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub async fn fresh_postgres() -> String {
    use sea_orm::{ConnectionTrait, Database};
    let admin = std::env::var("GATHER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = unique("gather_t");
    let conn = Database::connect(format!("{admin}/test"))
        .await
        .expect("connect to PostgreSQL test database");
    conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    let _ = conn.close().await;
    format!("{admin}/{name}")
}

pub async fn start() -> Server {
    start_with(|_| async {}, ()).await
}

/// A server whose configuration `tune` adjusts first (limits, timeouts).
pub async fn start_configured(tune: impl FnOnce(&mut Config)) -> Server {
    start_inner_with(tune, |_| async {}, (), true).await
}

/// Starts a server with an app's own routes; `setup` may run code migrations and
/// register hooks before it serves.
pub async fn start_with<F, Fut, T>(setup: F, extra: T) -> Server
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
    T: poem_openapi::OpenApi + Send + 'static,
{
    start_inner(setup, extra, true).await
}

/// A server on a fresh install: no superuser yet (`su_token` is empty).
pub async fn start_fresh<F, Fut>(setup: F) -> Server
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    start_inner(setup, (), false).await
}

async fn start_inner<F, Fut, T>(setup: F, extra: T, superuser: bool) -> Server
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
    T: poem_openapi::OpenApi + Send + 'static,
{
    start_inner_with(|_| {}, setup, extra, superuser).await
}

async fn start_inner_with<F, Fut, T>(
    tune: impl FnOnce(&mut Config),
    setup: F,
    extra: T,
    superuser: bool,
) -> Server
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
    T: poem_openapi::OpenApi + Send + 'static,
{
    let dir = std::env::temp_dir().join(unique("gather_test"));
    let database_url = if is_postgres() {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let mut config = Config {
        data_dir: dir.clone(),
        database_url,
        max_body_size: 1 << 20,
        schema_poll: std::time::Duration::from_millis(200),
        // Explicit, as PostgreSQL requires: twins share it as instances share a volume.
        secrets_dir: Some(dir.join("secrets")),
        ..Config::default()
    };
    tune(&mut config);
    let app = App::open(config.clone()).await.expect("open app");
    setup(app.clone()).await;
    if superuser {
        framework::auth::upsert_superuser(&app, SU_EMAIL, SU_PASSWORD)
            .await
            .expect("create superuser");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        let _ = framework::http::serve_on(served, extra, listener, async {
            let _ = rx.await;
        })
        .await;
    });
    let http = reqwest::Client::new();
    let mut server = Server {
        base,
        app,
        http,
        su_token: String::new(),
        dir,
        stop: Some(tx),
        config,
    };
    if !superuser {
        return server;
    }
    let (status, body) = server
        .call(
            Method::POST,
            "/api/collections/_superusers/auth-with-password",
            None,
            Some(json!({"identity": SU_EMAIL, "password": SU_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "superuser login: {body}");
    server.su_token = body["token"].as_str().expect("token").to_string();
    server
}

impl Server {
    pub fn config(&self) -> Config {
        self.config.clone()
    }

    /// A second instance on the same database (same SQLite file, or same PostgreSQL
    /// database), serving on its own port: what a load balancer would spread over.
    pub async fn twin(&self) -> (String, oneshot::Sender<()>) {
        self.twin_with(|_| async {}, ()).await
    }

    /// [`Server::twin`] with an app's own setup and routes, as [`start_with`] has them.
    pub async fn twin_with<F, Fut, T>(&self, setup: F, extra: T) -> (String, oneshot::Sender<()>)
    where
        F: FnOnce(App) -> Fut,
        Fut: std::future::Future<Output = ()>,
        T: poem_openapi::OpenApi + Send + 'static,
    {
        let app = App::open(self.config.clone()).await.expect("open twin");
        setup(app.clone()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = framework::http::serve_on(app, extra, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        (base, tx)
    }

    /// Any request; returns the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn su(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let t = self.su_token.clone();
        self.call(method, path, Some(&t), body).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// Creates a collection as superuser and asserts success.
    pub async fn create_collection(&self, def: Value) -> Value {
        let (s, b) = self.su(Method::POST, "/api/collections", Some(def)).await;
        assert_eq!(s, StatusCode::OK, "create collection: {b}");
        b
    }

    /// Creates a record as superuser and asserts success.
    pub async fn create_record(&self, collection: &str, body: Value) -> Value {
        let (s, b) = self
            .su(
                Method::POST,
                &format!("/api/collections/{collection}/records"),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "create record: {b}");
        b
    }

    /// Creates a user and returns (id, token).
    pub async fn user(&self, email: &str) -> (String, String) {
        let rec = self.create_record("users", json!({"email": email, "password": "password123", "passwordConfirm": "password123", "name": email})).await;
        let (s, b) = self
            .call(
                Method::POST,
                "/api/collections/users/auth-with-password",
                None,
                Some(json!({"identity": email, "password": "password123"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "user login: {b}");
        (
            rec["id"].as_str().unwrap_or_default().to_string(),
            b["token"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// Sends this server's e-mail to `sink` and sets the application URL links use.
    pub async fn use_smtp(&self, sink: &smtp::SmtpSink) {
        let patch = json!({
            "meta": {"appURL": "http://app.test", "appName": "Acme"},
            "smtp": {"enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": false},
        });
        let (s, b) = self.su(Method::PATCH, "/api/settings", Some(patch)).await;
        assert_eq!(s, StatusCode::OK, "settings: {b}");
    }

    /// Logs in to `collection` with a password; returns (status, body).
    pub async fn login(
        &self,
        collection: &str,
        identity: &str,
        password: &str,
    ) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/collections/{collection}/auth-with-password"),
            None,
            Some(json!({"identity": identity, "password": password})),
        )
        .await
    }

    /// Lists with a query string built from pairs; returns (status, body).
    pub async fn list(
        &self,
        collection: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let q = url_encode(params);
        self.get(&format!("/api/collections/{collection}/records?{q}"), token)
            .await
    }
}

pub fn url_encode(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                k,
                v.bytes()
                    .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    })
                    .collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A port nobody listens on now (for a process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `url` until it answers 200, `tries` times `pause` apart; whether it did.
pub async fn wait_for_ok(url: &str, tries: usize, pause: std::time::Duration) -> bool {
    for _ in 0..tries {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return true;
        }
        tokio::time::sleep(pause).await;
    }
    false
}

/// The ids of a list response's items.
pub fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The values of one field over a list response's items.
pub fn column(body: &Value, field: &str) -> Vec<Value> {
    body["items"]
        .as_array()
        .map(|a| a.iter().map(|i| i[field].clone()).collect())
        .unwrap_or_default()
}

/// A runtime for property tests, which drive the async server from a sync proptest loop.
pub fn fuzz_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A proptest runner with `GATHER_FUZZ_CASES` cases (default 300) and no persisted failures.
pub fn fuzz_runner() -> proptest::test_runner::TestRunner {
    let cases: u32 = std::env::var("GATHER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })
}

/// Runs `node --test <target>` in `dir` with `env`; fails the test (with node's output)
/// unless node succeeds and reports `passes` passing tests.
pub async fn run_node_tests(dir: PathBuf, target: &str, env: Vec<(&str, String)>, passes: usize) {
    let target = target.to_string();
    let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args([
                "--test",
                "--test-force-exit",
                "--test-reporter=spec",
                &target,
            ])
            .current_dir(dir)
            .envs(env)
            .output()
            .expect("run node (Node.js 20 or newer is needed)")
    })
    .await
    .expect("node finished");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the node tests failed:\n{text}");
    assert!(
        text.contains(&format!("pass {passes}")),
        "expected {passes} passing node tests:\n{text}"
    );
}

/// What a raw socket reads until the server closes it or `within` passes, and when it
/// ended (`None`: still open).
pub async fn read_until_closed(
    sock: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> (String, Option<std::time::Duration>) {
    use tokio::io::AsyncReadExt;
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&out).into_owned(),
                    Some(start.elapsed()),
                )
            }
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), None),
        }
    }
}
