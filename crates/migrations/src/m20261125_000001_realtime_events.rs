//! `_realtime_events`: record changes too large for a PostgreSQL NOTIFY payload, kept
//! briefly for the other instances to read.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_realtime_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("_realtime_events"))
                .if_not_exists()
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("payload")).text().not_null())
                .col(ColumnDef::new(Alias::new("created")).text().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(Alias::new("_realtime_events"))
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
