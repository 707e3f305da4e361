//! `/api/files`: record file downloads (thumbnails, ranges, protected files) and the
//! short-lived tokens protected files need.

use super::context::Ctx;
use super::error::ApiResult;
use super::Tags;
use crate::{app::App, error::Error};
use poem::web::StaticFileRequest;
use poem::{FromRequest, IntoResponse, Request, Response};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, Registry};
use poem_openapi::{ApiResponse, Object, OpenApi};

pub struct FilesApi;

#[derive(Object)]
struct FileToken {
    /// A JWT of type `file`; pass it as `?token=` to download protected files.
    token: String,
}

/// A file's bytes, with the headers PocketBase sends.
pub struct FileDownload(Response);

impl IntoResponse for FileDownload {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for FileDownload {
    fn meta() -> MetaResponses {
        let binary = || {
            // Served with the type read from the file's bytes: any type.
            vec![MetaMediaType {
                content_type: "*/*",
                schema: poem_openapi::registry::MetaSchemaRef::Inline(Box::new(
                    MetaSchema::new_with_format("string", "binary"),
                )),
            }]
        };
        let r = |status, description| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: binary(),
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                r(200, "The file (its type read from its bytes)"),
                r(206, "Part of the file, for a `Range` request"),
            ],
        }
    }
    fn register(_: &mut Registry) {}
}

#[OpenApi(tag = "Tags::Files")]
impl FilesApi {
    /// A token for protected files, valid for the collection's `fileToken` duration
    /// (180 s by default). Needs a logged-in record.
    #[oai(path = "/api/files/token", method = "post", operation_id = "fileToken")]
    async fn token(&self, ctx: Ctx) -> ApiResult<Json<FileToken>> {
        let auth = ctx.info.auth.as_ref().ok_or_else(|| {
            Error::Unauthorized("The request requires valid record authorization token.".into())
        })?;
        let token = crate::auth::tokens::file_token(&ctx.app, auth).await?;
        Ok(Json(FileToken { token }))
    }

    /// Download a record's file.
    ///
    /// `thumb` (`100x100`, or a size listed in the field's `thumbs`: `WxH` crops to
    /// fill, `WxHt`/`WxHb` from the top/bottom, `WxHf` fits, `Wx0`/`0xH` scale) serves a
    /// thumbnail of an image, made once and kept; other sizes and non-images serve the
    /// original. `download=1` asks the browser to save it. Protected files need a file
    /// `token` (the `Authorization` header is not used here, as in PocketBase).
    /// `Range` requests are answered with 206.
    #[oai(
        path = "/api/files/:collection/:record/:filename",
        method = "get",
        operation_id = "downloadFile"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn download(
        &self,
        req: &Request,
        collection: Path<String>,
        record: Path<String>,
        filename: Path<String>,
        thumb: Query<Option<String>>,
        download: Query<Option<String>>,
        token: Query<Option<String>>,
    ) -> ApiResult<FileDownload> {
        let app = req
            .data::<App>()
            .cloned()
            .ok_or_else(|| Error::internal("app missing"))?;
        let c = app
            .collection(&collection.0)
            .map_err(|_| Error::not_found())?;
        let file = crate::records::files::serve_file(
            &app,
            &c,
            &record.0,
            &filename.0,
            thumb.0.as_deref(),
            token.0.as_deref(),
        )
        .await?;
        let range = StaticFileRequest::from_request_without_body(req)
            .await
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        let mut resp = match range.create_response_from_data(&file.data) {
            Ok(r) => r.with_content_type(file.mime.clone()).into_response(),
            Err(_) => super::error::envelope(
                poem::http::StatusCode::RANGE_NOT_SATISFIABLE,
                "The requested range is not satisfiable.",
                serde_json::json!({}),
            ),
        };
        let disposition = if super::records::truthy(&download.0) {
            "attachment"
        } else {
            "inline"
        };
        let headers = resp.headers_mut();
        let mut set = |k: &'static str, v: String| {
            if let Ok(v) = poem::http::HeaderValue::from_str(&v) {
                headers.insert(k, v);
            }
        };
        set(
            "content-disposition",
            format!("{disposition}; filename=\"{}\"", file.name),
        );
        set(
            "cache-control",
            "max-age=2592000, stale-while-revalidate=86400".into(),
        );
        set(
            "content-security-policy",
            "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox".into(),
        );
        set("x-content-type-options", "nosniff".into());
        if let Some(m) = file.modified {
            set("last-modified", httpdate(m));
        }
        Ok(FileDownload(resp))
    }
}

/// An HTTP date (`Tue, 01 Dec 2026 07:05:33 GMT`).
fn httpdate(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
