//! The first OAuth2 login of a provider account: which record it links to (the caller,
//! the record with the provider's verified e-mail, or a new one), written in one
//! transaction so that a failure leaves no record without its link.

use crate::app::App;
use crate::auth::email::{claim_address_plan, find_by_email};
use crate::auth::oauth2::{self, ProviderUser, EXTERNAL_AUTHS};
use crate::auth::superusers::system_request;
use crate::collections::model::auth_fields::{EMAIL, PASSWORD, PASSWORD_CONFIRM};
use crate::collections::model::Collection;
use crate::error::{Error, Result};
use crate::fields::FieldKind;
use crate::filter::RequestInfo;
use crate::records::commit::commit;
use crate::records::write::plan_create;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The record a provider account was linked to, and whether it was made for it.
pub struct Linked {
    pub id: String,
    pub is_new: bool,
}

/// What a client sends to log in with a provider (`auth-with-oauth2`).
pub(crate) struct CodeLogin {
    /// The provider's `name` among the collection's.
    pub provider: String,
    /// The authorization code the provider sent to the redirect URL.
    pub code: String,
    /// PKCE's verifier (empty when the provider does not use PKCE).
    pub code_verifier: String,
    pub redirect_url: String,
    /// Fields for the record made on a first login.
    pub create_data: Option<Value>,
}

/// Exchanges the code for the provider's account and finds the record it is linked to,
/// linking it on a first login ([`link_account`]): the record id and the answer's `meta`.
pub(crate) async fn sign_in(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    login: CodeLogin,
) -> Result<(String, Value)> {
    let opts = c.auth.clone().unwrap_or_default();
    if !opts.oauth2.enabled {
        return Err(Error::Forbidden(
            "The collection is not configured to allow OAuth2 authentication.".into(),
        ));
    }
    let config = opts
        .oauth2
        .providers
        .iter()
        .find(|p| p.name == login.provider)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "Provider with name {:?} is missing or is not enabled.",
                login.provider
            ))
        })?;
    let provider = oauth2::resolve(app, config).await?;
    let user = oauth2::fetch_user(
        app,
        &provider,
        &login.code,
        &login.code_verifier,
        &login.redirect_url,
    )
    .await?;
    let (id, is_new) = match oauth2::linked_record(app, c, &provider.name, &user.id).await? {
        Some(id) => (id, false),
        None => {
            let linked =
                link_account(app, c, req, &provider.name, &user, login.create_data).await?;
            (linked.id, linked.is_new)
        }
    };
    Ok((id, user.meta(is_new)))
}

/// Links `user`'s account at `provider` to a record of `c` as `req` may: the logged-in
/// caller's own, else the record whose e-mail the provider vouches for (which becomes
/// verified), else a new record from `create_data` under the collection's create rule.
pub async fn link_account(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    provider: &str,
    user: &ProviderUser,
    create_data: Option<Value>,
) -> Result<Linked> {
    let sys = system_request(app)?;
    let keep_password = c.auth.as_ref().is_some_and(|a| a.mfa.enabled);
    let caller = req.auth.as_ref().filter(|a| a.collection.id == c.id);
    let by_email = match (caller, user.email.is_empty()) {
        (None, false) => find_by_email(app, c, &user.email).await?,
        _ => None,
    };
    let mut plans = Vec::new();
    let linked = if let Some(me) = caller {
        Linked {
            id: me.id().to_string(),
            is_new: false,
        }
    } else if let Some(rec) = by_email {
        // The provider vouches for the address this record claims.
        if !rec.verified {
            plans.push(claim_address_plan(app, c, &rec.id, keep_password, None).await?);
        }
        Linked {
            id: rec.id,
            is_new: false,
        }
    } else {
        let body = new_account(c, user, create_data)?;
        let plan = plan_create(app, c, req, body, Vec::new()).await?;
        let (_, id, record) = plan.outcome();
        let (id, record) = (id.to_string(), record.cloned().unwrap_or_default());
        plans.push(plan);
        if !user.email.is_empty() && record.get("email") == Some(&json!(user.email)) {
            plans.push(claim_address_plan(app, c, &id, true, Some(record)).await?);
        }
        Linked { id, is_new: true }
    };
    let mut link = Map::new();
    link.insert("collectionRef".into(), json!(c.id));
    link.insert("recordRef".into(), json!(linked.id));
    link.insert("provider".into(), json!(provider));
    link.insert("providerId".into(), json!(user.id));
    let links = app.collection(EXTERNAL_AUTHS)?;
    plans.push(plan_create(app, &links, &sys, link, Vec::new()).await?);
    commit(app, plans, None).await.map_err(|(_, e)| e)?;
    Ok(linked)
}

/// A new record from the provider's account: `createData`, the verified e-mail, the
/// mapped fields, and a random password (the provider is how this account logs in).
fn new_account(
    c: &Collection,
    user: &ProviderUser,
    create_data: Option<Value>,
) -> Result<Map<String, Value>> {
    let mut body: Map<String, Value> = match create_data {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(Error::BadRequest("createData must be an object.".into())),
    };
    if !user.email.is_empty() {
        body.entry(EMAIL).or_insert_with(|| json!(user.email));
    }
    if !body.contains_key(PASSWORD) {
        let random = crate::collections::ids::random_token(30);
        body.insert(PASSWORD.into(), json!(random));
        body.insert(PASSWORD_CONFIRM.into(), json!(random));
    }
    let mapped = c.auth.clone().unwrap_or_default().oauth2.mapped_fields;
    for (field, value) in [
        (&mapped.id, &user.id),
        (&mapped.name, &user.name),
        (&mapped.username, &user.username),
        (&mapped.avatar_url, &user.avatar_url),
    ] {
        let textual = c
            .field(field)
            .is_some_and(|f| matches!(f.kind, FieldKind::Text(_) | FieldKind::Url(_)));
        if textual && !value.is_empty() && !body.contains_key(field.as_str()) {
            body.insert(field.clone(), json!(value));
        }
    }
    Ok(body)
}
