//! Collections: the model (fields, rules, auth options), the in-memory registry, the
//! store that saves them together with their tables, the DDL, and ids.

pub(crate) mod bootstrap;
pub(crate) mod ids;
pub(crate) mod input;
pub(crate) mod list;
pub(crate) mod model;
pub(crate) mod registry;
pub(crate) mod schema;
pub(crate) mod search_index;
pub(crate) mod store;
pub(crate) mod validate;
pub(crate) mod views;

/// The address check `email` fields use.
pub use crate::fields::is_email;
pub use crate::fields::{
    AutodateField, BoolField, DateField, EditorField, EmailField, Field, FieldError, FieldKind,
    FileField, GeoPointField, JsonField, NumberField, PasswordField, RelationField, SelectField,
    TextField, UrlField,
};
pub use ids::{is_valid_record_id, new_record_id, random_from};
pub use model::{
    AuthOptions, Collection, CollectionType, EmailTemplate, MfaOptions, OAuth2Options,
    OAuth2Provider, OtpOptions, PasswordAuth, Rule, TokenConfig,
};
pub use store::{create, delete, import, truncate, update};
