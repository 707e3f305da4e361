//! PocketBase's official JavaScript SDK, unchanged, against this server: `tests/sdk/`
//! holds the SDK (npm) and a `node --test` script that logs in, defines a collection,
//! works with records under rules, asks for e-mails and OTPs, impersonates, and
//! subscribes to realtime events, sends batches, and uploads files.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_js_sdk_works_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        dir.join("node_modules/pocketbase").exists(),
        "the SDK is not installed: run `npm ci --prefix tests/sdk` (scripts/test.sh does)"
    );
    let s = start().await;
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("--test")
            .arg("--test-reporter=spec")
            .arg("sdk.test.mjs")
            .current_dir(dir)
            .env("GATHER_URL", base)
            .env("SU_EMAIL", SU_EMAIL)
            .env("SU_PASSWORD", SU_PASSWORD)
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
    assert!(out.status.success(), "the SDK tests failed:\n{text}");
    assert!(
        text.contains("pass 6"),
        "expected six passing SDK tests:\n{text}"
    );
}
