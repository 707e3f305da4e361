//! The web pages (`gather-ui/`): served beside the API with their caching and security
//! headers, `/` negotiated between browsers and JSON clients, and `gather-ui/tests/`
//! driving Debian's chromium (playwright-core) through every page against a server with
//! a published, reviewed skill. Screenshots go to `gather-ui/test-output/`.

use crate::agents::{gather_server, gather_settings};
use crate::common::oauth::{MockProvider, CLIENT_ID, CLIENT_SECRET};
use crate::common::oembed::OEmbed;
use crate::common::smtp::SmtpSink;
use crate::common::*;
use crate::journey::verified_agent;
use crate::shop::stock;
use crate::skills::marketplace;
use crate::upstreams::{transaction_entry, Upstreams};
use reqwest::{header, Method, StatusCode};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// What the browser test needs from the test's own servers, over HTTP: `GET
/// /mail/<address>` waits for the next e-mail to that address (from the SMTP sink);
/// `POST /pay/<satoshis>` puts a transaction paying that much to the shop on the fake
/// chain and answers its id; `GET /design.png` is a design to upload.
async fn desk(sink: SmtpSink, chain: Upstreams) -> (String, tokio::sync::oneshot::Sender<()>) {
    use poem::web::{Data, Json, Path};
    use poem::EndpointExt;
    struct Desk {
        sink: SmtpSink,
        chain: Upstreams,
        paid: std::sync::atomic::AtomicU32,
    }
    #[poem::handler]
    async fn next_mail(
        Path(to): Path<String>,
        Data(d): Data<&Arc<Desk>>,
    ) -> Json<serde_json::Value> {
        let m = d.sink.wait_for(&to).await;
        Json(json!({"subject": m.subject, "text": m.text, "html": m.html}))
    }
    #[poem::handler]
    fn pay(Path(sats): Path<i64>, Data(d): Data<&Arc<Desk>>) -> Json<serde_json::Value> {
        let n = d.paid.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tx = format!("beef{n:060x}");
        let entry = transaction_entry(899_999, chrono::Utc::now(), &[(SHOP_ADDRESS, sats)]);
        d.chain.with(|w| w.transactions.insert(tx.clone(), entry));
        Json(json!({"tx_id": tx}))
    }
    #[poem::handler]
    fn design() -> poem::Response {
        poem::Response::builder()
            .content_type("image/png")
            .body(files::png(64, 64))
    }
    let desk = Arc::new(Desk {
        sink,
        chain,
        paid: Default::default(),
    });
    let routes = poem::Route::new()
        .at("/mail/:to", next_mail)
        .at("/pay/:sats", poem::post(pay))
        .at("/design.png", design)
        .data(desk);
    serve_fake(routes).await
}

/// Where the shop is paid (the fake chain's transactions pay it).
const SHOP_ADDRESS: &str = "qshop0address";

/// A skill whose SKILL.md holds HTML and a script link that must show as text.
const SKILL_MD: &str = "---\nname: meeting-notes\ndescription: Turn a meeting transcript into notes with decisions and owners.\n---\n# Meeting notes\n\nRead the transcript, then write:\n\n## Decisions\n\n- each decision, one line\n- each action with its owner\n\n<script>window.pwned = 1</script>\n\n[a link](javascript:window.pwned=2) and `code`.\n";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn pages_are_served_beside_the_api_with_their_headers() {
    let s = gather_server().await;
    let http = no_redirects();
    let get = |path: &str, accept: &str| {
        http.get(format!("{}{path}", s.base))
            .header(header::ACCEPT, accept)
            .send()
    };

    // `/`: the landing page for browsers, the discovery document for JSON clients, the
    // API docs for anything else.
    let page = get("/", "text/html,application/xhtml+xml,*/*;q=0.8")
        .await
        .expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let h = page.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = page.text().await.expect("body");
    assert!(html.contains("<div id=\"app\">"), "{html}");
    let discovery = get("/", "application/json").await.expect("get");
    assert_eq!(discovery.status(), StatusCode::OK);
    let doc: serde_json::Value = discovery.json().await.expect("json");
    assert_eq!(doc["name"], "Gather");
    let other = get("/", "*/*").await.expect("get");
    assert_eq!(other.status(), StatusCode::FOUND);
    assert_eq!(other.headers()[header::LOCATION], "/docs");

    // Every path of a section gets the section's page (its router reads the path).
    let mut section_page = String::new();
    for path in [
        "/skills",
        "/skills/",
        "/skills/s/anthropics/pdf",
        "/skills/search?q=x",
    ] {
        let r = get(path, "*/*").await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body = r.text().await.expect("body");
        assert!(body.contains("<title>Skills"), "{path}: {body}");
        section_page = body;
    }

    // Hashed assets are cached for good; gzip when asked; 304 for a known ETag.
    let asset = section_page
        .split('"')
        .find(|p| p.starts_with("/assets/") && p.ends_with(".js"))
        .expect("the page names its script")
        .to_string();
    let plain = get(&asset, "*/*").await.expect("get");
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(
        plain.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        plain.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain_len = plain.bytes().await.expect("body").len();
    let zipped = http
        .get(format!("{}{asset}", s.base))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
    let etag = zipped.headers()[header::ETAG].clone();
    assert!(zipped.bytes().await.expect("body").len() < plain_len);
    let again = http
        .get(format!("{}{asset}", s.base))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Plain files at the root; nothing of the site under /api or for other methods.
    let llms = get("/llms.txt", "*/*").await.expect("get");
    assert_eq!(
        llms.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert!(llms
        .text()
        .await
        .expect("body")
        .contains("POST /api/agents/register"));
    let (st, b) = s.get("/assets/no-such-file.js", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["status"], 404);
    let (st, _) = s.get("/api/skills", None).await;
    assert_eq!(st, StatusCode::OK, "the API is unchanged");
    let post = http
        .post(format!("{}/skills", s.base))
        .send()
        .await
        .expect("post");
    assert!(post.status().is_client_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_uses_every_page_in_a_browser() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("gather-ui");
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "run `npm ci --prefix gather-ui` (scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Debian's chromium is needed (apt-get install chromium; .ci/run does)"
    );

    let s = marketplace().await;
    let oembed = OEmbed::start().await;
    gather_settings(&s, json!({"twitter": {"oembedURL": oembed.url}})).await;
    // The shop, on the fake Gelato, CoinGecko and Blockchair.
    let up = Upstreams::start().await;
    stock(&up);
    let mut shop = up.settings("test-key");
    shop["shop"]["bchAddress"] = json!(format!("bitcoincash:{SHOP_ADDRESS}"));
    gather_settings(&s, shop).await;
    // Humans: e-mail through the sink (links on this server's address), codes by
    // e-mail, and an OpenID Connect provider.
    let sink = SmtpSink::start().await;
    let patch = json!({
        "meta": {"appURL": s.base, "appName": "Gather"},
        "smtp": {"enabled": true, "host": "127.0.0.1", "port": sink.port, "tls": false},
    });
    let (st, b) = s.su(Method::PATCH, "/api/settings", Some(patch)).await;
    assert_eq!(st, StatusCode::OK, "{b}");

    let idp = MockProvider::start().await;
    idp.set_user(
        json!({"sub": "o-1", "name": "Olga", "email": "olga@example.com", "email_verified": true}),
    );
    let users = json!({
        "otp": {"enabled": true},
        "oauth2": {"enabled": true, "mappedFields": {"name": "name"}, "providers": [{
            "name": "oidc", "displayName": "Test IdP", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
            "extra": {"discoveryURL": format!("{}/.well-known/openid-configuration", idp.base)},
        }]},
    });
    let (st, b) = s
        .su(Method::PATCH, "/api/collections/users", Some(users))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    let publisher = verified_agent(&s, &oembed, "publisher", 1).await;
    let skill = publisher.publish(SKILL_MD).await.expect("publish");
    let name = skill["name"].as_str().expect("name").to_string();
    let reviewer = verified_agent(&s, &oembed, "reviewer", 2).await;
    let reviewed = reviewer
        .review(&name, 8.0, "decisions and owners listed", "no agenda")
        .await
        .expect("review");
    assert!(reviewed.proof_verified);
    // The search test narrows by category.
    let (st, b) = s
        .su(
            Method::PATCH,
            &format!(
                "/api/collections/skills/records/{}",
                skill["id"].as_str().expect("id")
            ),
            Some(json!({"category": "content"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");

    let (desk_url, _stop_desk) = desk(sink, up).await;
    let env = vec![
        ("GATHER_URL", s.base.clone()),
        ("DESK", desk_url),
        ("SKILL_NAME", name),
        ("REVIEWER_ID", reviewer.id.clone()),
        ("AGENT_ID", reviewer.id.clone()),
        ("AGENT_TOKEN", reviewer.token.clone()),
        ("CHROMIUM", chromium),
        ("OUTPUT", ui.join("test-output").display().to_string()),
    ];
    run_node_tests(ui, "tests/", env, 12).await;
}
