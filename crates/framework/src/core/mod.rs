//! The engine: the App, collections and fields, records, the filter language and
//! API rules, auth tokens and hooks. Knows nothing about HTTP.

pub mod app;
pub mod auth;
pub mod auth_cache;
pub mod auth_email;
pub mod auth_flow;
pub mod batch;
pub mod collection;
pub mod collections;
pub mod count_cache;
pub mod error;
pub mod expand;
pub mod fields;
pub mod files;
pub mod filter;
pub mod hasher;
pub mod hooks;
pub mod ids;
pub mod logs;
pub mod mailer;
pub mod mfa;
pub mod oauth2;
pub mod oauth2_link;
pub mod otp;
pub mod params;
pub mod pick;
pub mod realtime;
pub mod realtime_pg;
pub mod record_files;
pub mod record_io;
pub mod record_write;
pub mod records;
pub mod registry;
pub mod schema;
pub mod secrets;
pub mod settings;
pub mod superusers;
pub mod system;

pub use app::{App, CodeMigration, Config, HttpLimits};
pub use collection::Collection;
pub use error::{Error, Result};

/// Name of the built-in superusers auth collection.
pub const SUPERUSERS: &str = "_superusers";
