//! The framework's system-table migrations, run automatically when an App opens, on both engines.

#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_system_tables;
mod m20261125_000001_realtime_events;
mod m20261201_000001_logs_jsonb;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_system_tables::Migration),
            Box::new(m20261125_000001_realtime_events::Migration),
            Box::new(m20261201_000001_logs_jsonb::Migration),
        ]
    }
}
