//! `/api/settings`: read and change the application settings (superusers).

use super::context::Ctx;
use super::error::ApiResult;
use super::pick::pick;
use super::Tags;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use serde_json::Value;

pub struct SettingsApi;

#[OpenApi(tag = "Tags::Settings")]
impl SettingsApi {
    /// All settings, without secrets (superusers).
    #[oai(path = "/api/settings", method = "get", operation_id = "getSettings")]
    async fn get(&self, ctx: Ctx, fields: Query<Option<String>>) -> ApiResult<Json<Value>> {
        ctx.require_superuser()?;
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
        ctx: Ctx,
        body: Json<Value>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Value>> {
        ctx.require_superuser()?;
        let patch = Value::Object(super::body_object(body.0)?);
        let next = ctx.app.update_settings(&patch).await?;
        Ok(Json(pick(next.to_public_json(), fields.0.as_deref())))
    }
}
