//! Collections: runtime-defined tables with typed fields, indexes and API rules.

use crate::collections::ids::{collection_id, field_id};
use crate::fields::{
    AutodateField, BoolField, EmailField, Field, FieldKind, PasswordField, TextField,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionType {
    Base,
    Auth,
    View,
}

impl CollectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionType::Base => "base",
            CollectionType::Auth => "auth",
            CollectionType::View => "view",
        }
    }
}

/// One API rule: `None` = superusers only, `Some("")` = everyone, else a filter expression.
pub type Rule = Option<String>;

/// Options only auth collections have.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthOptions {
    pub auth_rule: Rule,
    pub manage_rule: Rule,
    pub password_auth: PasswordAuth,
    pub otp: OtpOptions,
    pub mfa: MfaOptions,
    pub oauth2: OAuth2Options,
    pub auth_token: TokenConfig,
    pub password_reset_token: TokenConfig,
    pub email_change_token: TokenConfig,
    pub verification_token: TokenConfig,
    pub file_token: TokenConfig,
    pub verification_template: EmailTemplate,
    pub reset_password_template: EmailTemplate,
    pub confirm_email_change_template: EmailTemplate,
    /// Signing secret of this collection's tokens; never returned by the API.
    #[serde(skip_serializing)]
    pub token_secret: String,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            auth_rule: Some(String::new()),
            manage_rule: None,
            password_auth: PasswordAuth {
                enabled: true,
                identity_fields: vec![auth_fields::EMAIL.into()],
            },
            otp: OtpOptions::default(),
            mfa: MfaOptions::default(),
            oauth2: OAuth2Options::default(),
            auth_token: TokenConfig { duration: 432_000 },
            password_reset_token: TokenConfig { duration: 1_800 },
            email_change_token: TokenConfig { duration: 1_800 },
            verification_token: TokenConfig { duration: 86_400 },
            file_token: TokenConfig { duration: 180 },
            verification_template: EmailTemplate::default(),
            reset_password_template: EmailTemplate::default(),
            confirm_email_change_template: EmailTemplate::default(),
            token_secret: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordAuth {
    pub enabled: bool,
    pub identity_fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenConfig {
    /// Seconds.
    pub duration: u64,
}

/// One-time passwords sent by e-mail (`request-otp` / `auth-with-otp`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct OtpOptions {
    pub enabled: bool,
    /// Seconds a code stays valid.
    pub duration: u64,
    /// Digits in a code.
    pub length: usize,
    pub email_template: EmailTemplate,
}

impl Default for OtpOptions {
    fn default() -> Self {
        OtpOptions {
            enabled: false,
            duration: 180,
            length: 8,
            email_template: EmailTemplate::default(),
        }
    }
}

/// Multi-factor auth: a first method yields an `mfaId`, a second, different one a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct MfaOptions {
    pub enabled: bool,
    /// Seconds between the first and the second factor.
    pub duration: u64,
    /// Which records need a second factor (a filter over the record; "" = all).
    pub rule: String,
}

impl Default for MfaOptions {
    fn default() -> Self {
        MfaOptions {
            enabled: false,
            duration: 600,
            rule: String::new(),
        }
    }
}

/// Logging in through other sites (`auth-with-oauth2`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct OAuth2Options {
    pub enabled: bool,
    /// Which fields of a new record take the provider's name, username and avatar URL.
    pub mapped_fields: MappedFields,
    pub providers: Vec<OAuth2Provider>,
}

/// Field names of the auth collection ("" = not mapped).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MappedFields {
    pub id: String,
    pub name: String,
    pub username: String,
    #[serde(rename = "avatarURL")]
    pub avatar_url: String,
}

/// One provider: a preset (`github`, `google`) or `oidc*` (URLs given, or found through
/// `extra.discoveryURL`). Empty URLs take the preset's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct OAuth2Provider {
    pub name: String,
    pub display_name: String,
    pub client_id: String,
    /// Never returned by the API; an update without it keeps the stored one.
    pub client_secret: String,
    #[serde(rename = "authURL")]
    pub auth_url: String,
    #[serde(rename = "tokenURL")]
    pub token_url: String,
    #[serde(rename = "userInfoURL")]
    pub user_info_url: String,
    /// Proof Key for Code Exchange; `None` = the preset's choice (on for all here).
    pub pkce: Option<bool>,
    /// Provider-specific settings, e.g. `discoveryURL` and `scopes` for OIDC.
    pub extra: Map<String, Value>,
}

/// A per-collection e-mail: both empty means the built-in message. `body` is HTML with
/// placeholders `{APP_NAME}`, `{APP_URL}`, `{TOKEN}`, `{OTP}`, `{RECORD:field}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EmailTemplate {
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub id: String,
    pub name: String,
    pub kind: CollectionType,
    pub system: bool,
    pub fields: Vec<Field>,
    pub indexes: Vec<String>,
    pub list_rule: Rule,
    pub view_rule: Rule,
    pub create_rule: Rule,
    pub update_rule: Rule,
    pub delete_rule: Rule,
    /// The SELECT of a view collection.
    pub view_query: String,
    pub auth: Option<AuthOptions>,
    pub created: String,
    pub updated: String,
}

/// The names of the fields every auth collection has, and of the body keys that go with
/// them.
pub mod auth_fields {
    pub const PASSWORD: &str = "password";
    /// Signs the record's tokens together with the collection's secret; a new one
    /// revokes them all.
    pub const TOKEN_KEY: &str = "tokenKey";
    pub const EMAIL: &str = "email";
    pub const EMAIL_VISIBILITY: &str = "emailVisibility";
    pub const VERIFIED: &str = "verified";
    /// Not a field: the body key that must repeat `password`.
    pub const PASSWORD_CONFIRM: &str = "passwordConfirm";
    /// Not a field: the body key with the current password when a user changes theirs.
    pub const OLD_PASSWORD: &str = "oldPassword";
}

/// Field names a collection may not use: they are taken by the record envelope, or by
/// a column of the engine's own (the full-text document).
pub const RESERVED_FIELD_NAMES: &[&str] = &[
    crate::collections::search_index::SEARCH_COLUMN,
    "expand",
    "collectionId",
    "collectionName",
    auth_fields::PASSWORD_CONFIRM,
    auth_fields::OLD_PASSWORD,
];

impl Collection {
    /// A new base collection with the `id`, `created` and `updated` fields.
    pub fn base(name: &str) -> Self {
        let mut c = Collection {
            id: collection_id(CollectionType::Base, name),
            name: name.to_string(),
            kind: CollectionType::Base,
            system: false,
            fields: vec![id_field()],
            indexes: vec![],
            list_rule: None,
            view_rule: None,
            create_rule: None,
            update_rule: None,
            delete_rule: None,
            view_query: String::new(),
            auth: None,
            created: String::new(),
            updated: String::new(),
        };
        c.ensure_timestamps();
        c
    }

    /// A new auth collection with PocketBase's system fields.
    pub fn auth(name: &str) -> Self {
        let mut c = Collection::base(name);
        c.kind = CollectionType::Auth;
        c.id = collection_id(CollectionType::Auth, name);
        c.auth = Some(AuthOptions::default());
        c.ensure_auth_fields();
        c
    }

    /// A new view collection over `query`.
    pub fn view(name: &str, query: &str) -> Self {
        let mut c = Collection::base(name);
        c.kind = CollectionType::View;
        c.id = collection_id(CollectionType::View, name);
        c.view_query = query.to_string();
        c.fields.clear();
        c
    }

    pub fn with_field(mut self, field: Field) -> Self {
        self.add_field(field);
        self
    }

    pub fn with_rules(mut self, rule: Option<&str>) -> Self {
        let r = rule.map(str::to_string);
        self.list_rule = r.clone();
        self.view_rule = r.clone();
        self.create_rule = r.clone();
        self.update_rule = r.clone();
        self.delete_rule = r;
        self
    }

    pub fn add_field(&mut self, mut field: Field) {
        if field.id.is_empty() {
            field.id = field_id(field.kind.type_name(), &field.name);
        }
        // Keep created/updated last, as PocketBase's scaffolds do.
        let pos = self
            .fields
            .iter()
            .position(|f| {
                matches!(f.kind, FieldKind::Autodate(_))
                    && (f.name == "created" || f.name == "updated")
            })
            .unwrap_or(self.fields.len());
        self.fields.insert(pos, field);
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_auth(&self) -> bool {
        self.kind == CollectionType::Auth
    }

    /// Whether records of this collection can have stored files.
    pub fn has_files(&self) -> bool {
        !self.is_view()
            && self
                .fields
                .iter()
                .any(|f| matches!(f.kind, crate::fields::FieldKind::File(_)))
    }

    pub fn is_view(&self) -> bool {
        self.kind == CollectionType::View
    }

    pub(crate) fn ensure_timestamps(&mut self) {
        if self.kind == CollectionType::View {
            return;
        }
        for (name, on_update) in [("created", false), ("updated", true)] {
            if self.field(name).is_none() {
                let mut f = Field::new(
                    name,
                    FieldKind::Autodate(AutodateField {
                        on_create: true,
                        on_update,
                    }),
                );
                f.id = field_id("autodate", name);
                self.fields.push(f);
            }
        }
    }

    pub(crate) fn ensure_auth_fields(&mut self) {
        let wanted = [
            Field::new(
                auth_fields::PASSWORD,
                FieldKind::Password(PasswordField {
                    min: 8,
                    ..Default::default()
                }),
            )
            .system()
            .hidden()
            .required(),
            Field::new(
                auth_fields::TOKEN_KEY,
                FieldKind::Text(TextField {
                    min: 30,
                    max: 60,
                    autogenerate_pattern: "[a-zA-Z0-9]{50}".into(),
                    ..Default::default()
                }),
            )
            .system()
            .hidden()
            .required(),
            Field::new(auth_fields::EMAIL, FieldKind::Email(EmailField::default()))
                .system()
                .required(),
            Field::new(auth_fields::EMAIL_VISIBILITY, FieldKind::Bool(BoolField {})).system(),
            Field::new(auth_fields::VERIFIED, FieldKind::Bool(BoolField {})).system(),
        ];
        for (i, mut f) in wanted.into_iter().enumerate() {
            if self.field(&f.name).is_none() {
                f.id = field_id(f.kind.type_name(), &f.name);
                self.fields.insert((1 + i).min(self.fields.len()), f);
            }
        }
    }

    /// The PocketBase JSON form, as returned by the collections API (secrets left out).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.kind.as_str()));
        m.insert("system".into(), json!(self.system));
        m.insert(
            "fields".into(),
            serde_json::to_value(&self.fields).unwrap_or(Value::Null),
        );
        m.insert("indexes".into(), json!(self.indexes));
        m.insert("listRule".into(), json!(self.list_rule));
        m.insert("viewRule".into(), json!(self.view_rule));
        m.insert("createRule".into(), json!(self.create_rule));
        m.insert("updateRule".into(), json!(self.update_rule));
        m.insert("deleteRule".into(), json!(self.delete_rule));
        if self.is_view() {
            m.insert("viewQuery".into(), json!(self.view_query));
        }
        if let Some(a) = &self.auth {
            if let Ok(Value::Object(mut extra)) = serde_json::to_value(a) {
                if let Some(Value::Array(ps)) =
                    extra.get_mut("oauth2").and_then(|o| o.get_mut("providers"))
                {
                    for p in ps.iter_mut().filter_map(Value::as_object_mut) {
                        p.remove("clientSecret");
                    }
                }
                m.extend(extra);
            }
        }
        m.insert("created".into(), json!(self.created));
        m.insert("updated".into(), json!(self.updated));
        Value::Object(m)
    }

    /// Options stored in the registry's `options` column.
    pub(crate) fn options_json(&self) -> Value {
        let mut m = Map::new();
        if self.is_view() {
            m.insert("viewQuery".into(), json!(self.view_query));
        }
        if let Some(a) = &self.auth {
            let mut v = serde_json::to_value(a).unwrap_or(json!({}));
            v["tokenSecret"] = json!(a.token_secret);
            m.insert("auth".into(), v);
        }
        Value::Object(m)
    }

    pub(crate) fn apply_options_json(&mut self, options: &Value) {
        if let Some(q) = options.get("viewQuery").and_then(Value::as_str) {
            self.view_query = q.to_string();
        }
        if let Some(a) = options.get("auth") {
            let mut auth: AuthOptions = serde_json::from_value(a.clone()).unwrap_or_default();
            auth.token_secret = a
                .get("tokenSecret")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            self.auth = Some(auth);
        }
    }

    /// Every rule with its JSON key, for validation (`None` = superusers only).
    pub fn rules(&self) -> Vec<(&'static str, Option<&str>)> {
        let mut v = vec![
            ("listRule", self.list_rule.as_deref()),
            ("viewRule", self.view_rule.as_deref()),
            ("createRule", self.create_rule.as_deref()),
            ("updateRule", self.update_rule.as_deref()),
            ("deleteRule", self.delete_rule.as_deref()),
        ];
        if let Some(a) = &self.auth {
            v.push(("authRule", a.auth_rule.as_deref()));
            v.push(("manageRule", a.manage_rule.as_deref()));
            v.push(("mfa", Some(a.mfa.rule.as_str())));
        }
        v
    }
}

/// The `id` field every table has: 15 lowercase alphanumerics by default.
pub fn id_field() -> Field {
    let mut f = Field::new(
        "id",
        FieldKind::Text(TextField {
            min: 15,
            max: 15,
            pattern: "^[a-z0-9]+$".into(),
            autogenerate_pattern: "[a-z0-9]{15}".into(),
            primary_key: true,
            ..Default::default()
        }),
    )
    .system()
    .required();
    f.id = "text3208210256".into();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaffolds() {
        let b = Collection::base("posts");
        let names: Vec<_> = b.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "created", "updated"]);
        let a = Collection::auth("users");
        let names: Vec<_> = a.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "password",
                "tokenKey",
                "email",
                "emailVisibility",
                "verified",
                "created",
                "updated"
            ]
        );
        let j = a.to_json();
        assert_eq!(j["type"], "auth");
        assert!(j.get("tokenSecret").is_none());
        assert_eq!(j["passwordAuth"]["identityFields"], json!(["email"]));
    }

    #[test]
    fn new_fields_go_before_timestamps() {
        let c = Collection::base("p")
            .with_field(Field::new("title", FieldKind::Text(TextField::default())));
        assert_eq!(c.fields[1].name, "title");
        assert!(c.fields[1].id.starts_with("text"));
    }
}
