//! [`SuperuserAuth`]: the guard of superuser-only routes, checked before anything else
//! of the request is read, and documented as the route's security in the OpenAPI document.

use super::context::bearer;
use super::error::ApiError;
use crate::auth::tokens::{verify_token, TokenType};
use crate::{app::App, auth::superusers::SUPERUSERS, error::Error};
use poem::Request;
use poem_openapi::auth::ApiKey;
use poem_openapi::SecurityScheme;

/// A superuser's token (`Authorization: <token>`, as the JS SDK sends it, or `Bearer
/// <token>`); on a fresh install, the one-time installer token. Missing or invalid: 401;
/// another auth record's token: 403.
#[derive(SecurityScheme)]
#[oai(
    rename = "SuperuserToken",
    ty = "api_key",
    key_name = "Authorization",
    key_in = "header",
    checker = "check_superuser"
)]
pub struct SuperuserAuth(());

async fn check_superuser(req: &Request, _key: ApiKey) -> poem::Result<()> {
    let app = req
        .data::<App>()
        .cloned()
        .ok_or_else(|| ApiError(Error::internal("app missing")))?;
    let unauthorized = || {
        ApiError(Error::Unauthorized(
            "The request requires valid record authorization token.".into(),
        ))
    };
    let token = bearer(req).ok_or_else(unauthorized)?;
    match verify_token(&app, &token, TokenType::Auth).await {
        Some((who, _)) if who.collection.name == SUPERUSERS => Ok(()),
        Some(_) => Err(ApiError(Error::superusers_only()).into()),
        None => match crate::auth::superusers::installer_request(&app, &token).await {
            Some(_) => Ok(()),
            None => Err(unauthorized().into()),
        },
    }
}
