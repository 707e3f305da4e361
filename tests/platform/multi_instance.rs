//! Two instances on one database behave as one: records written through one are read
//! through the other, and schema changes made through one reach the other.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_and_records_are_shared() {
    let a = start().await;
    let (b, _stop) = a.twin().await;
    a.create_collection(json!({"name": "shared", "listRule": "", "createRule": "", "fields": [{"name": "v", "type": "text"}]})).await;
    // B learns about the new collection within a few polls.
    let url = format!("{b}/api/collections/shared/records");
    let mut ok = false;
    for _ in 0..50 {
        let resp = a
            .http
            .post(&url)
            .json(&json!({"v": "from b"}))
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "instance B never saw the collection created through A");
    let (_, l) = a.list("shared", &[], None).await;
    assert_eq!(column(&l, "v"), [json!("from b")]);

    // A field added through A shows up in B's answers.
    let (_, c) = a.su(Method::GET, "/api/collections/shared", None).await;
    let mut fields = c["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "extra", "type": "number"}));
    let (st, _) = a
        .su(
            Method::PATCH,
            "/api/collections/shared",
            Some(json!({"fields": fields})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut seen = false;
    for _ in 0..50 {
        let v: Value = a.http.get(&url).send().await.unwrap().json().await.unwrap();
        if v["items"][0].get("extra").is_some() {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "instance B never saw the new field");
}

/// Three instances started at the same instant on a fresh database all come up: the
/// migration lock makes them apply system and code migrations one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_started_together_on_a_fresh_database_all_come_up() {
    let root = std::env::temp_dir().join(unique("gather_trio"));
    let secrets = root.join("secrets");
    let url = if is_postgres() {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut children = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        // On SQLite the three share one data directory (one database file).
        let dir = if url.is_some() {
            root.join(format!("i{i}"))
        } else {
            root.join("data")
        };
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gather"));
        cmd.arg("--dir")
            .arg(&dir)
            .arg("--secrets-dir")
            .arg(&secrets);
        if let Some(u) = &url {
            cmd.arg("--database-url").arg(u);
        }
        cmd.arg("serve")
            .arg("--http")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        children.push(cmd.spawn().expect("start gather"));
    }
    let http = reqwest::Client::new();
    for port in &ports {
        let help = format!("http://127.0.0.1:{port}/help");
        let up = wait_for_ok(&help, 300, std::time::Duration::from_millis(50)).await;
        if !up {
            let mut failed = String::new();
            for c in children.iter_mut() {
                let _ = c.kill();
                if let Some(mut e) = c.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut failed);
                }
            }
            panic!("the instance on port {port} did not come up:\n{failed}");
        }
    }
    for c in children.iter_mut() {
        assert!(
            c.try_wait().expect("status").is_none(),
            "an instance exited"
        );
    }
    // Each migration was applied once: the agents collection exists once and works.
    let base = format!("http://127.0.0.1:{}", ports[2]);
    let (st, body) = {
        let r = http
            .post(format!("{base}/api/agents/challenge"))
            .json(&json!({"public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"}))
            .send()
            .await
            .unwrap();
        let st = r.status();
        (st, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "an unknown key, from a working agents table: {body}"
    );
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _ = std::fs::remove_dir_all(&root);
}
