//! What every start makes sure of: the system collections exist, tables made by older
//! versions have their automatic indexes, and which code migrations have run.

use crate::app::App;
use crate::collections::model::Collection;
use crate::collections::schema::{self};
use crate::collections::store::{create, exec_all, placeholders, row_values, COLUMNS};
use crate::collections::validate::prepare;
use crate::db::Dialect;
use crate::error::{Error, Result};
use crate::fields::{format_datetime, Field, FieldKind};

/// Creates the [`schema::auto_indexes`] that tables made before they existed lack.
/// Another instance may be doing the same: a failure is logged, not fatal.
pub(crate) async fn ensure_auto_indexes(app: &App) -> Result<()> {
    let d = app.dialect();
    let sql = match d {
        Dialect::Sqlite => "SELECT \"name\" FROM sqlite_master WHERE \"type\" = 'index'",
        Dialect::Postgres => {
            "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = current_schema()"
        }
    };
    let existing: std::collections::HashSet<String> = app
        .db()
        .query_all(d.raw(sql, vec![]))
        .await?
        .iter()
        .filter_map(|r| r.string("name").ok())
        .collect();
    let missing: Vec<String> = app
        .registry()
        .all()
        .iter()
        .flat_map(|c| schema::auto_indexes(c))
        .filter(|(name, _)| !existing.contains(name))
        .map(|(_, sql)| sql)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    tracing::info!(count = missing.len(), "creating indexes on autodate fields");
    let created = app
        .db()
        .write(Box::new(move |txn| {
            let missing = missing.clone();
            Box::pin(async move { exec_all(txn, d, &missing).await })
        }))
        .await;
    if let Err(e) = created {
        tracing::warn!(error = %e, "cannot create indexes on autodate fields");
    }
    Ok(())
}

/// Creates the built-in collections of a new install (`_superusers`, `users`).
pub(crate) async fn ensure_system_collections(app: &App) -> Result<()> {
    let reg = app.registry();
    if reg.find(crate::auth::superusers::SUPERUSERS).is_none() {
        let mut c = Collection::auth(crate::auth::superusers::SUPERUSERS);
        c.id = "pbc_3142635823".into();
        c.system = true;
        if let Some(a) = &mut c.auth {
            a.auth_token.duration = 86_400;
        }
        register_existing_table(app, c).await?;
    }
    if reg.find("users").is_none() {
        let mut c = Collection::auth("users");
        c.id = "_pb_users_auth_".into();
        c.add_field(Field::new(
            "name",
            FieldKind::Text(crate::fields::TextField {
                max: 255,
                ..Default::default()
            }),
        ));
        c.indexes =
            vec!["CREATE UNIQUE INDEX idx_users_email ON users (email) WHERE email != ''".into()];
        c.list_rule = Some("id = @request.auth.id".into());
        c.view_rule = Some("id = @request.auth.id".into());
        c.create_rule = Some(String::new());
        c.update_rule = Some("id = @request.auth.id".into());
        c.delete_rule = Some("id = @request.auth.id".into());
        create(app, c).await?;
    }
    if reg.find(crate::auth::otp::OTPS).is_none() {
        create(app, crate::auth::otp::collection()).await?;
    }
    if reg.find(crate::auth::mfa::MFAS).is_none() {
        create(app, crate::auth::mfa::collection()).await?;
    }
    if reg.find(crate::auth::oauth2::EXTERNAL_AUTHS).is_none() {
        create(app, crate::auth::oauth2::collection()).await?;
    }
    Ok(())
}

/// Registers a collection whose table a sea-orm migration already created.
async fn register_existing_table(app: &App, mut c: Collection) -> Result<()> {
    let reg = app.registry();
    prepare(&mut c, None, &reg, "create")?;
    let now = format_datetime(chrono::Utc::now());
    c.created = now.clone();
    c.updated = now;
    let d = app.dialect();
    app.db()
        .write::<_, Error>(Box::new(move |txn| {
            let c = c.clone();
            Box::pin(async move {
                let values = row_values(&c);
                let sql = format!(
                    "INSERT INTO \"_collections\" ({COLUMNS}) VALUES ({})",
                    placeholders(d, values.len())
                );
                txn.execute(d.raw(sql, values)).await?;
                Ok(())
            })
        }))
        .await?;
    app.reload_collections().await
}

pub(crate) async fn migration_applied(app: &App, name: &str) -> Result<bool> {
    let d = app.dialect();
    let ph = placeholders(d, 1);
    let row = app
        .db()
        .query_one(d.raw(
            format!("SELECT 1 AS x FROM \"_migrations\" WHERE \"name\" = {ph}"),
            vec![name.into()],
        ))
        .await?;
    Ok(row.is_some())
}

pub(crate) async fn record_migration(app: &App, name: &str) -> Result<()> {
    let d = app.dialect();
    let name = name.to_string();
    app.db()
        .write::<_, Error>(Box::new(move |txn| {
            let name = name.clone();
            Box::pin(async move {
                let ph = placeholders(d, 2);
                let now = format_datetime(chrono::Utc::now());
                txn.execute(d.raw(
                    format!("INSERT INTO \"_migrations\" (\"name\", \"applied\") VALUES ({ph})"),
                    vec![name.into(), now.into()],
                ))
                .await?;
                Ok(())
            })
        }))
        .await
}
