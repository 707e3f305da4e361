//! `/api/collections`: list, view, create, update, delete, import, truncate, scaffolds
//! (superusers only).

use super::context::Ctx;
use super::error::ApiResult;
use super::shapes::{
    CollectionInputShape, CollectionListShape, CollectionScaffoldsShape, CollectionShape,
    CollectionsImportShape,
};
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use super::{described, Described};
use crate::collections::{input, list as collection_list, store};
use crate::error::Error;
use crate::records::pick::{pick, pick_items};
use crate::records::ListParams;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

pub struct CollectionsApi;

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tags::Collections")]
impl CollectionsApi {
    /// List collections (superusers).
    #[oai(
        path = "/api/collections",
        method = "get",
        operation_id = "listCollections"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        /// 0 and 1 are the first page.
        page: Query<Option<u64>>,
        /// 0 = 30; at most 1000.
        #[oai(name = "perPage")]
        per_page: Query<Option<u64>>,
        filter: Query<Option<String>>,
        sort: Query<Option<String>>,
        fields: Query<Option<String>>,
        #[oai(name = "skipTotal")] skip_total: Query<Option<String>>,
    ) -> ApiResult<Json<Described<CollectionListShape>>> {
        let params = ListParams {
            page: page.0.unwrap_or(1),
            per_page: per_page.0.unwrap_or(0),
            filter: filter.0,
            sort: sort.0,
            skip_total: skip_total
                .0
                .as_deref()
                .is_some_and(|s| s == "1" || s == "true"),
            ..ListParams::default()
        };
        let body = collection_list::list(&ctx.app, &ctx.info, &params).await?;
        Ok(described(pick_items(body, fields.0.as_deref())))
    }

    /// Create a collection (superusers).
    #[oai(
        path = "/api/collections",
        method = "post",
        operation_id = "createCollection"
    )]
    async fn create(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        body: Json<Described<CollectionInputShape>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<CollectionShape>>> {
        let saved = input::create(&ctx.app, &super::body_object(body.0.value)?).await?;
        Ok(described(pick(saved.to_json(), fields.0.as_deref())))
    }

    /// Templates for new collections of each type.
    #[oai(
        path = "/api/collections/meta/scaffolds",
        method = "get",
        operation_id = "collectionScaffolds"
    )]
    async fn scaffolds(
        &self,
        _su: SuperuserAuth,
    ) -> ApiResult<Json<Described<CollectionScaffoldsShape>>> {
        Ok(described(input::scaffolds()))
    }

    /// Create or update many collections at once (superusers).
    #[oai(
        path = "/api/collections/import",
        method = "put",
        operation_id = "importCollections"
    )]
    async fn import(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        body: Json<Described<CollectionsImportShape>>,
    ) -> ApiResult<NoContent> {
        input::import(&ctx.app, &super::body_object(body.0.value)?).await?;
        Ok(NoContent::Done)
    }

    /// View one collection (superusers).
    #[oai(
        path = "/api/collections/:collection",
        method = "get",
        operation_id = "viewCollection"
    )]
    async fn view(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        collection: Path<String>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<CollectionShape>>> {
        let c = ctx
            .app
            .registry()
            .find(&collection.0)
            .ok_or_else(Error::not_found)?;
        Ok(described(pick(c.to_json(), fields.0.as_deref())))
    }

    /// Update a collection; its table is altered in place, data kept (superusers).
    #[oai(
        path = "/api/collections/:collection",
        method = "patch",
        operation_id = "updateCollection"
    )]
    async fn update(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        collection: Path<String>,
        body: Json<Described<CollectionInputShape>>,
        fields: Query<Option<String>>,
    ) -> ApiResult<Json<Described<CollectionShape>>> {
        let input = super::body_object(body.0.value)?;
        let saved = input::update(&ctx.app, &collection.0, &input).await?;
        Ok(described(pick(saved.to_json(), fields.0.as_deref())))
    }

    /// Delete a collection and its table (superusers).
    #[oai(
        path = "/api/collections/:collection",
        method = "delete",
        operation_id = "deleteCollection"
    )]
    async fn delete(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        collection: Path<String>,
    ) -> ApiResult<NoContent> {
        ctx.app
            .registry()
            .find(&collection.0)
            .ok_or_else(Error::not_found)?;
        store::delete(&ctx.app, &collection.0).await?;
        Ok(NoContent::Done)
    }

    /// Delete every record of a collection (superusers).
    #[oai(
        path = "/api/collections/:collection/truncate",
        method = "delete",
        operation_id = "truncateCollection"
    )]
    async fn truncate(
        &self,
        _su: SuperuserAuth,
        ctx: Ctx,
        collection: Path<String>,
    ) -> ApiResult<NoContent> {
        ctx.app
            .registry()
            .find(&collection.0)
            .ok_or_else(Error::not_found)?;
        store::truncate(&ctx.app, &collection.0).await?;
        Ok(NoContent::Done)
    }
}
