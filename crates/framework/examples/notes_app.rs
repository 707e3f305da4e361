//! A tiny app built on the framework's public API: a `notes` collection created
//! by a code migration, record hooks that fill in derived fields and refuse bad input,
//! and a route of its own that appears in the same OpenAPI document.
//!
//! Run it with `cargo run --example notes_app` and open http://127.0.0.1:8090/docs.

use framework::collections::{self, Collection, Field, FieldKind, NumberField, TextField};
use framework::hooks::HookPoint;
use framework::http::{ApiResult, Ctx};
use framework::records::{self, ListParams, RecordFields};
use framework::{App, CodeMigration, Config, Error};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{json, Value};

/// The app's schema, applied once each, in order.
pub fn migrations() -> Vec<CodeMigration> {
    vec![CodeMigration::new(
        "notes_001_create_notes",
        |app| async move {
            let notes = Collection::base("notes")
                .with_rules(Some(""))
                .with_field(
                    Field::new(
                        "title",
                        FieldKind::Text(TextField {
                            max: 200,
                            ..Default::default()
                        }),
                    )
                    .required(),
                )
                .with_field(Field::new("body", FieldKind::Text(TextField::default())))
                .with_field(Field::new("slug", FieldKind::Text(TextField::default())))
                .with_field(Field::new(
                    "words",
                    FieldKind::Number(NumberField {
                        only_int: true,
                        ..Default::default()
                    }),
                ));
            collections::create(&app, notes).await.map(|_| ())
        },
    )]
}

fn slug(title: &str) -> String {
    let s: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    s.split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Derived fields are filled before every write; a reserved title is refused.
pub fn register_hooks(app: &App) {
    for point in [HookPoint::BeforeCreate, HookPoint::BeforeUpdate] {
        app.hooks()
            .on_record(point, Some("notes"), |mut ev| async move {
                let title = ev
                    .record
                    .get("title")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(title) = title {
                    if title.eq_ignore_ascii_case("forbidden") {
                        return Err(Error::BadRequest("This title is reserved.".into()));
                    }
                    ev.record.insert("slug".into(), json!(slug(&title)));
                }
                if let Some(body) = ev.record.get("body").and_then(Value::as_str) {
                    let words = body.split_whitespace().count();
                    ev.record.insert("words".into(), json!(words));
                }
                Ok(ev)
            });
    }
}

#[derive(Object)]
pub struct NotesStats {
    /// Number of notes the caller can list.
    pub notes: i64,
    /// Words across those notes.
    pub words: i64,
}

pub struct NotesApi;

#[OpenApi]
impl NotesApi {
    /// Totals over the notes the caller may list.
    #[oai(path = "/api/notes/stats", method = "get", operation_id = "notesStats")]
    async fn stats(&self, ctx: Ctx) -> ApiResult<Json<NotesStats>> {
        let c = ctx.app.collection("notes")?;
        let list = records::list(
            &ctx.app,
            &c,
            &ctx.info,
            &ListParams {
                per_page: 1000,
                ..Default::default()
            },
        )
        .await?;
        let words = list.items.iter().map(|n| n.get_i64("words")).sum();
        Ok(Json(NotesStats {
            notes: list.total_items,
            words,
        }))
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let app = App::open(Config::default()).await?;
    app.run_code_migrations(&migrations()).await?;
    register_hooks(&app);
    framework::http::serve(app, NotesApi, "127.0.0.1:8090").await?;
    Ok(())
}
