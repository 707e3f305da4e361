//! The skills marketplace at HTTP level: publishing (contract fields and SKILL.md),
//! lookups by name and id, listing with filters and sorts, the SKILL.md download, and
//! installs counted once per agent.

use crate::agents::{gather_server, gather_settings, login, new_key, post, register};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A registered agent's id and token; verified through the records API when `verified`.
pub(crate) async fn agent(s: &Server, name: &str, verified: bool) -> (String, String) {
    let (id, token, _) = agent_keyed(s, name, verified).await;
    (id, token)
}

/// [`agent`], and the agent's signing key.
pub(crate) async fn agent_keyed(
    s: &Server,
    name: &str,
    verified: bool,
) -> (String, String, ed25519_dalek::SigningKey) {
    let key = new_key();
    let id = register(s, &key, name).await["agent_id"]
        .as_str()
        .expect("agent id")
        .to_string();
    if verified {
        let (st, b) = s
            .su(
                Method::PATCH,
                &format!("/api/collections/agents/records/{id}"),
                Some(json!({"verified": true, "twitter_handle": name})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "verify: {b}");
    }
    let token = login(s, &key).await;
    (id, token, key)
}

const SKILL_MD: &str = "---\nname: pdf-tools\ndescription: Fill and merge PDF forms.\nlicense: MIT\nallowed-tools: Bash(pdftk:*) Read\n---\n# PDF tools\n\n```bash\npdftk a.pdf b.pdf cat output merged.pdf\ncurl -s https://example.com/form.pdf -o form.pdf\n```\n";

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Gather server whose per-agent write limits stay out of the way.
pub(crate) async fn marketplace() -> Server {
    let s = gather_server().await;
    let high = json!({"perMinute": 100000, "burst": 100000});
    gather_settings(
        &s,
        json!({"rateLimits": {"registeredWrites": high, "verifiedWrites": high}}),
    )
    .await;
    s
}

async fn get(s: &Server, path: &str) -> (StatusCode, Value) {
    s.call(Method::GET, path, None, None).await
}

fn field_error<'a>(b: &'a Value, field: &str) -> &'a Value {
    &b["data"][field]
}

#[tokio::test]
async fn publishing_skills() {
    let s = marketplace().await;
    let (publisher, token) = agent(&s, "publisher", true).await;
    let (_, unverified) = agent(&s, "newcomer", false).await;

    // The contract's fields; `name` is the display name, not ignored.
    let (st, b) = post(
        &s,
        "/api/skills",
        Some(&token),
        json!({"id": "acme/deploy", "name": "Acme Deploy", "description": "Ships things.",
               "category": "devtools", "source": "github", "install_required": true}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["name"], "acme/deploy");
    assert_eq!(b["display_name"], "Acme Deploy");
    assert_eq!(b["publisher"], publisher.as_str());
    assert_eq!(b["version"], 1);
    assert_eq!(b["installs"], 0);
    assert_eq!(b["install_required"], true);
    assert!(b["rank_score"].is_null() && b["avg_score"].is_null());
    assert!(b["skill_md_sha256"].is_null());
    for stamp in ["created", "updated"] {
        assert!(
            b[stamp].as_str().is_some_and(|t| t.len() > 10),
            "{stamp}: {b}"
        );
    }

    // The name is taken: 409, whoever asks.
    let (st, b) = post(
        &s,
        "/api/skills",
        Some(&token),
        json!({"id": "acme/deploy"}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{b}");
    assert!(b["message"]
        .as_str()
        .is_some_and(|m| m.contains("acme/deploy")));

    // Only verified agents publish, unless the operator allows any.
    let (st, b) = post(&s, "/api/skills", Some(&unverified), json!({"id": "x/y"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    let (st, _) = post(&s, "/api/skills", None, json!({"id": "x/y"})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    gather_settings(&s, json!({"marketplace": {"verifiedOnly": false}})).await;
    let (st, b) = post(&s, "/api/skills", Some(&unverified), json!({"id": "x/y"})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    gather_settings(&s, json!({"marketplace": {"verifiedOnly": true}})).await;

    // Bad input: a 400 naming the field and, for closed sets, the valid values.
    let bad = [
        (
            json!({"id": "a", "category": "cooking"}),
            "category",
            "frontend",
        ),
        (json!({"id": "a", "source": "ftp"}), "source", "skills.sh"),
        (json!({"id": "a", "category": "api"}), "url", "url"),
        (
            json!({"id": "a", "url": "javascript:alert(1)"}),
            "url",
            "http",
        ),
        (
            json!({"id": "a", "url": "ftp://example.com/x"}),
            "url",
            "http",
        ),
        (json!({"id": "a b"}), "id", "parts"),
        (json!({"id": "../etc"}), "id", "parts"),
        (json!({"id": "a/b/c/d"}), "id", "parts"),
        (json!({}), "id", "skill_md"),
        (json!({"skill_md": "no front matter"}), "skill_md", "line 1"),
        (
            json!({"skill_md": "---\nname: Bad\ndescription: d\n---\n"}),
            "skill_md",
            "line 2",
        ),
        (
            json!({"id": "acme/other", "skill_md": SKILL_MD}),
            "id",
            "pdf-tools",
        ),
        (
            json!({"skill_md": SKILL_MD, "description": "else"}),
            "description",
            "front matter",
        ),
    ];
    for (body, field, says) in bad {
        let (st, b) = post(&s, "/api/skills", Some(&token), body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {b}");
        let message = field_error(&b, field)["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(says), "{body}: {b}");
    }
    // Over-long values are refused before anything is stored.
    for body in [
        json!({"id": "a", "description": "d".repeat(2001)}),
        json!({"id": "a".repeat(201)}),
        json!({"id": "a", "url": format!("https://e.com/{}", "p".repeat(500))}),
    ] {
        let (st, b) = post(&s, "/api/skills", Some(&token), body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    }

    // A SKILL.md: name and description from the front matter, stored with its digest,
    // served as is, its capabilities flagged.
    let (st, b) = post(
        &s,
        "/api/skills",
        Some(&token),
        json!({"id": "anthropics/pdf-tools", "skill_md": SKILL_MD, "category": "content"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["description"], "Fill and merge PDF forms.");
    assert_eq!(b["display_name"], "pdf-tools");
    assert_eq!(b["license"], "MIT");
    let digest = sha256_hex(SKILL_MD.as_bytes());
    assert_eq!(b["skill_md_sha256"], digest.as_str());
    assert_eq!(b["capabilities"], json!(["shell", "network"]));
    let network = b["capability_findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["capability"] == "network")
        .expect("network finding")
        .clone();
    assert_eq!(network["file"], "SKILL.md");
    assert_eq!(network["line"], 11);
    let id = b["id"].as_str().expect("id").to_string();

    for path in [
        format!("/api/skills/{id}/SKILL.md"),
        "/api/skills/anthropics%2Fpdf-tools/SKILL.md".to_string(),
    ] {
        let r = s
            .http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let kind = r.headers()["content-type"]
            .to_str()
            .expect("type")
            .to_string();
        assert!(kind.starts_with("text/markdown"), "{kind}");
        assert_eq!(r.headers()["etag"], format!("\"{digest}\"").as_str());
        let text = r.text().await.expect("text");
        assert_eq!(sha256_hex(text.as_bytes()), digest, "what was published");
    }
    let (st, _) = get(&s, "/api/skills/acme%2Fdeploy/SKILL.md").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "published without one");

    // The id may be left out: the SKILL.md name is used.
    let md = SKILL_MD.replace("pdf-tools", "pdf-lite");
    let (st, b) = post(&s, "/api/skills", Some(&token), json!({"skill_md": md})).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["name"], "pdf-lite");
}

#[tokio::test]
async fn finding_listing_and_installing_skills() {
    let s = marketplace().await;
    let (_, token) = agent(&s, "publisher", true).await;
    let mut ids = Vec::new();
    for (name, category) in [
        ("alpha/lint", "devtools"),
        ("beta/scan", "security"),
        ("gamma/api", "api"),
    ] {
        let mut body =
            json!({"id": name, "category": category, "description": format!("The {name} skill")});
        if category == "api" {
            body["url"] = json!("https://api.example.com");
        }
        let (st, b) = post(&s, "/api/skills", Some(&token), body).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        ids.push(b["id"].as_str().expect("id").to_string());
    }

    // By name (a `/` in it percent-encoded), then by id; neither: 404.
    let (st, b) = get(&s, "/api/skills/beta%2Fscan").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["id"], ids[1].as_str());
    let (st, b) = get(&s, &format!("/api/skills/{}", ids[2])).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["name"], "gamma/api");
    let (st, b) = get(&s, "/api/skills/nobody%2Fnothing").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(b["status"], 404);

    // Lists: total by count, a window, filters, sorts.
    let (st, b) = get(&s, "/api/skills?limit=2").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["total"], 3);
    assert_eq!(b["skills"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (b["limit"].clone(), b["offset"].clone()),
        (json!(2), json!(0))
    );
    let (_, b) = get(&s, "/api/skills?sort=newest&limit=1&offset=1").await;
    assert_eq!(b["skills"][0]["name"], "beta/scan", "{b}");
    assert_eq!(b["total"], 3);
    let (_, b) = get(&s, "/api/skills?category=security").await;
    assert_eq!(b["total"], 1);
    assert_eq!(b["skills"][0]["name"], "beta/scan");
    let (_, b) = get(&s, "/api/skills?q=LINT").await;
    assert_eq!(b["total"], 1, "{b}");
    assert_eq!(b["skills"][0]["name"], "alpha/lint");
    let (_, b) = get(&s, "/api/skills?min_security=1").await;
    assert_eq!(b["total"], 0, "nothing reviewed yet: {b}");
    for bad in [
        "/api/skills?sort=random",
        "/api/skills?category=cooking",
        "/api/skills?limit=0",
        "/api/skills?limit=101",
        "/api/skills?min_security=11",
    ] {
        let (st, b) = get(&s, bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    let (_, b) = get(&s, "/api/skills?sort=random").await;
    assert!(
        b["message"].as_str().is_some_and(|m| m.contains("`sort`")),
        "{b}"
    );
    // A value that looks like filter syntax is only a value.
    let (st, b) = get(&s, "/api/skills?q=%27%20||%20id%20!%3D%20%27").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["total"], 0, "{b}");

    // Installs: each agent once.
    let (_, other) = agent(&s, "installer", false).await;
    let install = |token: String| {
        let s = &s;
        async move {
            post(
                s,
                "/api/skills/alpha%2Flint/install",
                Some(&token),
                json!({}),
            )
            .await
        }
    };
    let (st, b) = install(token.clone()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        (b["installs"].clone(), b["first_install"].clone()),
        (json!(1), json!(true))
    );
    let (_, b) = install(token.clone()).await;
    assert_eq!(
        (b["installs"].clone(), b["first_install"].clone()),
        (json!(1), json!(false))
    );
    let (_, b) = install(other.clone()).await;
    assert_eq!(
        (b["installs"].clone(), b["first_install"].clone()),
        (json!(2), json!(true))
    );
    let (st, _) = post(&s, "/api/skills/alpha%2Flint/install", None, json!({})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = post(&s, "/api/skills/none/install", Some(&other), json!({})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, b) = get(&s, "/api/skills?sort=installs&limit=1").await;
    assert_eq!(b["skills"][0]["name"], "alpha/lint");
    assert_eq!(b["skills"][0]["installs"], 2);
}

/// Many publishers racing for one name: the unique index lets exactly one win.
#[tokio::test]
async fn q_is_full_text_search_ranked_by_relevance() {
    let s = marketplace().await;
    let (_, token) = agent(&s, "publisher", true).await;
    let md = |name: &str, description: &str, body: &str| {
        json!({"skill_md": format!("---\nname: {name}\ndescription: {description}\n---\n{body}\n"),
               "category": "devtools"})
    };
    for body in [
        md(
            "pdf-forms",
            "Fill PDF forms.",
            "# Forms\nMerge and split documents.",
        ),
        md(
            "csv-merge",
            "Join tables.",
            "Merges spreadsheets; reads PDF exports too.",
        ),
        md(
            "deploy-helper",
            "Ship services.",
            "Runs kubectl rollout for each deployment.",
        ),
        json!({"id": "acme/pdf-api", "category": "api", "url": "https://pdf.example.com",
               "description": "A PDF rendering service"}),
    ] {
        let (st, b) = post(&s, "/api/skills", Some(&token), body).await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
    }
    let names = |b: &Value| -> Vec<String> {
        b["skills"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    // A name match ranks above a description match, above a SKILL.md body match.
    let (_, b) = get(&s, "/api/skills?q=pdf").await;
    assert_eq!(b["total"], 3, "{b}");
    assert_eq!(
        names(&b).last().map(String::as_str),
        Some("csv-merge"),
        "{b}"
    );
    // Stemmed words from the SKILL.md text: "merging" finds "Merge" and "Merges".
    let (_, b) = get(&s, "/api/skills?q=merging").await;
    assert_eq!(b["total"], 2, "{b}");
    let (_, b) = get(&s, "/api/skills?q=kubectl%20deployments").await;
    assert_eq!(names(&b), vec!["deploy-helper"]);
    // With the other filters and an explicit sort; phrases and exclusions.
    let (_, b) = get(&s, "/api/skills?q=pdf&category=api").await;
    assert_eq!(names(&b), vec!["acme/pdf-api"]);
    let (_, b) = get(&s, "/api/skills?q=pdf&sort=newest").await;
    assert_eq!(names(&b)[0], "acme/pdf-api", "{b}");
    let (_, b) = get(&s, "/api/skills?q=%22rendering%20service%22").await;
    assert_eq!(names(&b), vec!["acme/pdf-api"]);
    let (_, b) = get(&s, "/api/skills?q=pdf%20-forms%20-exports").await;
    assert_eq!(names(&b), vec!["acme/pdf-api"]);
    let (_, b) = get(&s, "/api/skills?q=pdf&limit=1&offset=1").await;
    assert_eq!((b["total"].clone(), names(&b).len()), (json!(3), 1));
}

#[tokio::test]
async fn one_name_one_skill_under_a_race() {
    let s = marketplace().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(agent(&s, &format!("racer{i}"), true).await.1);
    }
    let racers = tokens.iter().map(|t| {
        let s = &s;
        async move {
            post(s, "/api/skills", Some(t), json!({"id": "contested/name"}))
                .await
                .0
        }
    });
    let statuses = futures::future::join_all(racers).await;
    let created = statuses
        .iter()
        .filter(|st| **st == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|st| **st == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    let (_, b) = get(&s, "/api/skills").await;
    assert_eq!(b["total"], 1);
}

const FOLDER_MD: &str = "---\nname: form-filler\ndescription: Fill PDF forms with a script.\n---\n# Form filler\n\nRun `scripts/fill.py` on the form.\n";

/// A skill folder's other files: (path, bytes).
type Folder<'a> = &'a [(&'a str, Vec<u8>)];

/// A multipart publish or republish of `skill_md` with `files`.
async fn send_folder(
    s: &Server,
    method: Method,
    path: &str,
    token: &str,
    skill_md: &str,
    files: Folder<'_>,
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new().text("skill_md", skill_md.to_string());
    for (name, data) in files {
        form = form.part("files", files::part(name, data.clone()));
    }
    files::send_form(s, method, path, Some(token), form).await
}

#[tokio::test]
async fn a_skill_folder_is_published_with_its_files_and_republished_as_versions() {
    let s = marketplace().await;
    let (_, token) = agent(&s, "publisher", true).await;
    let (_, stranger) = agent(&s, "stranger", true).await;
    let script = b"import os\nprint(os.environ['FORM_API_KEY'])\n".to_vec();
    let png = files::png(2, 2);
    let folder = [
        ("scripts/fill.py", script.clone()),
        ("assets/logo.png", png.clone()),
    ];
    let (st, b) = send_folder(&s, Method::POST, "/api/skills", &token, FOLDER_MD, &folder).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["name"], "form-filler");
    assert_eq!(b["version"], 1);
    // The script is scanned with the SKILL.md; the image is not read.
    assert_eq!(b["capabilities"], json!(["credential_access"]), "{b}");
    assert_eq!(b["capability_findings"][0]["file"], "scripts/fill.py");
    assert_eq!(b["capability_findings"][0]["line"], 2);

    // Listed by path with their digests, and served as sent (sandboxed).
    let (st, d) = get(&s, "/api/skills/form-filler").await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let listed = d["files"].as_array().expect("files").clone();
    assert_eq!(
        listed.iter().map(|f| f["path"].clone()).collect::<Vec<_>>(),
        vec![json!("assets/logo.png"), json!("scripts/fill.py")]
    );
    assert_eq!(listed[0]["mime_type"], "image/png");
    for (f, bytes) in listed.iter().zip([png.clone(), script.clone()]) {
        assert_eq!(f["sha256"], sha256_hex(&bytes).as_str());
        assert_eq!(f["size_bytes"], bytes.len());
        let url = format!("{}{}", s.base, f["url"].as_str().expect("url"));
        let got = s.http.get(&url).send().await.expect("download");
        assert_eq!(got.status(), StatusCode::OK, "{url}");
        assert_eq!(got.headers()["x-content-type-options"], "nosniff");
        assert_eq!(got.bytes().await.expect("bytes").to_vec(), bytes);
    }

    // Bad folders: a 400 or 413, and nothing is stored.
    let huge = vec![b'a'; (5 << 20) + 1];
    let other_md = FOLDER_MD.replace("form-filler", "other-filler");
    let cases: [(Folder, StatusCode); 5] = [
        (&[("../escape.sh", b"x".to_vec())], StatusCode::BAD_REQUEST),
        (&[("/etc/passwd", b"x".to_vec())], StatusCode::BAD_REQUEST),
        (&[("SKILL.md", b"x".to_vec())], StatusCode::BAD_REQUEST),
        (
            &[("a.txt", b"1".to_vec()), ("a.txt", b"2".to_vec())],
            StatusCode::BAD_REQUEST,
        ),
        (&[("big.bin", huge)], StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (files, want) in cases {
        let (st, b) = send_folder(&s, Method::POST, "/api/skills", &token, &other_md, files).await;
        assert_eq!(st, want, "{b}");
        assert_eq!(b["status"], want.as_u16());
    }
    assert_eq!(
        get(&s, "/api/skills/other-filler").await.0,
        StatusCode::NOT_FOUND
    );
    // Files come with a SKILL.md.
    let form = reqwest::multipart::Form::new()
        .text("id", "acme/loose")
        .part("files", files::part("a.txt", b"x".to_vec()));
    let (st, b) = files::send_form(&s, Method::POST, "/api/skills", Some(&token), form).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    // A review of version 1 and an install, which the new version keeps.
    let (_, reviewer) = agent(&s, "reviewer", true).await;
    let review = json!({"skill_id": "form-filler", "task": "fill a form", "score": 8});
    let (st, b) = post(&s, "/api/reviews/submit", Some(&reviewer), review.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(
        post(
            &s,
            "/api/skills/form-filler/install",
            Some(&reviewer),
            json!({})
        )
        .await
        .0,
        StatusCode::OK
    );

    // Only the publisher republishes; the same content makes no new version.
    let (st, b) = send_folder(
        &s,
        Method::PUT,
        "/api/skills/form-filler",
        &stranger,
        FOLDER_MD,
        &folder,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    let (st, b) = send_folder(
        &s,
        Method::PUT,
        "/api/skills/form-filler",
        &token,
        FOLDER_MD,
        &folder,
    )
    .await;
    assert_eq!(
        (st, b["new_version"].clone(), b["version"].clone()),
        (StatusCode::OK, json!(false), json!(1)),
        "{b}"
    );
    // The name cannot change.
    let (st, b) = send_folder(
        &s,
        Method::PUT,
        "/api/skills/form-filler",
        &token,
        &other_md,
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");

    // A new SKILL.md and one file: version 2, new digest, the old files gone.
    let v2 = FOLDER_MD.replace("Run `scripts/fill.py`", "Run `scripts/fill.py --safe`");
    let (st, b) = send_folder(
        &s,
        Method::PUT,
        "/api/skills/form-filler",
        &token,
        &v2,
        &[("scripts/fill.py", b"print('safe')\n".to_vec())],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        (b["new_version"].clone(), b["version"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(b["skill_md_sha256"], sha256_hex(v2.as_bytes()).as_str());
    assert_eq!(
        b["capabilities"],
        json!([]),
        "the new script reads no key: {b}"
    );
    assert_eq!(
        (b["review_count"].clone(), b["installs"].clone()),
        (json!(1), json!(1))
    );
    let (_, d) = get(&s, "/api/skills/form-filler").await;
    assert_eq!(d["files"].as_array().map(Vec::len), Some(1), "{d}");
    let old = format!("{}{}", s.base, listed[0]["url"].as_str().expect("url"));
    assert_eq!(
        s.http.get(&old).send().await.expect("old").status(),
        StatusCode::NOT_FOUND
    );
    let (_, md) = get(&s, "/api/skills/form-filler/SKILL.md").await;
    assert_eq!(md, Value::String(v2.clone()));

    // The reviewer may review version 2 once more; version 1's review stays.
    let (st, b) = post(&s, "/api/reviews/submit", Some(&reviewer), review).await;
    assert_eq!(
        (st, b["message"].clone()),
        (StatusCode::CREATED, json!("Review submitted successfully")),
        "{b}"
    );
    assert_eq!(b["review_count"], 2);

    // JSON republishing works too, and two concurrent new versions make two versions.
    let bodies = ["a", "b"].map(|x| json!({"skill_md": v2.replace("--safe", &format!("--{x}"))}));
    let (one, two) = tokio::join!(
        s.call(
            Method::PUT,
            "/api/skills/form-filler",
            Some(&token),
            Some(bodies[0].clone())
        ),
        s.call(
            Method::PUT,
            "/api/skills/form-filler",
            Some(&token),
            Some(bodies[1].clone())
        ),
    );
    // Each either makes its own version or, when the other replaced the files it was
    // replacing, is a 409 to send again; never one version number twice.
    let mut versions = Vec::new();
    for (st, b) in [&one, &two] {
        match *st {
            StatusCode::OK => versions.push(b["version"].as_i64().expect("version")),
            StatusCode::CONFLICT => {}
            other => panic!("{other}: {b}"),
        }
    }
    versions.sort();
    let made = versions.len() as i64;
    assert!(made >= 1, "{} {}", one.1, two.1);
    assert_eq!(versions, (3..3 + made).collect::<Vec<_>>());
    assert_eq!(
        get(&s, "/api/skills/form-filler").await.1["version"],
        2 + made
    );
}
