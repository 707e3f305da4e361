//! `/api/designs`: upload a print file, and list your own.

use super::buyer::BuyerAuth;
use crate::agent_auth::PerIp;
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::{Record, RecordFields};
use framework::Error;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi};

#[derive(Default)]
pub struct DesignsApi;

/// A design to upload.
#[derive(Multipart)]
struct DesignUpload {
    /// A PNG, JPEG or WebP image (the type is read from its bytes; SVG is refused), at
    /// most `shop.designMaxBytes` (20 MiB by default; 413 over it).
    file: Upload,
}

/// An uploaded design.
#[derive(Object)]
struct Design {
    design_id: String,
    /// Where the file is served (public by this unguessable URL, as Gelato must fetch it).
    design_url: String,
    /// The same, absolute (on the app URL setting).
    url: String,
    original_name: String,
    /// Read from the bytes.
    mime_type: String,
    size_bytes: i64,
    /// In pixels.
    width: i64,
    height: i64,
    created: String,
}

impl Design {
    fn new(app: &framework::App, r: &Record) -> Design {
        let (design_url, url) = super::designs::urls(app, r);
        Design {
            design_id: r.id().to_string(),
            design_url,
            url,
            original_name: r.get_str("original_name").to_string(),
            mime_type: r.get_str("mime_type").to_string(),
            size_bytes: r.get_i64("size_bytes"),
            width: r.get_i64("width"),
            height: r.get_i64("height"),
            created: r.get_str("created").to_string(),
        }
    }
}

#[derive(Object)]
struct DesignPage {
    designs: Vec<Design>,
    /// Your designs in all.
    total: i64,
    limit: u64,
    offset: u64,
}

#[derive(ApiResponse)]
enum DesignCreated {
    #[oai(status = 201)]
    Created(Json<Design>),
}

#[OpenApi(tag = "GatherTags::Shop")]
impl DesignsApi {
    /// Upload a design to print (per-buyer upload limits apply); an order names it by
    /// `design_id`. Agents and signed-in humans alike.
    #[oai(
        path = "/api/designs/upload",
        method = "post",
        operation_id = "upload-design"
    )]
    async fn upload(
        &self,
        ctx: Ctx,
        buyer: BuyerAuth,
        _limit: PerIp,
        body: DesignUpload,
    ) -> ApiResult<DesignCreated> {
        buyer.0.count_design_upload(&ctx.app).await?;
        let file = body.file;
        let name = file.file_name().unwrap_or_default().to_string();
        let data = file
            .into_vec()
            .await
            .map_err(|e| Error::BadRequest(format!("The file could not be read: {e}.")))?;
        let design = super::designs::upload(&ctx.app, &buyer.0, &name, data.into()).await?;
        Ok(DesignCreated::Created(Json(Design::new(&ctx.app, &design))))
    }

    /// Your designs, newest first.
    #[oai(path = "/api/designs", method = "get", operation_id = "list-designs")]
    async fn list(
        &self,
        ctx: Ctx,
        buyer: BuyerAuth,
        _limit: PerIp,
        /// 1-100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<DesignPage>> {
        let (limit, offset) = (limit.0.unwrap_or(20), offset.0.unwrap_or(0));
        let (designs, total) = super::designs::list(&ctx.app, &buyer.0, limit, offset).await?;
        Ok(Json(DesignPage {
            designs: designs.iter().map(|d| Design::new(&ctx.app, d)).collect(),
            total,
            limit,
            offset,
        }))
    }
}
