//! The one place where errors become HTTP: `{"status","message","data"}` everywhere.

use crate::error::Error;
use crate::filter::FilterErrorKind;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use serde_json::{json, Value};

/// The error envelope, as PocketBase sends it.
#[derive(Object)]
#[oai(rename = "Error")]
pub struct ErrorBody {
    /// The HTTP status code.
    pub status: u16,
    /// A human-readable sentence.
    pub message: String,
    /// Per-field details: `{"field": {"code", "message"}}`; `{}` when there are none.
    pub data: Value,
}

/// An engine error on its way out as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError(e.into())
    }
}

impl From<crate::filter::FilterError> for ApiError {
    fn from(e: crate::filter::FilterError) -> Self {
        ApiError(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Capital first letter and a final period, as PocketBase writes messages.
fn sentence(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(s.chars().skip(1))
        .collect();
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

pub fn envelope(status: StatusCode, message: &str, data: Value) -> Response {
    let body = json!({"status": status.as_u16(), "message": sentence(message), "data": data});
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

impl ApiError {
    pub fn parts(&self) -> (StatusCode, String, Value) {
        parts_of(&self.0)
    }
}

/// The status, message and data an engine error is answered with.
fn parts_of(e: &Error) -> (StatusCode, String, Value) {
    match e {
        Error::Validation { message, fields } => (
            StatusCode::BAD_REQUEST,
            message.clone(),
            Value::Object(fields.clone()),
        ),
        Error::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone(), json!({})),
        Error::Filter(e) if e.kind == FilterErrorKind::SuperusersOnly => {
            (StatusCode::FORBIDDEN, e.message.clone(), json!({}))
        }
        Error::Filter(e) => (
            StatusCode::BAD_REQUEST,
            "Something went wrong while processing your request.".into(),
            json!({"filter": {"code": "validation_invalid_filter", "message": e.to_string()}}),
        ),
        Error::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m.clone(), json!({})),
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone(), json!({})),
        Error::NotFound(m) => (StatusCode::NOT_FOUND, m.clone(), json!({})),
        Error::Conflict(m) => (StatusCode::CONFLICT, m.clone(), json!({})),
        Error::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone(), json!({})),
        Error::PaymentRequired(m) => (StatusCode::PAYMENT_REQUIRED, m.clone(), json!({})),
        Error::RequestTimeout(m) => (StatusCode::REQUEST_TIMEOUT, m.clone(), json!({})),
        Error::SchemaChanged => (
            StatusCode::BAD_REQUEST,
            "The collection's schema changed while the write ran; send it again.".into(),
            json!({}),
        ),
        Error::TooManyRequests { message, .. } => {
            (StatusCode::TOO_MANY_REQUESTS, message.clone(), json!({}))
        }
        Error::ServiceUnavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone(), json!({})),
        Error::Batch { index, error } => {
            let (status, message, data) = parts_of(error);
            let failed = json!({
                "code": "batch_request_failed",
                "message": "Batch request failed.",
                "response": {"status": status.as_u16(), "message": sentence(&message), "data": data},
            });
            (
                StatusCode::BAD_REQUEST,
                "Batch transaction failed.".into(),
                json!({"requests": {index.to_string(): failed}}),
            )
        }
        Error::Db(e) => {
            tracing::error!(error = %e, "database error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong while processing your request.".into(),
                json!({}),
            )
        }
        Error::Internal { .. } => {
            tracing::error!(error = %e, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong while processing your request.".into(),
                json!({}),
            )
        }
    }
}

impl ApiError {
    fn response(&self) -> Response {
        let (status, message, data) = self.parts();
        let mut resp = envelope(status, &message, data);
        if let Error::TooManyRequests { retry_after, .. } = &self.0 {
            resp.headers_mut()
                .insert("retry-after", poem::http::HeaderValue::from(*retry_after));
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.parts().0
    }
    fn as_response(&self) -> Response {
        self.response()
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let content = || {
            vec![MetaMediaType {
                content_type: "application/json",
                schema: MetaSchemaRef::Reference("Error".into()),
            }]
        };
        let r = |status: u16, description: &'static str| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: content(),
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                r(
                    400,
                    "Invalid input: malformed body, failed validation, bad filter",
                ),
                r(401, "Missing or invalid auth token"),
                r(403, "Not allowed for this requester"),
                r(404, "Not found, or hidden by an API rule"),
                r(409, "Clashes with what exists"),
                r(408, "The request body did not arrive in time"),
                r(413, "The request body is too large"),
                MetaResponse {
                    headers: vec![MetaHeader {
                        name: "Retry-After".into(),
                        description: Some("Seconds to wait before trying again.".into()),
                        required: true,
                        deprecated: false,
                        schema: u64::schema_ref(),
                    }],
                    ..r(429, "Too many requests: wait for Retry-After seconds")
                },
                r(
                    503,
                    "A service the operation needs is not configured or not reachable, or the server is at its connection limit",
                ),
            ],
        }
    }
    fn register(registry: &mut Registry) {
        <ErrorBody as poem_openapi::types::Type>::register(registry);
    }
}

/// Turns every error response not made by [`ApiError`] (unknown routes, bad JSON from
/// the extractors, oversized bodies, ...) into the envelope.
pub fn catch_all(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.response();
    }
    let status = err.status();
    let message = match status {
        StatusCode::NOT_FOUND => "The requested resource wasn't found.".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed.".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large.".to_string(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported Content-Type.".to_string(),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "unhandled server error");
            "Something went wrong while processing your request.".to_string()
        }
        _ => err.to_string(),
    };
    let status = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    envelope(status, &message, json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sentences() {
        assert_eq!(
            sentence("failed to create record"),
            "Failed to create record."
        );
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(sentence(""), "");
    }
}
