//! The registry of collections, settings, logs, superusers and code-migration bookkeeping.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_system_tables"
    }
}

fn text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .text()
        .not_null()
        .default("")
        .to_owned()
}

fn nullable_text(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).text().null().to_owned()
}

fn flag(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

fn id() -> ColumnDef {
    ColumnDef::new(Alias::new("id"))
        .text()
        .not_null()
        .primary_key()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per collection; fields, indexes and options are JSON documents.
        m.create_table(
            Table::create()
                .table(Alias::new("_collections"))
                .if_not_exists()
                .col(id())
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .text()
                        .not_null()
                        .unique_key(),
                )
                .col(text("type"))
                .col(flag("system"))
                .col(
                    ColumnDef::new(Alias::new("fields"))
                        .text()
                        .not_null()
                        .default("[]"),
                )
                .col(
                    ColumnDef::new(Alias::new("indexes"))
                        .text()
                        .not_null()
                        .default("[]"),
                )
                .col(nullable_text("listRule"))
                .col(nullable_text("viewRule"))
                .col(nullable_text("createRule"))
                .col(nullable_text("updateRule"))
                .col(nullable_text("deleteRule"))
                .col(
                    ColumnDef::new(Alias::new("options"))
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(text("created"))
                .col(text("updated"))
                .to_owned(),
        )
        .await?;

        // Settings, one JSON document per key.
        m.create_table(
            Table::create()
                .table(Alias::new("_params"))
                .if_not_exists()
                .col(id())
                .col(
                    ColumnDef::new(Alias::new("value"))
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(text("created"))
                .col(text("updated"))
                .to_owned(),
        )
        .await?;

        // Request and application logs.
        m.create_table(
            Table::create()
                .table(Alias::new("_logs"))
                .if_not_exists()
                .col(id())
                .col(
                    ColumnDef::new(Alias::new("level"))
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(text("message"))
                .col(
                    ColumnDef::new(Alias::new("data"))
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(text("created"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_logs_created")
                .table(Alias::new("_logs"))
                .col(Alias::new("created"))
                .to_owned(),
        )
        .await?;

        // Superusers: an auth collection whose table exists from the start.
        m.create_table(
            Table::create()
                .table(Alias::new("_superusers"))
                .if_not_exists()
                .col(id())
                .col(text("password"))
                .col(text("tokenKey"))
                .col(text("email"))
                .col(flag("emailVisibility"))
                .col(flag("verified"))
                .col(text("created"))
                .col(text("updated"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_superusers_email")
                .table(Alias::new("_superusers"))
                .col(Alias::new("email"))
                .unique()
                .to_owned(),
        )
        .await?;

        // Code migrations of apps (collections defined in code), applied once each.
        m.create_table(
            Table::create()
                .table(Alias::new("_migrations"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(text("applied"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The collections' own tables and views go with the registry that describes them.
        let db = m.get_connection();
        if m.has_table("_collections").await? {
            let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT \"name\", \"type\" FROM \"_collections\" WHERE \"name\" <> '_superusers'")).await?;
            // Views first: they may read from the tables.
            let mut drops: Vec<String> = Vec::new();
            for view_first in [true, false] {
                for r in &rows {
                    let name: String = r.try_get("", "name")?;
                    let kind: String = r.try_get("", "type")?;
                    if (kind == "view") == view_first {
                        let what = if view_first { "VIEW" } else { "TABLE" };
                        drops.push(format!(
                            "DROP {what} IF EXISTS \"{}\"",
                            name.replace('"', "\"\"")
                        ));
                    }
                }
            }
            for sql in drops {
                db.execute_unprepared(&sql).await?;
            }
        }
        for t in [
            "_migrations",
            "_superusers",
            "_logs",
            "_params",
            "_collections",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
