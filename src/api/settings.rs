//! `/api/settings`: read and change the application settings (superusers).

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::pick::pick;
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use crate::core::collection::EmailTemplate;
use crate::core::mailer::{self, MailData, MailKind};
use crate::core::Error;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

pub struct SettingsApi;

#[derive(Object)]
struct TestEmail {
    /// Where to send it.
    email: String,
    /// `verification`, `password-reset`, `email-change`, `otp`, or empty for a plain test.
    template: Option<String>,
    /// The auth collection whose template to use (default `_superusers`).
    collection: Option<String>,
}

#[derive(Object)]
struct TestS3 {
    /// What to check: `storage` (record files).
    filesystem: Option<String>,
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
    ) -> ApiResult<Json<Value>> {
        Ok(Json(pick(
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
        body: Json<Value>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Value>> {
        let patch = Value::Object(super::body_object(body.0)?);
        let next = ctx.app.update_settings(&patch).await?;
        Ok(Json(pick(next.to_public_json(), fields.0.as_deref())))
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
        let email = crate::core::auth_email::check_email(&body.email, "email")?;
        let kind = MailKind::from_template_name(body.template.as_deref().unwrap_or_default())
            .ok_or_else(|| Error::BadRequest("Unknown e-mail template.".into()))?;
        let name = body
            .collection
            .as_deref()
            .unwrap_or(crate::core::SUPERUSERS);
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
        let mail = mailer::render(&settings, &data)?;
        mailer::send(&settings, &mail)
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
        if body.filesystem.as_deref().unwrap_or("storage") != "storage" {
            return Err(Error::BadRequest(
                "Only the record file storage (\"storage\") can be checked.".into(),
            )
            .into());
        }
        crate::core::files::check_storage(ctx.app.files().as_ref()).await?;
        Ok(NoContent::Done)
    }
}
