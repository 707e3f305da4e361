//! The e-mail flows of auth collections: verification, password reset and e-mail
//! change, each a request (sends a link with a single-purpose token) and a confirm.

use crate::app::App;
use crate::auth::superusers::system_request;
use crate::auth::tokens::{email_token, load_auth_row, verify_token, Claims, TokenType};
use crate::collections::model::auth_fields::{EMAIL, PASSWORD, VERIFIED};
use crate::collections::model::{Collection, EmailTemplate};
use crate::db::quote;
use crate::error::{Error, Result};
use crate::fields::{EmailField, FieldError, FieldType};
use crate::filter::AuthRecord;
use crate::mail::{MailData, MailKind};
use crate::records::columns;
use crate::records::read as records;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Checks that `email` looks like an address; the error names `key`.
pub(crate) fn check_email(email: &str, key: &str) -> Result<String> {
    let email = email.trim();
    EmailField::default()
        .prepare(&json!(email), true)
        .map_err(|e| {
            Error::field(
                "An error occurred while validating the submitted data.",
                key,
                e,
            )
        })?;
    Ok(email.to_string())
}

/// The id and token key of the record of `c` whose `email` is `email`, if any.
pub(crate) async fn find_by_email(
    app: &App,
    c: &Collection,
    email: &str,
) -> Result<Option<AuthRecordRow>> {
    let d = app.dialect();
    let ph = if d == crate::db::Dialect::Sqlite {
        "?"
    } else {
        "$1"
    };
    let sql = format!(
        "SELECT * FROM {} WHERE \"email\" = {ph} LIMIT 1",
        quote(&c.name)
    );
    let Some(row) = app.db().query_one(d.raw(sql, vec![email.into()])).await? else {
        return Ok(None);
    };
    AuthRecordRow::from_row(&row, c).map(Some)
}

/// An auth record with the secrets the flows need.
pub struct AuthRecordRow {
    pub id: String,
    pub email: String,
    pub verified: bool,
    pub password_hash: String,
    pub token_key: String,
    pub record: Map<String, Value>,
}

impl AuthRecordRow {
    fn from_row(row: &crate::db::Row, c: &Collection) -> Result<Self> {
        let (password_hash, token_key) = columns::auth_secrets(row)?;
        let record = columns::record_from_row(row, c);
        let s = |k: &str| {
            record
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(AuthRecordRow {
            id: s("id"),
            email: s(EMAIL),
            verified: record
                .get(VERIFIED)
                .and_then(Value::as_bool)
                .unwrap_or(false),
            password_hash,
            token_key,
            record,
        })
    }

    pub(crate) async fn load(app: &App, c: &Arc<Collection>, id: &str) -> Result<Option<Self>> {
        match load_auth_row(app, c, id).await? {
            Some(row) => Self::from_row(&row, c).map(Some),
            None => Ok(None),
        }
    }
}

/// Renders a message and sends it without making the caller wait, so that answering
/// takes as long whether or not a message went out. Failures are logged.
pub(crate) fn send_later(
    app: &App,
    kind: MailKind,
    to: &str,
    secret: &str,
    rec: &AuthRecordRow,
    template: &EmailTemplate,
) {
    let settings = app.settings();
    let data = MailData {
        kind,
        to,
        secret,
        record: &rec.record,
        template,
    };
    let mail = match crate::mail::render(&settings, &data) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, ?kind, "cannot render e-mail");
            return;
        }
    };
    let record_id = rec.id.clone();
    tokio::spawn(async move {
        match crate::mail::send(&settings, &mail).await {
            Ok(()) => tracing::info!(?kind, record = %record_id, "e-mail sent"),
            Err(crate::mail::SendError::NotConfigured) => tracing::warn!(
                ?kind,
                record = %record_id,
                "no e-mail sent: SMTP is not configured (set it in /api/settings)"
            ),
            Err(e) => tracing::error!(error = %e, ?kind, record = %record_id, "e-mail not sent"),
        }
    });
}

/// A token of `kind` for a record of `c`, still for the record's current address.
pub(crate) async fn verify_email_token(
    app: &App,
    c: &Collection,
    token: &str,
    kind: TokenType,
) -> Option<(AuthRecord, Claims)> {
    let (auth, claims) = verify_token(app, token, kind).await?;
    let email = auth.record.get(EMAIL).and_then(Value::as_str)?;
    (auth.collection.id == c.id && claims.email.as_deref() == Some(email)).then_some((auth, claims))
}

fn invalid_token() -> Error {
    Error::field(
        "An error occurred while validating the submitted data.",
        "token",
        FieldError::new("validation_invalid_token", "Invalid or expired token."),
    )
}

fn templates(c: &Collection) -> crate::collections::model::AuthOptions {
    c.auth.clone().unwrap_or_default()
}

/// Sends a verification link to an unverified record with this address; says nothing
/// about whether there is one.
pub async fn request_verification(app: &App, c: &Arc<Collection>, email: &str) -> Result<()> {
    let email = check_email(email, "email")?;
    let Some(rec) = find_by_email(app, c, &email).await? else {
        return Ok(());
    };
    if rec.verified {
        return Ok(());
    }
    let token = email_token(
        app,
        c,
        &rec.id,
        &rec.token_key,
        TokenType::Verification,
        &rec.email,
        None,
    )?;
    send_later(
        app,
        MailKind::Verification,
        &rec.email,
        &token,
        &rec,
        &templates(c).verification_template,
    );
    Ok(())
}

/// Marks the token's record verified (again is fine).
pub async fn confirm_verification(app: &App, c: &Arc<Collection>, token: &str) -> Result<()> {
    let (auth, _) = verify_email_token(app, c, token, TokenType::Verification)
        .await
        .ok_or_else(invalid_token)?;
    if auth.record.get(VERIFIED).and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    let mut body = Map::new();
    body.insert(VERIFIED.into(), json!(true));
    records::update(app, c, auth.id(), &system_request(app)?, body).await?;
    Ok(())
}

/// Sends a password reset link to the record with this address, if there is one.
pub async fn request_password_reset(app: &App, c: &Arc<Collection>, email: &str) -> Result<()> {
    let email = check_email(email, "email")?;
    let Some(rec) = find_by_email(app, c, &email).await? else {
        return Ok(());
    };
    let token = email_token(
        app,
        c,
        &rec.id,
        &rec.token_key,
        TokenType::PasswordReset,
        &rec.email,
        None,
    )?;
    send_later(
        app,
        MailKind::PasswordReset,
        &rec.email,
        &token,
        &rec,
        &templates(c).reset_password_template,
    );
    Ok(())
}

/// Sets a new password. The token dies with it (the token key rotates), and the record
/// counts as verified: its owner has just read mail sent to it.
pub async fn confirm_password_reset(
    app: &App,
    c: &Arc<Collection>,
    token: &str,
    password: &str,
    password_confirm: &str,
) -> Result<()> {
    let (auth, _) = verify_email_token(app, c, token, TokenType::PasswordReset)
        .await
        .ok_or_else(invalid_token)?;
    let mut body = Map::new();
    body.insert("password".into(), json!(password));
    body.insert("passwordConfirm".into(), json!(password_confirm));
    body.insert(VERIFIED.into(), json!(true));
    records::update(app, c, auth.id(), &system_request(app)?, body).await?;
    Ok(())
}

/// Sends a link to `new_email` that moves the caller's record there once opened.
pub async fn request_email_change(
    app: &App,
    c: &Arc<Collection>,
    auth: &AuthRecord,
    new_email: &str,
) -> Result<()> {
    let new_email = check_email(new_email, "newEmail")?;
    let rec = AuthRecordRow::load(app, c, auth.id())
        .await?
        .ok_or_else(Error::not_found)?;
    let taken = || {
        Error::field(
            "An error occurred while validating the submitted data.",
            "newEmail",
            FieldError::new(
                "validation_invalid_new_email",
                "Invalid new email address or already in use.",
            ),
        )
    };
    if new_email.eq_ignore_ascii_case(&rec.email)
        || find_by_email(app, c, &new_email).await?.is_some()
    {
        return Err(taken());
    }
    let token = email_token(
        app,
        c,
        &rec.id,
        &rec.token_key,
        TokenType::EmailChange,
        &rec.email,
        Some(&new_email),
    )?;
    send_later(
        app,
        MailKind::EmailChange,
        &new_email,
        &token,
        &rec,
        &templates(c).confirm_email_change_template,
    );
    Ok(())
}

/// Moves the token's record to its new address (verified), after checking its
/// password. Every token of the record dies: the token key rotates with the address.
pub async fn confirm_email_change(
    app: &App,
    c: &Arc<Collection>,
    token: &str,
    password: &str,
) -> Result<()> {
    let (auth, claims) = verify_email_token(app, c, token, TokenType::EmailChange)
        .await
        .ok_or_else(invalid_token)?;
    let new_email = claims.new_email.clone().ok_or_else(invalid_token)?;
    let rec = AuthRecordRow::load(app, c, auth.id())
        .await?
        .ok_or_else(invalid_token)?;
    if !app.verify_password(password, &rec.password_hash).await {
        return Err(Error::field(
            "An error occurred while validating the submitted data.",
            PASSWORD,
            FieldError::new(
                "validation_invalid_password",
                "Missing or invalid auth record password.",
            ),
        ));
    }
    let mut body = Map::new();
    body.insert(EMAIL.into(), json!(new_email));
    body.insert(VERIFIED.into(), json!(true));
    records::update(app, c, &rec.id, &system_request(app)?, body)
        .await
        .map_err(|e| match e {
            Error::Validation { fields, .. } if fields.contains_key(EMAIL) => Error::field(
                "An error occurred while validating the submitted data.",
                "token",
                FieldError::new(
                    "validation_invalid_new_email",
                    "The new e-mail address is already in use.",
                ),
            ),
            other => other,
        })?;
    Ok(())
}

/// Marks a record verified after its owner proved the address another way (an OTP, a
/// provider's verified e-mail). An account someone else may have pre-registered with
/// that address loses its password too, unless `keep_password` (MFA guards it).
pub(crate) async fn claim_address(
    app: &App,
    c: &Arc<Collection>,
    rec: &AuthRecordRow,
    keep_password: bool,
) -> Result<()> {
    if rec.verified {
        return Ok(());
    }
    let plan = claim_address_plan(app, c, &rec.id, keep_password, None).await?;
    crate::records::commit::commit(app, vec![plan], None)
        .await
        .map_err(|(_, e)| e)?;
    Ok(())
}

/// The write of [`claim_address`], to commit with others; `known` is the record when an
/// earlier write of the same transaction makes it.
pub(crate) async fn claim_address_plan(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    keep_password: bool,
    known: Option<Map<String, Value>>,
) -> Result<crate::records::write::WritePlan> {
    let mut change = Map::new();
    change.insert("verified".into(), json!(true));
    if !keep_password {
        let random = crate::collections::ids::random_token(30);
        change.insert("password".into(), json!(random));
        change.insert("passwordConfirm".into(), json!(random));
    }
    let sys = system_request(app)?;
    crate::records::write::plan_update(app, c, id, &sys, change, Vec::new(), known).await
}
