//! One-time passwords by e-mail: `request-otp` stores a hashed code in `_otps` and mails
//! it; `auth-with-otp` accepts it once, before it expires, within a few attempts.

use crate::app::App;
use crate::auth::email::{check_email, find_by_email, send_later, AuthRecordRow};
use crate::auth::flow_store;
use crate::auth::superusers::system_request;
use crate::collections::ids::{new_record_id, random_from};
use crate::collections::model::Collection;
use crate::db::quote;
use crate::error::{Error, Result};
use crate::fields::{Field, FieldKind, NumberField, PasswordField, TextField};
use crate::mail::MailKind;
use crate::records::read as records;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The system collection of pending codes.
pub const OTPS: &str = "_otps";

/// Wrong codes allowed per OTP; the next wrong one deletes it.
pub const MAX_ATTEMPTS: i64 = 5;

pub(crate) fn collection() -> Collection {
    crate::auth::flow_store::collection(
        OTPS,
        vec![
            Field::new(
                "password",
                FieldKind::Password(PasswordField {
                    min: 1,
                    ..Default::default()
                }),
            )
            .hidden()
            .required(),
            Field::new("sentTo", FieldKind::Text(TextField::default())),
            Field::new(
                "attempts",
                FieldKind::Number(NumberField {
                    min: Some(0.0),
                    max: None,
                    only_int: true,
                    sequence_of: None,
                }),
            ),
        ],
    )
}

fn not_enabled() -> Error {
    Error::Forbidden("The collection is not configured to allow OTP authentication.".into())
}

fn invalid() -> Error {
    Error::BadRequest("Invalid or expired OTP.".into())
}

/// Mails a code to the record with `email` and returns the OTP's id. Unknown
/// addresses get an id too (that matches nothing), after as much work.
pub async fn request(app: &App, c: &Arc<Collection>, email: &str) -> Result<String> {
    let opts = c.auth.clone().unwrap_or_default().otp;
    if !opts.enabled {
        return Err(not_enabled());
    }
    let email = check_email(email, "email")?;
    let Some(rec) = find_by_email(app, c, &email).await? else {
        let _ = app
            .verify_password("no such account", crate::auth::tokens::dummy_hash())
            .await;
        return Ok(new_record_id());
    };
    flow_store::delete_expired(app, OTPS, c, opts.duration).await?;
    let code = random_from(b"0123456789", opts.length.clamp(4, 16));
    let mut body = Map::new();
    body.insert("collectionRef".into(), json!(c.id));
    body.insert("recordRef".into(), json!(rec.id));
    body.insert("password".into(), json!(code));
    body.insert("sentTo".into(), json!(rec.email));
    body.insert("attempts".into(), json!(0));
    let otps = app.collection(OTPS)?;
    let created = records::create(app, &otps, &system_request(app)?, body).await?;
    send_later(
        app,
        MailKind::Otp,
        &rec.email,
        &code,
        &rec,
        &opts.email_template,
    );
    created
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::internal("created OTP has no id"))
}

/// Logs in with a one-time password: uses it up and, when the code went to the record's
/// own address, counts that as proof of the address (as a verification would). Returns
/// the record's id.
pub(crate) async fn sign_in(
    app: &App,
    c: &Arc<Collection>,
    otp_id: &str,
    code: &str,
) -> Result<String> {
    let (rec, sent_to) = consume(app, c, otp_id, code).await?;
    if sent_to == rec.email {
        let mfa_on = c.auth.as_ref().is_some_and(|a| a.mfa.enabled);
        crate::auth::email::claim_address(app, c, &rec, mfa_on).await?;
    }
    Ok(rec.id)
}

/// Checks `code` against OTP `otp_id` of collection `c` and uses it up. Returns the
/// auth record and the address the code was sent to.
pub async fn consume(
    app: &App,
    c: &Arc<Collection>,
    otp_id: &str,
    code: &str,
) -> Result<(AuthRecordRow, String)> {
    let opts = c.auth.clone().unwrap_or_default().otp;
    if !opts.enabled {
        return Err(not_enabled());
    }
    let columns = [
        "collectionRef",
        "recordRef",
        "password",
        "sentTo",
        "attempts",
    ];
    let row = flow_store::find(app, OTPS, otp_id, &columns)
        .await?
        .ok_or_else(invalid)?;
    let get = |k: &str| row.string(k).unwrap_or_default();
    if get("collectionRef") != c.id {
        return Err(invalid());
    }
    let attempts = row.f64("attempts").unwrap_or(0.0);
    if flow_store::expired(&row, opts.duration) || attempts >= MAX_ATTEMPTS as f64 {
        flow_store::delete(app, OTPS, otp_id).await?;
        return Err(invalid());
    }
    if !app.verify_password(code, &get("password")).await {
        let d = app.dialect();
        let sql = format!(
            "UPDATE {} SET \"attempts\" = \"attempts\" + 1 WHERE \"id\" = {}",
            quote(OTPS),
            d.param(1)
        );
        app.db().execute(d.raw(sql, vec![otp_id.into()])).await?;
        return Err(invalid());
    }
    // Whoever deletes the row used the code: two requests racing with it get one login.
    if flow_store::delete(app, OTPS, otp_id).await? == 0 {
        return Err(invalid());
    }
    let rec = AuthRecordRow::load(app, c, &get("recordRef"))
        .await?
        .ok_or_else(invalid)?;
    Ok((rec, get("sentTo")))
}
