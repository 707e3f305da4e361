//! The documented shapes of the framework's JSON answers whose keys are decided at run
//! time (records, collections, settings, logs). Nothing builds these types: they give
//! [`Described`](super::Described) values their schema in `/openapi.json`.
//!
//! Every key is optional where the operation takes `fields` (which may pick any of
//! them away); a record's own fields are additional properties.
#![allow(dead_code)]

use poem_openapi::{Enum, Object};
use serde_json::Value;
use std::collections::BTreeMap;

/// A record of any collection: the keys below, then one key per field the requester
/// may see (hidden fields and, unless visible, an auth record's `email` are left out).
#[derive(Object)]
#[oai(rename = "Record", rename_all = "camelCase")]
pub struct RecordShape {
    id: Option<String>,
    collection_id: Option<String>,
    collection_name: Option<String>,
    /// Related records asked for with `expand`, by relation name: one record or a list.
    expand: Option<BTreeMap<String, Value>>,
}

/// One page of a list.
#[derive(Object)]
#[oai(rename = "RecordList", rename_all = "camelCase")]
pub struct RecordListShape {
    page: Option<u64>,
    per_page: Option<u64>,
    /// `-1` with `skipTotal`.
    total_items: Option<i64>,
    /// `-1` with `skipTotal`.
    total_pages: Option<i64>,
    items: Option<Vec<RecordShape>>,
}

/// A login: the token to send as `Authorization` and the record it stands for.
#[derive(Object)]
#[oai(rename = "RecordAuth")]
pub struct RecordAuthShape {
    token: Option<String>,
    record: Option<RecordShape>,
    /// OAuth2 only: the provider's account (`id`, `name`, `email`, `avatarURL`,
    /// `isNew`, `rawUser`, tokens).
    meta: Option<BTreeMap<String, Value>>,
}

/// A login that needs a second, different method first.
#[derive(Object)]
#[oai(rename = "MfaRequired")]
pub struct MfaRequiredShape {
    /// Send it with the next method (in the body or as `?mfaId=`).
    #[oai(rename = "mfaId")]
    mfa_id: String,
}

#[derive(Enum)]
#[oai(rename = "CollectionType", rename_all = "lowercase")]
pub enum CollectionTypeShape {
    Base,
    Auth,
    View,
}

/// One field of a collection: the keys below, then the options of its type (`min`,
/// `max`, `pattern`, `values`, `maxSelect`, `collectionId`, `cascadeDelete`, ...).
#[derive(Object)]
#[oai(rename = "CollectionField")]
pub struct CollectionFieldShape {
    id: Option<String>,
    name: String,
    /// `text`, `number`, `bool`, `email`, `url`, `editor`, `date`, `autodate`,
    /// `select`, `file`, `relation`, `json`, `password`, `geoPoint`.
    #[oai(rename = "type")]
    kind: String,
    system: Option<bool>,
    hidden: Option<bool>,
    presentable: Option<bool>,
    required: Option<bool>,
}

/// An auth collection's options (only auth collections have them).
#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct AuthOptionsShape {
    #[oai(nullable)]
    auth_rule: Option<String>,
    #[oai(nullable)]
    manage_rule: Option<String>,
    password_auth: Option<BTreeMap<String, Value>>,
    otp: Option<BTreeMap<String, Value>>,
    mfa: Option<BTreeMap<String, Value>>,
    oauth2: Option<BTreeMap<String, Value>>,
    auth_token: Option<BTreeMap<String, Value>>,
    password_reset_token: Option<BTreeMap<String, Value>>,
    email_change_token: Option<BTreeMap<String, Value>>,
    verification_token: Option<BTreeMap<String, Value>>,
    file_token: Option<BTreeMap<String, Value>>,
    verification_template: Option<BTreeMap<String, Value>>,
    reset_password_template: Option<BTreeMap<String, Value>>,
    confirm_email_change_template: Option<BTreeMap<String, Value>>,
}

/// A collection's API rules: a filter each (`null`: superusers only; `""`: anyone).
#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct RulesShape {
    #[oai(nullable)]
    list_rule: Option<String>,
    #[oai(nullable)]
    view_rule: Option<String>,
    #[oai(nullable)]
    create_rule: Option<String>,
    #[oai(nullable)]
    update_rule: Option<String>,
    #[oai(nullable)]
    delete_rule: Option<String>,
}

/// A collection: its table's definition and API rules (`null` rule: superusers only;
/// `""`: anyone).
#[derive(Object)]
#[oai(rename = "Collection", rename_all = "camelCase")]
pub struct CollectionShape {
    id: Option<String>,
    name: Option<String>,
    #[oai(rename = "type")]
    kind: Option<CollectionTypeShape>,
    system: Option<bool>,
    fields: Option<Vec<CollectionFieldShape>>,
    indexes: Option<Vec<String>>,
    #[oai(flatten)]
    rules: RulesShape,
    /// View collections: the `SELECT` the view is.
    view_query: Option<String>,
    #[oai(flatten)]
    auth: AuthOptionsShape,
    created: Option<String>,
    updated: Option<String>,
}

/// A collection to create or the changes to one (omitted keys keep their value).
#[derive(Object)]
#[oai(rename = "CollectionInput", rename_all = "camelCase")]
pub struct CollectionInputShape {
    /// Only when creating: the new collection's id (generated when omitted).
    id: Option<String>,
    /// Required when creating.
    name: Option<String>,
    /// Only when creating (`base` by default); it cannot change afterwards.
    #[oai(rename = "type")]
    kind: Option<CollectionTypeShape>,
    fields: Option<Vec<CollectionFieldShape>>,
    indexes: Option<Vec<String>>,
    #[oai(flatten)]
    rules: RulesShape,
    view_query: Option<String>,
    #[oai(flatten)]
    auth: AuthOptionsShape,
}

#[derive(Object)]
#[oai(rename = "CollectionList", rename_all = "camelCase")]
pub struct CollectionListShape {
    page: Option<u64>,
    per_page: Option<u64>,
    total_items: Option<i64>,
    total_pages: Option<i64>,
    items: Option<Vec<CollectionShape>>,
}

/// New collections of each type, as the dashboard starts them.
#[derive(Object)]
#[oai(rename = "CollectionScaffolds")]
pub struct CollectionScaffoldsShape {
    base: CollectionShape,
    auth: CollectionShape,
    view: CollectionShape,
}

/// Collections to create or update in one transaction.
#[derive(Object)]
#[oai(rename = "CollectionsImport", rename_all = "camelCase")]
pub struct CollectionsImportShape {
    /// Matched to existing collections by `id`, then by `name`.
    collections: Vec<CollectionInputShape>,
    /// Also delete the collections not in the list (never system ones).
    #[oai(nullable)]
    delete_missing: Option<bool>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
struct PasswordMethodShape {
    enabled: bool,
    identity_fields: Vec<String>,
}

#[derive(Object)]
struct ProviderShape {
    name: String,
    #[oai(rename = "displayName")]
    display_name: String,
    state: String,
    #[oai(rename = "authURL")]
    auth_url: String,
    /// Older SDKs' spelling of `authURL`.
    #[oai(rename = "authUrl")]
    auth_url_legacy: String,
    #[oai(rename = "codeVerifier")]
    code_verifier: String,
    #[oai(rename = "codeChallenge")]
    code_challenge: String,
    #[oai(rename = "codeChallengeMethod")]
    code_challenge_method: String,
}

#[derive(Object)]
struct OAuth2MethodShape {
    enabled: bool,
    providers: Vec<ProviderShape>,
}

#[derive(Object)]
struct TimedMethodShape {
    enabled: bool,
    /// Seconds (`0` when disabled).
    duration: u64,
}

/// The ways of logging in to an auth collection.
#[derive(Object)]
#[oai(rename = "AuthMethods", rename_all = "camelCase")]
pub struct AuthMethodsShape {
    password: Option<PasswordMethodShape>,
    oauth2: Option<OAuth2MethodShape>,
    mfa: Option<TimedMethodShape>,
    otp: Option<TimedMethodShape>,
    /// Older SDKs: the OAuth2 providers again.
    auth_providers: Option<Vec<ProviderShape>>,
    /// Older SDKs: password login by username.
    username_password: Option<bool>,
    /// Older SDKs: password login by e-mail.
    email_password: Option<bool>,
}

/// Application settings; secrets (`smtp.password`, `s3.secret`) are never returned.
/// A PATCH sends any part of it: what it leaves out keeps its value.
#[derive(Object)]
#[oai(rename = "Settings", rename_all = "camelCase")]
pub struct SettingsShape {
    meta: Option<BTreeMap<String, Value>>,
    smtp: Option<BTreeMap<String, Value>>,
    s3: Option<BTreeMap<String, Value>>,
    batch: Option<BTreeMap<String, Value>>,
    logs: Option<BTreeMap<String, Value>>,
    trusted_proxy: Option<BTreeMap<String, Value>>,
    rate_limits: Option<BTreeMap<String, Value>>,
    password_hashing: Option<BTreeMap<String, Value>>,
    /// `coreTools`: the framework's own routes as MCP tools at `/mcp` too.
    mcp: Option<BTreeMap<String, Value>>,
}

/// One log entry.
#[derive(Object)]
#[oai(rename = "Log", rename_all = "camelCase")]
pub struct LogShape {
    id: Option<String>,
    collection_id: Option<String>,
    collection_name: Option<String>,
    /// `-4` debug, `0` info, `4` warning, `8` error.
    level: Option<i64>,
    message: Option<String>,
    /// For requests: `type`, `method`, `url`, `status`, `execTime`, `remoteIP`, ...
    data: Option<BTreeMap<String, Value>>,
    created: Option<String>,
}

#[derive(Object)]
#[oai(rename = "LogList", rename_all = "camelCase")]
pub struct LogListShape {
    page: Option<u64>,
    per_page: Option<u64>,
    total_items: Option<i64>,
    total_pages: Option<i64>,
    items: Option<Vec<LogShape>>,
}

/// Log entries per hour.
#[derive(Object)]
#[oai(rename = "LogStat")]
pub struct LogStatShape {
    /// The hour (`2024-01-01 13:00:00.000Z`).
    date: String,
    total: i64,
}
