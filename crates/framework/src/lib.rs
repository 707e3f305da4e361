//! A self-hosted backend framework in the PocketBase mould.
//!
//! - [`core`]: the engine (collections, records, filter language, rules, hooks, auth).
//! - [`api`]: the HTTP layer (poem + poem-openapi).
//! - [`db`]: SQLite / PostgreSQL connections with a group-committing writer.
//!
//! An application opens an [`core::App`], registers its collections (as code
//! migrations) and hooks, and serves the HTTP API together with its own routes with
//! [`api::serve`]. See `examples/notes_app.rs`.

// Lints the code keeps by itself, not by habit: no `unsafe` but where a comment says why,
// no `unwrap()` outside tests (input paths answer errors; static regexes `expect`).
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]

pub mod api;
pub mod core;
pub mod db;

pub use crate::core::{App, Config};
