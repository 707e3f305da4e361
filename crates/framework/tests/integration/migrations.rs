//! System-table migrations: idempotent on every start, and reversible.

use crate::common::*;
use framework::db::system_migrations;
use framework::App;
use serde_json::json;

#[tokio::test]
async fn migrations_are_idempotent_and_reversible() {
    let s = start().await;
    s.create_collection(
        json!({"name": "things", "listRule": "", "fields": [{"name": "v", "type": "text"}]}),
    )
    .await;
    s.create_record("things", json!({"v": "kept"})).await;
    let db = s.app.db();
    let pending = |db| async move {
        let status = system_migrations::status(db).await.expect("status");
        status.iter().filter(|m| !m.applied).count()
    };
    // Running them again changes nothing.
    system_migrations::up(db).await.expect("up again");
    assert_eq!(pending(db).await, 0);
    let (_, l) = s.list("things", &[], None).await;
    assert_eq!(l["totalItems"], 1);

    // Down removes the system tables and the collections' tables with them...
    system_migrations::down(db, None).await.expect("down");
    let status = system_migrations::status(db).await.expect("status");
    assert!(!status.is_empty());
    assert!(status.iter().all(|m| !m.applied));
    // ...and the next start builds everything again, from scratch.
    let app = App::open(s.config()).await.expect("reopen");
    assert!(app.collection("users").is_ok());
    assert!(app.collection("things").is_err());
    assert_eq!(pending(db).await, 0);
}
