//! `/api/collections`: list, view, create, update, delete, import, truncate, scaffolds
//! (superusers only).

use super::context::Ctx;
use super::error::{ApiError, ApiResult};
use super::shapes::{
    CollectionInputShape, CollectionListShape, CollectionScaffoldsShape, CollectionShape,
    CollectionsImportShape,
};
use super::superuser_auth::SuperuserAuth;
use super::Tags;
use super::{described, Described};
use crate::collections::model::{AuthOptions, Collection, CollectionType};
use crate::collections::registry::Registry;
use crate::collections::store;
use crate::error::Error;
use crate::fields::{Field, FieldError, FieldKind, TextField};
use crate::filter::{compile_filter, compile_sort, Scope};
use crate::records::pick::{pick, pick_items};
use crate::records::read::MAIN;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::sea_query::{Alias, Expr, Query as SqlQuery};
use serde_json::{json, Map, Value};

pub struct CollectionsApi;

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// The options of auth collections a create/update body may set.
const AUTH_OPTION_KEYS: &[&str] = &[
    "authRule",
    "manageRule",
    "passwordAuth",
    "otp",
    "mfa",
    "oauth2",
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
    "verificationTemplate",
    "resetPasswordTemplate",
    "confirmEmailChangeTemplate",
];

/// Applies a create/update body onto a collection.
fn apply_input(
    c: &mut Collection,
    input: &Map<String, Value>,
    creating: bool,
) -> Result<(), Error> {
    let msg = if creating {
        "Failed to create collection."
    } else {
        "Failed to update collection."
    };
    let bad = |key: &str, text: String| {
        Error::field(msg, key, FieldError::new("validation_invalid_value", text))
    };
    let rule = |v: &Value, key: &str| -> Result<Option<String>, Error> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(bad(key, "Must be a string or null.".into())),
        }
    };
    let old_auth = c.auth.clone();
    for (k, v) in input {
        match k.as_str() {
            "id" if creating => {
                c.id = v
                    .as_str()
                    .ok_or_else(|| bad("id", "Must be a string.".into()))?
                    .to_string()
            }
            "name" => {
                c.name = v
                    .as_str()
                    .ok_or_else(|| bad("name", "Must be a string.".into()))?
                    .to_string()
            }
            "fields" => {
                let mut fields: Vec<Field> = serde_json::from_value(v.clone())
                    .map_err(|e| bad("fields", format!("Invalid fields: {e}")))?;
                // The id field may be left out of a definition; it is always there.
                if !fields.iter().any(|f| f.name == "id") {
                    if let Some(id) = c.field("id").cloned() {
                        fields.insert(0, id);
                    }
                }
                c.fields = fields;
            }
            "indexes" => {
                c.indexes = serde_json::from_value(v.clone())
                    .map_err(|_| bad("indexes", "Must be a list of strings.".into()))?
            }
            "listRule" => c.list_rule = rule(v, k)?,
            "viewRule" => c.view_rule = rule(v, k)?,
            "createRule" => c.create_rule = rule(v, k)?,
            "updateRule" => c.update_rule = rule(v, k)?,
            "deleteRule" => c.delete_rule = rule(v, k)?,
            "viewQuery" => {
                c.view_query = v
                    .as_str()
                    .ok_or_else(|| bad("viewQuery", "Must be a string.".into()))?
                    .to_string()
            }
            key if c.is_auth() && AUTH_OPTION_KEYS.contains(&key) => {
                let auth = c.auth.get_or_insert_with(AuthOptions::default);
                let secret = auth.token_secret.clone();
                let mut current = serde_json::to_value(&*auth).unwrap_or(json!({}));
                // Nested options change key by key, as PocketBase decodes onto the old value.
                if v.is_object() {
                    crate::settings::model::merge(&mut current[key], v);
                } else {
                    current[key] = v.clone();
                }
                *auth = serde_json::from_value(current)
                    .map_err(|e| bad(k, format!("Invalid value: {e}")))?;
                auth.token_secret = secret;
                // Providers sent without their secret keep the stored one.
                if let Some(old) = &old_auth {
                    for p in auth.oauth2.providers.iter_mut() {
                        if p.client_secret.is_empty() {
                            if let Some(o) = old.oauth2.providers.iter().find(|o| o.name == p.name)
                            {
                                p.client_secret = o.client_secret.clone();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn new_from_input(input: &Map<String, Value>) -> Result<Collection, Error> {
    let name = input
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = match input.get("type").and_then(Value::as_str).unwrap_or("base") {
        "base" => CollectionType::Base,
        "auth" => CollectionType::Auth,
        "view" => CollectionType::View,
        other => {
            return Err(Error::field(
                "Failed to create collection.",
                "type",
                FieldError::new(
                    "validation_in_invalid",
                    format!("Must be a valid value (base, auth or view), not '{other}'."),
                ),
            ))
        }
    };
    let mut c = match kind {
        CollectionType::Base => Collection::base(name),
        CollectionType::Auth => Collection::auth(name),
        CollectionType::View => Collection::view(name, ""),
    };
    c.id.clear();
    // The schema sent is the schema saved, as in PocketBase: no created/updated unless
    // sent (the dashboard's form adds them), the system fields the client did not send
    // kept: `id` first, the client's fields, then an auth collection's own.
    c.fields
        .retain(|f| !matches!(f.kind, FieldKind::Autodate(_)));
    let scaffold_fields = c.fields.clone();
    apply_input(&mut c, input, true)?;
    if kind != CollectionType::View && input.contains_key("fields") {
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        for f in scaffold_fields {
            if c.field(&f.name).is_none() {
                if f.name == "id" {
                    head.push(f);
                } else {
                    tail.push(f);
                }
            }
        }
        head.append(&mut c.fields);
        head.append(&mut tail);
        c.fields = head;
    }
    Ok(c)
}

/// `_collections` described as a collection, so its list accepts the filter language.
fn registry_collection() -> Collection {
    let text = |n: &str| Field::new(n, FieldKind::Text(TextField::default()));
    let mut c = Collection::base("_collections");
    c.fields = vec![
        crate::collections::model::id_field(),
        text("name"),
        text("type"),
        Field::new("system", FieldKind::Bool(Default::default())),
        text("created"),
        text("updated"),
    ];
    c
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
        let app = &ctx.app;
        let meta = registry_collection();
        let reg = Registry::new(vec![meta.clone()]);
        let scope = Scope {
            registry: &reg,
            collection: &meta,
            alias: MAIN,
            request: &ctx.info,
            dialect: app.dialect(),
            now: chrono::Utc::now(),
            client_filter: true,
        };
        let per_page = per_page.0.filter(|n| *n > 0).unwrap_or(30).min(1000);
        let page = page.0.unwrap_or(1).max(1);
        let mut q = SqlQuery::select();
        q.from_as(Alias::new("_collections"), Alias::new(MAIN))
            .column((Alias::new(MAIN), Alias::new("id")));
        if let Some(f) = filter.0.as_deref().filter(|f| !f.trim().is_empty()) {
            q.and_where(compile_filter(f, &scope)?.into_expr());
        }
        match sort.0.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                for (sql, order) in compile_sort(s, &scope)? {
                    q.order_by_expr(Expr::cust(sql), order);
                }
            }
            None => {
                q.order_by_expr(
                    Expr::cust(format!("\"{MAIN}\".\"created\"")),
                    sea_orm::sea_query::Order::Asc,
                );
            }
        }
        let d = app.dialect();
        let rows = app.db().query_all(d.build(&q)).await?;
        let reg = app.registry();
        let all: Vec<Value> = rows
            .iter()
            .filter_map(|r| r.string("id").ok())
            .filter_map(|id| reg.find(&id))
            .map(|c| c.to_json())
            .collect();
        let total = all.len() as i64;
        let items: Vec<Value> = all
            .into_iter()
            .skip((page - 1).saturating_mul(per_page) as usize)
            .take(per_page as usize)
            .collect();
        let skip = skip_total
            .0
            .as_deref()
            .is_some_and(|s| s == "1" || s == "true");
        let (ti, tp) = if skip {
            (-1, -1)
        } else {
            (total, (total + per_page as i64 - 1) / per_page as i64)
        };
        let body = json!({"page": page, "perPage": per_page, "totalItems": ti, "totalPages": tp, "items": items});
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
        let c = new_from_input(&super::body_object(body.0.value)?)?;
        let saved = store::create(&ctx.app, c).await?;
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
        let blank = |mut c: Collection| {
            c.id.clear();
            c.fields
                .retain(|f| !matches!(f.kind, FieldKind::Autodate(_)));
            c.to_json()
        };
        Ok(described(json!({
            "base": blank(Collection::base("")),
            "auth": blank(Collection::auth("")),
            "view": blank(Collection::view("", "")),
        })))
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
        let body = Json(super::body_object(body.0.value)?);
        let invalid = |m: &str| {
            Error::field(
                "Failed to import collections.",
                "collections",
                FieldError::new("validation_collections_import_failure", m),
            )
        };
        let list = body
            .0
            .get("collections")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("A list of collections is required."))?;
        let delete_missing = match body.0.get("deleteMissing") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("deleteMissing must be true or false.").into()),
        };
        let mut parsed = Vec::new();
        for item in list {
            let obj = item
                .as_object()
                .ok_or_else(|| invalid("Each collection must be an object."))?;
            let existing = obj
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| ctx.app.registry().find(id))
                .or_else(|| {
                    obj.get("name")
                        .and_then(Value::as_str)
                        .and_then(|n| ctx.app.registry().find(n))
                });
            let c = match existing {
                Some(e) => {
                    let mut c = (*e).clone();
                    apply_input(&mut c, obj, false)?;
                    c
                }
                None => new_from_input(obj)?,
            };
            parsed.push(c);
        }
        store::import(&ctx.app, parsed, delete_missing).await?;
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
        let existing = ctx
            .app
            .registry()
            .find(&collection.0)
            .ok_or_else(Error::not_found)?;
        let mut c = (*existing).clone();
        let body = Json(super::body_object(body.0.value)?);
        if let Some(t) = body.0.get("type").and_then(Value::as_str) {
            if t != c.kind.as_str() {
                return Err(ApiError(Error::field(
                    "Failed to update collection.",
                    "type",
                    FieldError::new(
                        "validation_collection_type_change",
                        "The collection type cannot be changed.",
                    ),
                )));
            }
        }
        apply_input(&mut c, &body.0, false)?;
        let saved = store::update(&ctx.app, c).await?;
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
