//! `/api/menu` and `/api/products`: what the shop sells, priced in BCH, and each
//! product's live options.

use super::catalogue::{self, CATEGORY, CATEGORY_NAME, ITEMS_PER_PAGE, PRODUCTS};
use super::money;
use crate::agent_auth::PerIp;
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::Error;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::collections::BTreeMap;

#[derive(Default)]
pub struct ShopApi;

#[derive(Object)]
struct MenuCategory {
    id: String,
    name: String,
    /// Items in the category.
    count: usize,
    href: String,
}

#[derive(Object)]
struct Menu {
    categories: Vec<MenuCategory>,
}

/// A product on the menu, priced for its reference variant shipped to the US.
#[derive(Object)]
struct MenuItem {
    /// `t-shirt`, `mug` or `framed-print`.
    id: String,
    /// `<Name> — <Description>`
    name: String,
    /// False when the shop is not set up or the product could not be priced now.
    available: bool,
    /// BCH with 6 decimals, rounded up (`"0.000000"` when unavailable).
    base_price_bch: String,
    /// The same in satoshis, exactly (0 when unavailable).
    base_price_sats: i64,
}

#[derive(Object)]
struct MenuPage {
    category: String,
    items: Vec<MenuItem>,
    page: usize,
    total_pages: usize,
    /// The next page's URL, or null on the last.
    next: Option<String>,
}

#[derive(Object)]
struct ProductOptions {
    product_id: String,
    product_name: String,
    /// Each option and the values Gelato has for it now (sizes smallest first, the
    /// rest alphabetically): an order picks one value of each.
    options: BTreeMap<String, Vec<String>>,
}

fn unknown_product(id: &str) -> Error {
    let known: Vec<&str> = PRODUCTS.iter().map(|p| p.id).collect();
    Error::NotFound(format!(
        "No product is called {id:?}: the shop has {}.",
        known.join(", ")
    ))
}

#[OpenApi(tag = "GatherTags::Shop")]
impl ShopApi {
    /// The menu's categories.
    #[oai(path = "/api/menu", method = "get", operation_id = "list-menu")]
    async fn menu(&self, _limit: PerIp) -> Json<Menu> {
        Json(Menu {
            categories: vec![MenuCategory {
                id: CATEGORY.into(),
                name: CATEGORY_NAME.into(),
                count: PRODUCTS.len(),
                href: format!("/api/menu/{CATEGORY}"),
            }],
        })
    }

    /// A category's items with their prices in BCH (five to a page).
    #[oai(
        path = "/api/menu/:category",
        method = "get",
        operation_id = "list-category-items"
    )]
    async fn category(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        category: Path<String>,
        /// From 1 (default 1); past the last page, the last page.
        #[oai(validator(minimum(value = "1")))]
        page: Query<Option<u64>>,
    ) -> ApiResult<Json<MenuPage>> {
        if category.0 != CATEGORY {
            return Err(Error::NotFound(format!(
                "No menu category is called {:?}: GET /api/menu lists them.",
                category.0
            ))
            .into());
        }
        let items = super::menu(&ctx.app).await?;
        let total_pages = items.len().div_ceil(ITEMS_PER_PAGE).max(1);
        let page = usize::try_from(page.0.unwrap_or(1))
            .unwrap_or(usize::MAX)
            .clamp(1, total_pages);
        let items = items
            .into_iter()
            .skip((page - 1) * ITEMS_PER_PAGE)
            .take(ITEMS_PER_PAGE)
            .map(|i| MenuItem {
                id: i.product.id.into(),
                name: i.product.display_name(),
                available: i.price_sats.is_some(),
                base_price_bch: money::bch_text(i.price_sats.unwrap_or(0), 6),
                base_price_sats: i.price_sats.unwrap_or(0),
            })
            .collect();
        Ok(Json(MenuPage {
            category: CATEGORY.into(),
            items,
            page,
            total_pages,
            next: (page < total_pages).then(|| format!("/api/menu/{CATEGORY}?page={}", page + 1)),
        }))
    }

    /// A product's options as Gelato has them now (503 when the shop is not set up or
    /// Gelato fails).
    #[oai(
        path = "/api/products/:product_id/options",
        method = "get",
        operation_id = "product-options"
    )]
    async fn options(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        product_id: Path<String>,
    ) -> ApiResult<Json<ProductOptions>> {
        let product =
            catalogue::product(&product_id.0).ok_or_else(|| unknown_product(&product_id.0))?;
        let options = super::options(&ctx.app, product).await?;
        Ok(Json(ProductOptions {
            product_id: product.id.into(),
            product_name: product.display_name(),
            options: options.into_iter().collect(),
        }))
    }
}
