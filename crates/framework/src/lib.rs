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

mod api;
mod core;
pub mod db;

pub use crate::core::{App, CodeMigration, Config, Error, HttpLimits, Result};

/// Collections and their fields, as code migrations create and change them.
pub mod collections {
    pub use crate::core::collection::{
        AuthOptions, Collection, CollectionType, EmailTemplate, MfaOptions, OAuth2Options,
        OAuth2Provider, OtpOptions, PasswordAuth, Rule, TokenConfig,
    };
    pub use crate::core::collections::{create, delete, import, truncate, update};
    pub use crate::core::fields::{
        AutodateField, BoolField, DateField, EditorField, EmailField, Field, FieldError, FieldKind,
        FileField, GeoPointField, JsonField, NumberField, PasswordField, RelationField,
        SelectField, TextField, UrlField,
    };
    pub use crate::core::ids::is_valid_record_id;
}

/// Records: the system's own reads and writes (`App::find_record` and the rest, rules
/// not applied), the typed getters, and the requester's view of them (rules applied).
pub mod records {
    pub use crate::core::fields::{format_datetime, parse_datetime};
    pub use crate::core::records::{
        create, create_with_files, delete, expand, list, present, update, update_with_files, view,
        ListParams, ListResult, Record,
    };
    pub use crate::core::system::{RecordFields, RecordQuery, Transaction};
}

/// Record hooks: code that runs before and after records are created, updated, deleted.
pub mod hooks {
    pub use crate::core::hooks::{HookPoint, Hooks, RecordEvent, RecordHook};
}

/// Who is asking: the request as rules and filters see it, tokens, passwords, superusers.
pub mod auth {
    pub use crate::core::auth::{new_record_token, TokenType};
    pub use crate::core::filter::{AuthRecord, RequestInfo};
    pub use crate::core::superusers::{delete as delete_superuser, system_request};
    pub use crate::core::superusers::{installer, upsert as upsert_superuser};
}

/// The HTTP layer: serving the API with an app's routes, extractors, guards, errors and
/// the OpenAPI document.
pub mod http {
    pub use crate::api::rate_limit::client_ip;
    pub use crate::api::{
        body_object, core_api, described, document, endpoint, serve, serve_on, ApiDocument,
        ApiError, ApiResult, CoreApi, Ctx, Described, MergePatch, SuperuserAuth,
    };
}

/// File storage (local or S3) behind records' file fields.
pub mod files {
    pub use crate::core::files::{FileStorage, FormFile, StoredFile};
}

/// Settings: the server's settings and an app's own JSON documents kept beside them.
pub mod settings {
    pub use crate::core::params::{delete, load, load_or_init, save};
    pub use crate::core::settings::{merge, Settings};
}

/// Signing secrets kept outside the database (files with mode 0600 or the environment).
pub mod secrets {
    pub use crate::core::secrets::{SecretSpec, MIN_LEN, TOKEN_SECRET};
}

/// E-mail: the built-in messages and sending through the configured SMTP server.
pub mod mail {
    pub use crate::core::mailer::{render, send, Mail, MailData, MailKind, SendError};
}

/// The log at `/api/logs`: an app's own entries beside the request log.
pub mod logs {
    pub use crate::core::logs::{log, Entry, Level};
}
