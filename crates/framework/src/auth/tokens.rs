//! Auth tokens (HS256 JWTs keyed per record) and password hashing (argon2id).

use crate::app::App;
use crate::collections::model::auth_fields::EMAIL;
use crate::collections::model::Collection;
use crate::db::quote;
use crate::error::{Error, Result};
use crate::filter::compile::AuthRecord;
use crate::records::columns;
use crate::settings::model::PasswordHashing;
use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The kinds of token PocketBase issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenType {
    Auth,
    Refresh,
    Verification,
    PasswordReset,
    EmailChange,
    File,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TokenType,
    pub collection_id: String,
    #[serde(default)]
    pub refreshable: bool,
    pub exp: u64,
    /// The address an e-mail token was sent for: the token dies when the record's
    /// e-mail changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The address an e-mail change token moves the record to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_email: Option<String>,
}

/// The signing key of one record: its `tokenKey` plus its collection's secret, so
/// rotating either invalidates the record's tokens, plus the server's own secret, which
/// is not in the database: a copy of the database alone signs no token (PocketBase's
/// key is the first two only; clients never see the difference).
fn signing_key(server_secret: &[u8], token_key: &str, c: &Collection) -> Vec<u8> {
    let secret = c
        .auth
        .as_ref()
        .map(|a| a.token_secret.as_str())
        .unwrap_or_default();
    let mut key = format!("{token_key}{secret}").into_bytes();
    key.extend_from_slice(server_secret);
    key
}

fn sign(app: &App, c: &Collection, token_key: &str, claims: &Claims) -> Result<String> {
    sign_with(&signing_key(app.token_secret(), token_key, c), claims)
}

fn sign_with(key: &[u8], claims: &Claims) -> Result<String> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .map_err(|e| Error::internal_from("cannot sign token", e))
}

/// Issues a token of `kind` for a record of an auth collection.
pub fn issue_token(
    app: &App,
    c: &Collection,
    record_id: &str,
    token_key: &str,
    kind: TokenType,
    duration_secs: u64,
    refreshable: bool,
) -> Result<String> {
    let claims = Claims {
        id: record_id.to_string(),
        kind,
        collection_id: c.id.clone(),
        refreshable,
        exp: jsonwebtoken::get_current_timestamp().saturating_add(duration_secs),
        email: None,
        new_email: None,
    };
    sign(app, c, token_key, &claims)
}

/// A token sent by e-mail (verification, password reset, e-mail change) for the
/// record's current `email`, with the collection's lifetime for that kind.
pub fn email_token(
    app: &App,
    c: &Collection,
    record_id: &str,
    token_key: &str,
    kind: TokenType,
    email: &str,
    new_email: Option<&str>,
) -> Result<String> {
    let opts = c.auth.clone().unwrap_or_default();
    let duration = match kind {
        TokenType::Verification => opts.verification_token.duration,
        TokenType::PasswordReset => opts.password_reset_token.duration,
        TokenType::EmailChange => opts.email_change_token.duration,
        TokenType::File => opts.file_token.duration,
        TokenType::Auth | TokenType::Refresh => opts.auth_token.duration,
    };
    let claims = Claims {
        id: record_id.to_string(),
        kind,
        collection_id: c.id.clone(),
        refreshable: false,
        exp: jsonwebtoken::get_current_timestamp() + duration,
        email: Some(email.to_string()),
        new_email: new_email.map(str::to_string),
    };
    sign(app, c, token_key, &claims)
}

/// How long the collection's auth tokens last, in seconds.
pub(crate) fn auth_token_seconds(c: &Collection) -> u64 {
    c.auth
        .as_ref()
        .map(|a| a.auth_token.duration)
        .unwrap_or(86_400)
}

/// An auth token for `record` with its collection's configured lifetime.
pub fn auth_token(app: &App, c: &Collection, record_id: &str, token_key: &str) -> Result<String> {
    let duration = auth_token_seconds(c);
    issue_token(
        app,
        c,
        record_id,
        token_key,
        TokenType::Auth,
        duration,
        true,
    )
}

/// A new token of `kind` for record `record_id` of the auth collection `c`, with the
/// collection's lifetime for that kind (e-mail tokens for the record's current e-mail),
/// as the server would issue it: for an app's own flows and for tests.
pub async fn new_record_token(
    app: &App,
    c: &Arc<Collection>,
    record_id: &str,
    kind: TokenType,
) -> Result<String> {
    let row = load_auth_row(app, c, record_id)
        .await?
        .ok_or_else(Error::not_found)?;
    let (_, key) = columns::auth_secrets(&row)?;
    match kind {
        TokenType::Auth | TokenType::Refresh => auth_token(app, c, record_id, &key),
        TokenType::File => {
            let duration = c
                .auth
                .as_ref()
                .map(|a| a.file_token.duration)
                .unwrap_or(180);
            issue_token(app, c, record_id, &key, kind, duration, false)
        }
        TokenType::Verification | TokenType::PasswordReset => {
            let email = row.string(EMAIL).map_err(Error::from)?;
            email_token(app, c, record_id, &key, kind, &email, None)
        }
        TokenType::EmailChange => Err(Error::BadRequest(
            "An e-mail change token carries the new address: request-email-change issues it."
                .into(),
        )),
    }
}

/// Compares secrets without leaking where they differ (only whether lengths do).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// What signs file tokens of records that call through an app's own tokens (they have
/// no token key of their own; the server secret is still mixed in).
const APP_FILE_KEY: &str = "app-file-token";

/// Records of a base collection whose app tokens the framework accepts.
fn is_app_caller(app: &App, c: &Collection) -> bool {
    !c.is_auth() && app.accepts_tokens_of(&c.name)
}

/// A short-lived token for downloading protected files, for a logged-in record.
pub async fn file_token(app: &App, who: &AuthRecord) -> Result<String> {
    let c = &who.collection;
    if is_app_caller(app, c) {
        return issue_token(app, c, who.id(), APP_FILE_KEY, TokenType::File, 180, false);
    }
    let row = load_auth_row(app, c, who.id()).await?.ok_or_else(|| {
        Error::Unauthorized("The request requires valid record authorization token.".into())
    })?;
    let (_, key) = columns::auth_secrets(&row)?;
    let duration = c
        .auth
        .as_ref()
        .map(|a| a.file_token.duration)
        .unwrap_or(180);
    issue_token(app, c, who.id(), &key, TokenType::File, duration, false)
}

/// Verifies `token` as a token of `kind` and loads its record. Any failure
/// (malformed, forged, expired, wrong type, unknown record) is `None`.
pub async fn verify_token(app: &App, token: &str, kind: TokenType) -> Option<(AuthRecord, Claims)> {
    let unverified: Claims = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    if unverified.kind != kind {
        return None;
    }
    let c = app.registry().find(&unverified.collection_id)?;
    if c.id != unverified.collection_id {
        return None;
    }
    if kind == TokenType::File && is_app_caller(app, &c) {
        return verify_app_file_token(app, token, c).await;
    }
    if !c.is_auth() {
        return None;
    }
    // Single-use tokens (password reset, ...) must see the newest token key, so only
    // auth tokens use the cache.
    let cached = match kind {
        TokenType::Auth => app.auth_cache().get(&c.id, &unverified.id),
        _ => None,
    };
    let (token_key, record) = match cached {
        Some(hit) => hit,
        None => {
            let row = load_auth_row(app, &c, &unverified.id).await.ok()??;
            let (_, token_key) = columns::auth_secrets(&row).ok()?;
            let record = columns::record_from_row(&row, &c);
            app.auth_cache()
                .put(&c.id, &unverified.id, token_key.clone(), record.clone());
            (token_key, record)
        }
    };
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
    let data = decode::<Claims>(
        token,
        &DecodingKey::from_secret(&signing_key(app.token_secret(), &token_key, &c)),
        &v,
    )
    .ok()?;
    Some((
        AuthRecord {
            collection: c,
            record,
        },
        data.claims,
    ))
}

/// A file token of an app caller ([`file_token`]); its record must still exist.
async fn verify_app_file_token(
    app: &App,
    token: &str,
    c: Arc<Collection>,
) -> Option<(AuthRecord, Claims)> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.required_spec_claims = ["exp"].into_iter().map(String::from).collect();
    let key = signing_key(app.token_secret(), APP_FILE_KEY, &c);
    let data = decode::<Claims>(token, &DecodingKey::from_secret(&key), &v).ok()?;
    let record = app.find_record(&c.name, &data.claims.id).await.ok()??;
    Some((
        AuthRecord {
            collection: c,
            record,
        },
        data.claims,
    ))
}

/// The full row (secrets included) of an auth record.
pub async fn load_auth_row(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
) -> Result<Option<crate::db::Row>> {
    let d = app.dialect();
    let ph = if d == crate::db::Dialect::Sqlite {
        "?"
    } else {
        "$1"
    };
    let sql = format!("SELECT * FROM {} WHERE \"id\" = {ph}", quote(&c.name));
    Ok(app.db().query_one(d.raw(sql, vec![id.into()])).await?)
}

thread_local! {
    /// Argon2's working memory (7 MiB by default), kept per hashing thread and reused: allocating
    /// and freeing it per hash fragments the heap and peak memory grows with every login.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives this thread's argon2 memory back (the hashing threads call it when no more
/// work is waiting, so an idle server does not keep it).
pub(crate) fn release_hash_memory() {
    BLOCKS.with(|blocks| {
        if let Ok(mut blocks) = blocks.try_borrow_mut() {
            *blocks = Vec::new();
        }
    })
}

/// Argon2 with `params` into `out`, using this thread's reusable memory.
fn argon2_into(
    algorithm: Argon2Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> bool {
    BLOCKS.with(|blocks| {
        let Ok(mut blocks) = blocks.try_borrow_mut() else {
            return false;
        };
        let n = params.block_count();
        if blocks.len() < n {
            blocks.resize(n, argon2::Block::default());
        }
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..n])
            .is_ok()
    })
}

/// An argon2id PHC string for `password` with the cost from the settings.
pub fn hash_password(password: &str, cost: &PasswordHashing) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| Error::internal_from("invalid argon2 parameters", e))?;
    let mut out = [0u8; 32];
    if !argon2_into(
        Argon2Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password.as_bytes(),
        &salt,
        &mut out,
    ) {
        return Err(Error::internal("cannot hash password"));
    }
    let err = |e: argon2::password_hash::phc::Error| {
        Error::internal_from("cannot encode password hash", e)
    };
    let phc = PasswordHash {
        algorithm: Argon2Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|_| Error::internal("cannot encode argon2 params"))?,
        salt: Some(Salt::new(&salt).map_err(err)?),
        hash: Some(Output::new(&out).map_err(err)?),
    };
    Ok(phc.to_string())
}

/// A real hash of nothing in particular, verified when no account matched so that a
/// failed login takes as long whether or not the identity exists.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        hash_password("no account has this password", &PasswordHashing::default())
            .unwrap_or_default()
    });
    &DUMMY
}

/// Constant-time check of `password` against a stored PHC string.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Argon2Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if !argon2_into(
        algorithm,
        version,
        params,
        password.as_bytes(),
        salt.as_ref(),
        &mut out,
    ) {
        return false;
    }
    Output::new(&out).is_ok_and(|o| o == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password("correct horse", &PasswordHashing::default()).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn tokens_are_bound_to_the_record_collection_and_server_keys() {
        let mut c = Collection::auth("users");
        c.auth.as_mut().unwrap().token_secret = "s".repeat(50);
        let claims = Claims {
            id: "abc".into(),
            kind: TokenType::Auth,
            collection_id: c.id.clone(),
            refreshable: true,
            exp: jsonwebtoken::get_current_timestamp() + 60,
            email: None,
            new_email: None,
        };
        let t = sign_with(&signing_key(b"server", "key1", &c), &claims).unwrap();
        let check = |key: Vec<u8>| {
            decode::<Claims>(
                &t,
                &DecodingKey::from_secret(&key),
                &Validation::new(Algorithm::HS256),
            )
        };
        assert_eq!(
            check(signing_key(b"server", "key1", &c)).unwrap().claims.id,
            "abc"
        );
        assert!(check(signing_key(b"server", "key2", &c)).is_err());
        assert!(check(signing_key(b"other", "key1", &c)).is_err());
        assert!(
            check(signing_key(b"", "key1", &c)).is_err(),
            "PocketBase's key alone"
        );
    }
}
