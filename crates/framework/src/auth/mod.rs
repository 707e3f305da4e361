//! Auth: tokens and passwords, the e-mail flows, one-time passwords, MFA, OAuth2 and the
//! accounts it links, superusers, and the cache of authenticated records.

pub mod app_tokens;
pub(crate) mod cache;
pub(crate) mod email;
pub(crate) mod flow_store;
pub(crate) mod hasher;
pub(crate) mod login;
pub(crate) mod mfa;
pub(crate) mod oauth2;
pub(crate) mod oauth2_link;
pub(crate) mod otp;
pub(crate) mod superusers;
pub(crate) mod tokens;

pub use crate::filter::{AuthRecord, RequestInfo};
pub use app_tokens::TokenResolver;
pub use superusers::{
    delete as delete_superuser, installer, upsert as upsert_superuser, SUPERUSERS,
};
pub use tokens::{new_record_token, TokenType};
