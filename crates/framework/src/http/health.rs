//! `GET /api/health`.

use super::error::ApiResult;
use super::Tags;
use poem_openapi::{payload::Json, Object, OpenApi};
use serde_json::{json, Value};

pub struct HealthApi;

#[derive(Object)]
struct Health {
    /// Always "API is healthy.".
    message: String,
    /// 200 (PocketBase uses `code` here rather than `status`).
    code: u16,
    data: Value,
}

#[OpenApi(tag = "Tags::Health")]
impl HealthApi {
    /// Health check.
    #[oai(path = "/api/health", method = "get", operation_id = "health")]
    async fn health(&self) -> ApiResult<Json<Health>> {
        Ok(Json(Health {
            message: "API is healthy.".into(),
            code: 200,
            data: json!({}),
        }))
    }
}
