//! PocketBase's official JavaScript SDK, unchanged, against this server: `tests/sdk/`
//! holds the SDK (npm) and a `node --test` script that logs in, defines a collection,
//! works with records under rules, asks for e-mails and OTPs, impersonates, and
//! subscribes to realtime events, sends batches, and uploads files.

use crate::common::*;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_js_sdk_works_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    assert!(
        dir.join("node_modules/pocketbase").exists(),
        "the SDK is not installed: run `npm ci --prefix tests/sdk` (scripts/test.sh does)"
    );
    let s = start().await;
    let env = vec![
        ("GATHER_URL", s.base.clone()),
        ("SU_EMAIL", SU_EMAIL.to_string()),
        ("SU_PASSWORD", SU_PASSWORD.to_string()),
    ];
    run_node_tests(dir, "sdk.test.mjs", env, 7).await;
}
