//! `_logs.data` as JSONB on PostgreSQL, so log filters can reach into it
//! (`data.status >= 400`) as they do on any JSON field. SQLite keeps JSON as text.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_logs_jsonb"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE \"_logs\" ALTER COLUMN \"data\" DROP DEFAULT; \
                     ALTER TABLE \"_logs\" ALTER COLUMN \"data\" TYPE JSONB USING \"data\"::jsonb; \
                     ALTER TABLE \"_logs\" ALTER COLUMN \"data\" SET DEFAULT '{}'::jsonb",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE \"_logs\" ALTER COLUMN \"data\" DROP DEFAULT; \
                     ALTER TABLE \"_logs\" ALTER COLUMN \"data\" TYPE TEXT USING \"data\"::text; \
                     ALTER TABLE \"_logs\" ALTER COLUMN \"data\" SET DEFAULT '{}'",
                )
                .await?;
        }
        Ok(())
    }
}
