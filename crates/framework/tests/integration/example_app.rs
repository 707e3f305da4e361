//! The example app (examples/notes_app.rs) proves the public API is enough: code
//! migrations, hooks and its own routes in the same OpenAPI document.

#[path = "../../examples/notes_app.rs"]
#[allow(dead_code)]
mod notes_app;

use crate::common::*;
use framework::hooks::HookPoint;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[tokio::test]
async fn notes_app_runs_on_the_framework() {
    let created = Arc::new(AtomicUsize::new(0));
    let seen = created.clone();
    let s = start_with(
        move |app| async move {
            app.run_code_migrations(&notes_app::migrations())
                .await
                .expect("migrations");
            // A second run applies nothing and does not fail.
            app.run_code_migrations(&notes_app::migrations())
                .await
                .expect("migrations again");
            notes_app::register_hooks(&app);
            app.hooks()
                .on_record(HookPoint::AfterCreate, Some("notes"), move |ev| {
                    let seen = seen.clone();
                    async move {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Ok(ev)
                    }
                });
        },
        notes_app::NotesApi,
    )
    .await;

    let (st, n) = s
        .call(
            Method::POST,
            "/api/collections/notes/records",
            None,
            Some(json!({"title": "Hello, World!", "body": "one two three"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{n}");
    assert_eq!(n["slug"], "hello-world");
    assert_eq!(n["words"], 3);
    let (_, stored) = s
        .get(
            &format!(
                "/api/collections/notes/records/{}",
                n["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(stored["slug"], "hello-world");

    let (st, upd) = s
        .call(
            Method::PATCH,
            &format!(
                "/api/collections/notes/records/{}",
                n["id"].as_str().unwrap()
            ),
            None,
            Some(json!({"title": "Renamed note"})),
        )
        .await;
    assert_eq!(
        (st, upd["slug"].clone()),
        (StatusCode::OK, json!("renamed-note"))
    );

    let (st, err) = s
        .call(
            Method::POST,
            "/api/collections/notes/records",
            None,
            Some(json!({"title": "forbidden"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["message"], "This title is reserved.");
    assert_eq!(
        created.load(Ordering::SeqCst),
        1,
        "after-create ran once, and not for the refused note"
    );

    let (st, stats) = s.get("/api/notes/stats", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(stats, json!({"notes": 1, "words": 3}));

    let (_, spec) = s.get("/openapi.json", None).await;
    assert!(spec["paths"].get("/api/notes/stats").is_some());
    assert!(spec["paths"]
        .get("/api/collections/{collection}/records")
        .is_some());
    // The collection is an ordinary one: visible to superusers in the collections API.
    let (st, c) = s.su(Method::GET, "/api/collections/notes", None).await;
    assert_eq!((st, c["name"].clone()), (StatusCode::OK, json!("notes")));
}
