//! The app's own API on a real server: records found by id and by filters with bound
//! parameters, counted, written as the system (no rule applies, hooks run), several
//! writes landing together or not at all, and typed getters.

use crate::common::*;
use framework::hooks::HookPoint;
use framework::records::{RecordFields, RecordQuery};
use framework::Error;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// `tasks`: nobody may list or write through the API (every rule superusers-only).
async fn tasks_server() -> (Server, Arc<AtomicUsize>) {
    let s = start().await;
    s.create_collection(json!({
        "name": "tasks",
        "fields": [
            {"name": "title", "type": "text", "required": true},
            {"name": "owner", "type": "text"},
            {"name": "points", "type": "number"},
            {"name": "done", "type": "bool"},
            {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b", "c"]},
            {"name": "due", "type": "date"},
            {"name": "created", "type": "autodate", "onCreate": true}
        ]
    }))
    .await;
    let created = Arc::new(AtomicUsize::new(0));
    let seen = created.clone();
    s.app
        .hooks()
        .on_record(HookPoint::AfterCreate, Some("tasks"), move |ev| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(ev)
            }
        });
    (s, created)
}

#[tokio::test]
async fn the_system_reads_and_writes_records_no_rule_allows() {
    let (s, created) = tasks_server().await;
    let app = &s.app;
    let first = app
        .create_record(
            "tasks",
            json!({"title": "one", "owner": "ann", "points": 3, "done": true,
                   "tags": ["a", "b"], "due": "2026-12-24 18:00:00.000Z"}),
        )
        .await
        .expect("create");
    for (title, owner, points) in [("two", "ann", 5), ("three", "bob", 1)] {
        app.create_record(
            "tasks",
            json!({"title": title, "owner": owner, "points": points}),
        )
        .await
        .expect("create");
    }
    assert_eq!(
        created.load(Ordering::SeqCst),
        3,
        "hooks run for system writes"
    );
    // Through the API nobody but a superuser sees them.
    let (st, _) = s.get("/api/collections/tasks/records", None).await;
    assert_eq!(st, reqwest::StatusCode::FORBIDDEN);

    let found = app
        .find_record("tasks", first.id())
        .await
        .expect("find")
        .expect("there");
    assert_eq!(found.get_str("title"), "one");
    assert_eq!(found.get_f64("points"), 3.0);
    assert_eq!(found.get_i64("points"), 3);
    assert!(found.get_bool("done"));
    assert_eq!(found.get_strings("tags"), vec!["a", "b"]);
    let due = found.get_datetime("due").expect("a date");
    assert_eq!(due.to_rfc3339(), "2026-12-24T18:00:00+00:00");
    assert!(app
        .find_record("tasks", "nosuchrecord00")
        .await
        .expect("find")
        .is_none());

    // Bound parameters are values, never filter syntax.
    let anns = RecordQuery::filter("owner = {:o}").bind("o", "ann");
    assert_eq!(app.count_records("tasks", &anns).await.expect("count"), 2);
    let sneaky = RecordQuery::filter("owner = {:o}").bind("o", "x' || owner != '");
    assert_eq!(app.count_records("tasks", &sneaky).await.expect("count"), 0);
    let by_points = app
        .find_records("tasks", &anns.clone().sort("-points"))
        .await
        .expect("find");
    let titles: Vec<&str> = by_points.iter().map(|r| r.get_str("title")).collect();
    assert_eq!(titles, ["two", "one"]);
    let all = RecordQuery::all().sort("points");
    let window = app
        .find_records("tasks", &all.clone().limit(1).offset(1))
        .await
        .expect("window");
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].get_str("title"), "one");
    let far = app
        .find_records("tasks", &all.clone().offset(u64::MAX))
        .await
        .expect("an offset past the end is an empty list");
    assert!(far.is_empty());
    let top = app
        .find_first("tasks", &RecordQuery::all().sort("-points"))
        .await
        .expect("first")
        .expect("one");
    assert_eq!(top.get_str("title"), "two");
    let bad = app
        .find_records("tasks", &RecordQuery::filter("nosuch = 1"))
        .await;
    assert!(matches!(bad, Err(Error::Filter(_))), "{bad:?}");

    // A cached read sees this instance's writes at once (another's within 2 s).
    let cached = |app: framework::App, id: String| async move {
        app.find_record_cached("tasks", &id)
            .await
            .expect("cached read")
    };
    let one = cached(app.clone(), first.id().to_string())
        .await
        .expect("there");
    assert_eq!(one.get_i64("points"), 3);

    // Updates take body modifiers; deletes are gone.
    let updated = app
        .update_record("tasks", first.id(), json!({"points+": 2, "tags-": "a"}))
        .await
        .expect("update");
    assert_eq!(updated.get_i64("points"), 5);
    assert_eq!(updated.get_strings("tags"), vec!["b"]);
    let one = cached(app.clone(), first.id().to_string())
        .await
        .expect("there");
    assert_eq!(
        one.get_i64("points"),
        5,
        "the update replaced the cached copy"
    );
    let invalid = app
        .update_record("tasks", first.id(), json!({"title": ""}))
        .await;
    assert!(
        matches!(invalid, Err(Error::Validation { .. })),
        "{invalid:?}"
    );
    let not_object = app.create_record("tasks", json!(["title"])).await;
    assert!(matches!(not_object, Err(Error::BadRequest(_))));
    app.delete_record("tasks", first.id())
        .await
        .expect("delete");
    assert!(app
        .find_record("tasks", first.id())
        .await
        .expect("find")
        .is_none());
    assert!(cached(app.clone(), first.id().to_string()).await.is_none());
    let again = app.delete_record("tasks", first.id()).await;
    assert!(matches!(again, Err(Error::NotFound(_))));
}

#[tokio::test]
async fn writes_in_a_transaction_land_together_or_not_at_all() {
    let (s, _) = tasks_server().await;
    let app = &s.app;
    let kept = app
        .create_record("tasks", json!({"title": "kept", "points": 1}))
        .await
        .expect("create");
    let kept_id = kept.id().to_string();

    // The second write is invalid: nothing of the first or third is written.
    let failed = app
        .run_in_transaction(|tx| {
            tx.create("tasks", json!({"title": "new"}))
                .update("tasks", &kept_id, json!({"title": ""}))
                .delete("tasks", &kept_id);
            Ok(())
        })
        .await;
    match failed {
        Err(Error::Batch { index, .. }) => assert_eq!(index, 1),
        other => panic!("expected the second write to fail: {other:?}"),
    }
    let all = RecordQuery::all();
    assert_eq!(app.count_records("tasks", &all).await.expect("count"), 1);
    assert!(app
        .find_record("tasks", &kept_id)
        .await
        .expect("find")
        .is_some());

    // All valid: every write lands, each seeing the ones before it.
    let written = app
        .run_in_transaction(|tx| {
            tx.create("tasks", json!({"title": "a", "points": 1}))
                .update("tasks", &kept_id, json!({"points+": 10}))
                .update("tasks", &kept_id, json!({"points+": 10}));
            Ok(())
        })
        .await
        .expect("commit");
    assert_eq!(written.len(), 3);
    assert_eq!(written[2].as_ref().expect("a record").get_i64("points"), 21);
    assert_eq!(app.count_records("tasks", &all).await.expect("count"), 2);

    // A body that is not an object is refused before anything runs.
    let refused = app
        .run_in_transaction(|tx| {
            tx.create("tasks", json!({"title": "fine"}))
                .create("tasks", json!("not an object"));
            Ok(())
        })
        .await;
    assert!(
        matches!(refused, Err(Error::Batch { index: 1, .. })),
        "{refused:?}"
    );
    assert_eq!(app.count_records("tasks", &all).await.expect("count"), 2);
    let nothing = app.run_in_transaction(|_| Ok(())).await.expect("empty");
    assert!(nothing.is_empty());
}
