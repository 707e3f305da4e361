//! `/api/collections/{collection}/records`: list, view, create, update, delete.

use super::collections::NoContent;
use super::context::Ctx;
use super::error::ApiResult;
use super::record_body::RecordBody;
use super::shapes::{RecordListShape, RecordShape};
use super::Tags;
use super::{described, Described};
use crate::records::pick::{pick, pick_items};
use crate::records::read::{self as records, ListParams};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;
use serde_json::Value;

pub struct RecordsApi;

pub(crate) fn truthy(v: &Option<String>) -> bool {
    v.as_deref()
        .is_some_and(|s| matches!(s, "1" | "true" | "t" | "yes"))
}

#[OpenApi(tag = "Tags::Records")]
impl RecordsApi {
    /// List records, filtered by the collection's list rule.
    ///
    /// `filter` and `sort` use PocketBase's filter language; `expand` follows relations
    /// (`author`, `author.team`, `comments_via_post`); `fields` picks keys per item.
    #[oai(
        path = "/api/collections/:collection/records",
        method = "get",
        operation_id = "listRecords"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        /// 0 and 1 are the first page.
        page: Query<Option<u64>>,
        /// 0 = 30; at most 1000.
        #[oai(name = "perPage")]
        per_page: Query<Option<u64>>,
        sort: Query<Option<String>>,
        filter: Query<Option<String>>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
        #[oai(name = "skipTotal")] skip_total: Query<Option<String>>,
        /// Full-text search over the collection's searchable fields (not in PocketBase):
        /// every word must match (stemmed), `"quoted words"` as a phrase, `or` between
        /// alternatives, `-word` excluded; best match first unless `sort` is given.
        /// At most 500 characters; 400 when the collection has no searchable field.
        search: Query<Option<String>>,
    ) -> ApiResult<Json<Described<RecordListShape>>> {
        let c = ctx.app.collection(&collection.0)?;
        let params = ListParams {
            page: page.0.unwrap_or(1),
            per_page: per_page.0.unwrap_or(0),
            sort: sort.0,
            filter: filter.0,
            expand: expand.0,
            skip_total: truthy(&skip_total.0),
            search: search.0,
            ..Default::default()
        };
        let r = records::list(&ctx.app, &c, &ctx.info, &params).await?;
        Ok(described(pick_items(r.into_json(), fields.0.as_deref())))
    }

    /// View one record (404 when missing or hidden by the view rule).
    #[oai(
        path = "/api/collections/:collection/records/:id",
        method = "get",
        operation_id = "viewRecord"
    )]
    async fn view(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        id: Path<String>,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<RecordShape>>> {
        let c = ctx.app.collection(&collection.0)?;
        let rec = records::view(&ctx.app, &c, &id.0, &ctx.info, expand.0.as_deref()).await?;
        Ok(described(pick(Value::Object(rec), fields.0.as_deref())))
    }

    /// Create a record (checked against the create rule).
    #[oai(
        path = "/api/collections/:collection/records",
        method = "post",
        operation_id = "createRecord"
    )]
    async fn create(
        &self,
        mut ctx: Ctx,
        collection: Path<String>,
        body: RecordBody,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<RecordShape>>> {
        let c = ctx.app.collection(&collection.0)?;
        let (body, files) = body.into_parts(&c)?;
        ctx.info.body = body.clone();
        let rec = records::create_with_files(&ctx.app, &c, &ctx.info, body, files).await?;
        let rec = records::show(&ctx.app, &c, rec, expand.0.as_deref(), &ctx.info).await?;
        Ok(described(pick(Value::Object(rec), fields.0.as_deref())))
    }

    /// Update a record; `field+`, `+field` and `field-` append, prepend and remove.
    #[oai(
        path = "/api/collections/:collection/records/:id",
        method = "patch",
        operation_id = "updateRecord"
    )]
    async fn update(
        &self,
        mut ctx: Ctx,
        collection: Path<String>,
        id: Path<String>,
        body: RecordBody,
        expand: Query<Option<String>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<RecordShape>>> {
        let c = ctx.app.collection(&collection.0)?;
        let (body, files) = body.into_parts(&c)?;
        ctx.info.body = body.clone();
        let rec = records::update_with_files(&ctx.app, &c, &id.0, &ctx.info, body, files).await?;
        let rec = records::show(&ctx.app, &c, rec, expand.0.as_deref(), &ctx.info).await?;
        Ok(described(pick(Value::Object(rec), fields.0.as_deref())))
    }

    /// Delete a record; relations pointing to it cascade, block, or are unset.
    #[oai(
        path = "/api/collections/:collection/records/:id",
        method = "delete",
        operation_id = "deleteRecord"
    )]
    async fn delete(
        &self,
        ctx: Ctx,
        collection: Path<String>,
        id: Path<String>,
    ) -> ApiResult<NoContent> {
        let c = ctx.app.collection(&collection.0)?;
        records::delete(&ctx.app, &c, &id.0, &ctx.info).await?;
        Ok(NoContent::Done)
    }
}
