//! A self-hosted backend framework in the PocketBase mould: collections with typed fields
//! defined at run time, API rules in PocketBase's filter language, auth for people and
//! superusers, realtime, files, batch requests, logs and settings, all behind an
//! OpenAPI-described REST API that PocketBase's JS SDK talks to, with a dashboard at `/_/`.
//!
//! An app opens an [`App`], creates its collections with [`CodeMigration`]s, registers
//! [`hooks`], reads and writes [`records`] as the system, and serves the framework's API
//! together with its own poem-openapi routes with [`http::serve`]:
//!
//! ```no_run
//! use framework::collections::{Collection, Field, FieldKind, TextField};
//! use framework::hooks::HookPoint;
//! use framework::records::{RecordFields, RecordQuery};
//! use framework::{App, CodeMigration, Config, Error};
//! use serde_json::json;
//!
//! fn migrations() -> Vec<CodeMigration> {
//!     vec![CodeMigration::new("notes_001", |app: App| async move {
//!         let mut notes = Collection::base("notes");
//!         notes.add_field(Field::new("title", FieldKind::Text(TextField::default())));
//!         notes.list_rule = Some(String::new());
//!         framework::collections::create(&app, notes).await.map(|_| ())
//!     })]
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let app = App::open(Config::default()).await?;
//!     app.run_code_migrations(&migrations()).await?;
//!     app.hooks().on_record(HookPoint::BeforeCreate, Some("notes"), |ev| async move {
//!         match ev.record.get_str("title") {
//!             "" => Err(Error::BadRequest("A note needs a title.".into())),
//!             _ => Ok(ev),
//!         }
//!     });
//!     app.create_record("notes", json!({"title": "first"})).await?;
//!     let found = app
//!         .find_records("notes", &RecordQuery::filter("title ~ {:q}").bind("q", "fir"))
//!         .await?;
//!     assert_eq!(found.len(), 1);
//!     framework::http::serve(app, (), "127.0.0.1:8090").await?;
//!     Ok(())
//! }
//! ```
//!
//! `examples/notes_app.rs` is the same app with a route of its own.

// Lints the code keeps by itself, not by habit: no `unsafe` but where a comment says why,
// no `unwrap()` outside tests (input paths answer errors; static regexes `expect`).
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]

mod app;
pub mod auth;
pub mod collections;
pub mod db;
mod error;
pub(crate) mod fields;
pub mod files;
pub(crate) mod filter;
pub mod hooks;
pub mod http;
pub mod logs;
pub mod mail;
pub mod mcp;
pub(crate) mod realtime;
pub mod records;
pub mod secrets;
pub mod settings;

pub use app::{App, CodeMigration, Config, HttpLimits};
pub use error::{Error, Result};
