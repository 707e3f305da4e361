//! System-table migrations: idempotent on every start, and reversible.

use crate::common::*;
use framework::core::App;
use framework::db::Migrator;
use sea_orm_migration::MigratorTrait;
use serde_json::json;

#[tokio::test]
async fn migrations_are_idempotent_and_reversible() {
    let s = start().await;
    s.create_collection(
        json!({"name": "things", "listRule": "", "fields": [{"name": "v", "type": "text"}]}),
    )
    .await;
    s.create_record("things", json!({"v": "kept"})).await;
    let db = &s.app.db().sea;
    // Running them again changes nothing.
    Migrator::up(db, None).await.expect("up again");
    let status = Migrator::get_pending_migrations(db).await.expect("status");
    assert!(status.is_empty());
    let (_, l) = s.list("things", &[], None).await;
    assert_eq!(l["totalItems"], 1);

    // Down removes the system tables and the collections' tables with them...
    Migrator::down(db, None).await.expect("down");
    assert_eq!(
        Migrator::get_applied_migrations(db)
            .await
            .expect("applied")
            .len(),
        0
    );
    // ...and the next start builds everything again, from scratch.
    let app = App::open(s.config()).await.expect("reopen");
    assert!(app.registry().find("users").is_some());
    assert!(app.registry().find("things").is_none());
    assert_eq!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("status")
            .len(),
        0
    );
}
