//! The framework's integration tests, one module per feature, in one binary (one link on
//! two cores instead of one per file). Each boots a real server (`common`) on SQLite or,
//! with `GATHER_TEST_DB=postgres`, on PostgreSQL.

mod common;

mod admin_ui;
mod app_api;
mod auth_email;
mod auth_oauth2;
mod auth_otp_mfa;
mod batch;
mod body_fuzz;
mod collections_api;
mod errors;
mod example_app;
mod files;
mod files_s3;
mod filter_fuzz;
mod group_commit;
mod js_sdk;
mod logs;
mod mcp;
mod migrations;
mod realtime;
mod record_auth;
mod records_api;
mod rules;
mod search;
mod settings_api;
