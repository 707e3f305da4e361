//! `/api/settings`: read and change the application settings (superusers).

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::shapes::SettingsShape;
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use super::{described, Described, MergePatch};
use crate::collections::model::EmailTemplate;
use crate::error::Error;
use crate::mail::{self, MailData, MailKind};
use crate::records::pick::pick;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

pub struct SettingsApi;

#[derive(Object)]
struct TestEmail {
    /// Where to send it.
    #[oai(validator(min_length = 1))]
    email: String,
    /// `verification`, `password-reset`, `email-change`, `otp`, or empty for a plain test.
    #[oai(nullable)]
    template: Option<String>,
    /// The auth collection whose template to use (default `_superusers`).
    #[oai(nullable)]
    collection: Option<String>,
}

/// The file storages `test/s3` can check.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq)]
#[oai(rename_all = "lowercase")]
enum Filesystem {
    /// Record files.
    Storage,
}

#[derive(Object)]
struct TestS3 {
    /// What to check (`storage` when left out).
    #[oai(nullable)]
    filesystem: Option<Filesystem>,
}

#[OpenApi(tag = "Tags::Settings")]
impl SettingsApi {
    /// All settings, without secrets (superusers).
    #[oai(path = "/api/settings", method = "get", operation_id = "getSettings")]
    async fn get(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<SettingsShape>>> {
        Ok(described(pick(
            ctx.app.settings().to_public_json(),
            fields.0.as_deref(),
        )))
    }

    /// Change some settings: any subset of the document; returns all of them (superusers).
    #[oai(
        path = "/api/settings",
        method = "patch",
        operation_id = "updateSettings"
    )]
    async fn update(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        body: Json<MergePatch<SettingsShape>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<SettingsShape>>> {
        let patch = Value::Object(super::body_object(body.0.value)?);
        let next = ctx.app.update_settings(&patch).await?;
        Ok(described(pick(next.to_public_json(), fields.0.as_deref())))
    }

    /// Sends a test e-mail through the configured SMTP server and waits for its answer
    /// (superusers).
    #[oai(
        path = "/api/settings/test/email",
        method = "post",
        operation_id = "testEmail"
    )]
    async fn test_email(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        body: Json<TestEmail>,
    ) -> ApiResult<NoContent> {
        let email = crate::auth::email::check_email(&body.email, "email")?;
        let kind = MailKind::from_template_name(body.template.as_deref().unwrap_or_default())
            .ok_or_else(|| Error::BadRequest("Unknown e-mail template.".into()))?;
        let name = body
            .collection
            .as_deref()
            .unwrap_or(crate::auth::superusers::SUPERUSERS);
        let c = ctx.app.collection(name)?;
        let opts = c.auth.clone().unwrap_or_default();
        let template = match kind {
            MailKind::Verification => opts.verification_template,
            MailKind::PasswordReset => opts.reset_password_template,
            MailKind::EmailChange => opts.confirm_email_change_template,
            MailKind::Otp => opts.otp.email_template,
            MailKind::Test => EmailTemplate::default(),
        };
        let settings = ctx.app.settings();
        let secret = match kind {
            MailKind::Otp => "12345678",
            _ => "TEST_TOKEN",
        };
        let data = MailData {
            kind,
            to: &email,
            secret,
            record: &Map::new(),
            template: &template,
        };
        let mail = mail::render(&settings, &data)?;
        mail::send(&settings, &mail)
            .await
            .map_err(|e| Error::BadRequest(format!("Failed to send the test e-mail: {e}.")))?;
        Ok(NoContent::Done)
    }

    /// Checks the file storage by storing, reading back and removing a small file
    /// (superusers). `filesystem` must be `storage` (record files).
    #[oai(
        path = "/api/settings/test/s3",
        method = "post",
        operation_id = "testS3"
    )]
    async fn test_s3(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        body: Json<TestS3>,
    ) -> ApiResult<NoContent> {
        // `storage` is the only one there is; the type has refused anything else.
        let Filesystem::Storage = body.0.filesystem.unwrap_or(Filesystem::Storage);
        crate::files::check_storage(ctx.app.files().as_ref()).await?;
        Ok(NoContent::Done)
    }
}
