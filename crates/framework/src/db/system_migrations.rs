//! The framework's own tables (`crates/migrations`), migrated outside `App::open`, which
//! applies them by itself: for a command line's `migrate up|down|status`.

use super::error::DbError;
use super::Db;
use framework_migrations::Migrator;
use sea_orm_migration::{MigrationStatus, MigratorTrait};

/// One system migration and whether the database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub applied: bool,
}

/// Applies every pending system migration.
pub async fn up(db: &Db) -> Result<(), DbError> {
    Ok(Migrator::up(&db.sea, None).await?)
}

/// Reverts the last `steps` applied migrations (all of them with `None`: the system
/// tables, and every collection's table with them, are dropped).
pub async fn down(db: &Db, steps: Option<u32>) -> Result<(), DbError> {
    Ok(Migrator::down(&db.sea, steps).await?)
}

/// Every system migration, in order, applied or not.
pub async fn status(db: &Db) -> Result<Vec<MigrationState>, DbError> {
    Ok(Migrator::get_migration_with_status(&db.sea)
        .await?
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_string(),
            applied: m.status() == MigrationStatus::Applied,
        })
        .collect())
}
