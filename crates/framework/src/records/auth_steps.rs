//! The auth collection's own write steps, around the field-by-field checks every
//! collection gets: a new token key with every password or e-mail change (which revokes
//! the tokens signed with the old one), `email` and `verified` set directly only by
//! managers, `passwordConfirm` repeating `password`, and the old password when a user
//! changes their own.

use crate::app::App;
use crate::collections::ids::random_token;
use crate::collections::model::auth_fields::{
    EMAIL, OLD_PASSWORD, PASSWORD, PASSWORD_CONFIRM, TOKEN_KEY, VERIFIED,
};
use crate::collections::model::Collection;
use crate::error::{Error, Result};
use crate::fields::{Field, FieldError};
use crate::records::read::Record;
use serde_json::{Map, Value};
use std::sync::Arc;

/// What the auth steps make of one field of a write.
pub(crate) enum FieldStep {
    /// Write this value; the body's is not looked at.
    Set(Value),
    /// Leave the stored value as it is.
    Keep,
    /// The body may not do this.
    Refuse(FieldError),
    /// Checked as any field of its type.
    AsAnyField,
}

/// The step for field `f` of an auth record being created (`existing = None`) or
/// updated with `body`; `manager`: a superuser, or someone the `manageRule` lets manage it.
pub(crate) fn field_step(
    f: &Field,
    body: &Map<String, Value>,
    existing: Option<&Record>,
    manager: bool,
) -> FieldStep {
    let changes = |name: &str| {
        existing.is_some_and(|e| body.get(name).is_some_and(|new| Some(new) != e.get(name)))
    };
    match f.name.as_str() {
        TOKEN_KEY if existing.is_none() || body.contains_key(PASSWORD) || changes(EMAIL) => {
            FieldStep::Set(Value::String(random_token(50)))
        }
        TOKEN_KEY => FieldStep::Keep,
        EMAIL if !manager && changes(EMAIL) => FieldStep::Refuse(FieldError::new(
            "validation_values_mismatch",
            "Use request-email-change to change the e-mail address.",
        )),
        VERIFIED if !manager && body.contains_key(VERIFIED) && !same(existing, body, VERIFIED) => {
            FieldStep::Refuse(FieldError::new(
                "validation_values_mismatch",
                "Only superusers can change this field.",
            ))
        }
        _ => FieldStep::AsAnyField,
    }
}

/// Whether `body` sets `name` to what the stored record has (never, on a create).
fn same(existing: Option<&Record>, body: &Map<String, Value>, name: &str) -> bool {
    existing.is_some_and(|e| e.get(name) == body.get(name))
}

/// Problems of the body as a whole: a new password must be confirmed.
pub(crate) fn body_errors(body: &Map<String, Value>) -> Option<(String, FieldError)> {
    let unconfirmed =
        body.contains_key(PASSWORD) && body.get(PASSWORD_CONFIRM) != body.get(PASSWORD);
    unconfirmed.then(|| {
        (
            PASSWORD_CONFIRM.to_string(),
            FieldError::new("validation_values_mismatch", "Values don't match."),
        )
    })
}

/// A user changing their own password must also give the old one (managers need not;
/// the caller decides who is one).
pub(crate) async fn check_old_password(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    body: &Map<String, Value>,
) -> Result<()> {
    if !body.contains_key(PASSWORD) {
        return Ok(());
    }
    let old = body
        .get(OLD_PASSWORD)
        .and_then(Value::as_str)
        .unwrap_or_default();
    if old.is_empty() {
        return Err(Error::field(
            "Failed to update record.",
            OLD_PASSWORD,
            FieldError::required(),
        ));
    }
    let row = crate::auth::tokens::load_auth_row(app, c, id)
        .await?
        .ok_or_else(Error::not_found)?;
    let (hash, _) = crate::records::columns::auth_secrets(&row)?;
    if !app.verify_password(old, &hash).await {
        return Err(Error::field(
            "Failed to update record.",
            OLD_PASSWORD,
            FieldError::new(
                "validation_invalid_old_password",
                "Missing or invalid old password.",
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{BoolField, EmailField, FieldKind, TextField};
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn token_keys_change_with_passwords_and_addresses_only() {
        let key = Field::new(TOKEN_KEY, FieldKind::Text(TextField::default()));
        let stored = obj(json!({"email": "a@example.com", "tokenKey": "old"}));
        let step =
            |body: Value, existing: Option<&Record>| field_step(&key, &obj(body), existing, false);
        assert!(matches!(step(json!({}), None), FieldStep::Set(_)));
        assert!(matches!(
            step(json!({"password": "x"}), Some(&stored)),
            FieldStep::Set(_)
        ));
        let moved = json!({"email": "b@example.com"});
        assert!(matches!(step(moved, Some(&stored)), FieldStep::Set(_)));
        let same = json!({"email": "a@example.com", "name": "n"});
        assert!(matches!(step(same, Some(&stored)), FieldStep::Keep));
    }

    #[test]
    fn only_managers_set_email_and_verified_directly() {
        let email = Field::new(EMAIL, FieldKind::Email(EmailField::default()));
        let verified = Field::new(VERIFIED, FieldKind::Bool(BoolField {}));
        let stored = obj(json!({"email": "a@example.com", "verified": false}));
        let body = obj(json!({"email": "b@example.com", "verified": true}));
        for f in [&email, &verified] {
            assert!(matches!(
                field_step(f, &body, Some(&stored), false),
                FieldStep::Refuse(_)
            ));
            assert!(matches!(
                field_step(f, &body, Some(&stored), true),
                FieldStep::AsAnyField
            ));
        }
        let unchanged = obj(json!({"verified": false}));
        let step = field_step(&verified, &unchanged, Some(&stored), false);
        assert!(matches!(step, FieldStep::AsAnyField));
    }

    #[test]
    fn a_new_password_is_confirmed() {
        assert!(body_errors(&obj(json!({"password": "a", "passwordConfirm": "b"}))).is_some());
        assert!(body_errors(&obj(json!({"password": "a", "passwordConfirm": "a"}))).is_none());
        assert!(body_errors(&obj(json!({"name": "n"}))).is_none());
    }
}
