//! `/api/order` and `/api/orders`: place an order, pay it, and follow it.

use super::address::Address;
use super::buyer::BuyerAuth;
use super::orders::{NewOrder, OrderStatus};
use crate::agent_auth::PerIp;
use crate::skills::api::text;
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::{Record, RecordFields};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct OrdersApi;

/// Where to ship (HTML tags are stripped).
#[derive(Object)]
struct ShippingAddress {
    #[oai(validator(min_length = 1, max_length = 100))]
    first_name: String,
    #[oai(validator(min_length = 1, max_length = 100))]
    last_name: String,
    #[oai(validator(min_length = 1, max_length = 200))]
    address_line_1: String,
    #[oai(validator(max_length = 200))]
    address_line_2: Option<String>,
    #[oai(validator(min_length = 1, max_length = 100))]
    city: String,
    #[oai(validator(max_length = 100))]
    state: Option<String>,
    #[oai(validator(min_length = 1, max_length = 20))]
    post_code: String,
    /// An ISO 3166-1 alpha-2 code (`US`, `de`: upper-cased).
    #[oai(validator(min_length = 2, max_length = 2))]
    country: String,
    #[oai(validator(min_length = 3, max_length = 254))]
    email: String,
    #[oai(validator(max_length = 30))]
    phone: Option<String>,
}

#[derive(Object)]
struct OrderRequest {
    /// `t-shirt`, `mug` or `framed-print`.
    #[oai(validator(min_length = 1, max_length = 100))]
    product_id: String,
    /// One value for each of the product's options (`GET /api/products/{product_id}/options`).
    options: BTreeMap<String, String>,
    /// One of your designs (`POST /api/designs/upload`).
    #[oai(validator(min_length = 1, max_length = 15))]
    design_id: String,
    shipping_address: ShippingAddress,
}

#[derive(Object)]
struct OrderPlaced {
    order_id: String,
    /// `awaiting_payment`
    status: OrderStatus,
    /// Pay exactly this (8 decimals): the amount tells the order apart from every other.
    total_bch: String,
    total_sats: i64,
    /// Where to pay.
    payment_address: String,
    /// The price holds until then (RFC 3339-like, UTC).
    quote_expires_at: String,
    /// `/api/order/<id>`
    status_url: String,
}

#[derive(ApiResponse)]
enum OrderCreated {
    #[oai(status = 201)]
    Created(Json<OrderPlaced>),
}

#[derive(Object)]
struct PaymentRequest {
    /// The transaction that paid the order: 64 lowercase hex digits.
    #[oai(validator(min_length = 64, max_length = 64))]
    tx_id: String,
}

#[derive(Object)]
struct PaymentAccepted {
    order_id: String,
    /// `paid`
    status: OrderStatus,
    tx_id: String,
    total_bch: String,
}

/// A step of an order's history.
#[derive(Object, serde::Deserialize)]
struct OrderTransition {
    status: String,
    at: String,
    #[serde(default)]
    note: String,
}

/// An order and its history.
#[derive(Object)]
struct OrderDetail {
    order_id: String,
    status: String,
    /// `product`
    order_type: String,
    /// The agent that placed it, or empty when a human did.
    agent_id: String,
    /// The `users` record of the human that placed it, or empty when an agent did.
    user_id: String,
    product_id: String,
    product_options: BTreeMap<String, String>,
    design_id: String,
    /// The design's absolute URL, as Gelato fetches it.
    design_url: String,
    total_bch: String,
    total_sats: i64,
    payment_address: String,
    quote_expires_at: String,
    paid: bool,
    #[oai(skip_serializing_if_is_none)]
    tx_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    gelato_order_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    tracking_url: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    failure_reason: Option<String>,
    /// Each status the order took, with its time.
    transitions: Vec<OrderTransition>,
    created: String,
    updated: String,
}

impl From<&Record> for OrderDetail {
    fn from(r: &Record) -> Self {
        let json = |name: &str| r.get(name).cloned().unwrap_or(Value::Null);
        OrderDetail {
            order_id: r.id().to_string(),
            status: r.get_str("status").to_string(),
            order_type: r.get_str("order_type").to_string(),
            agent_id: r.get_str("agent").to_string(),
            user_id: r.get_str("user").to_string(),
            product_id: r.get_str("product_id").to_string(),
            product_options: serde_json::from_value(json("product_options")).unwrap_or_default(),
            design_id: r.get_str("design").to_string(),
            design_url: r.get_str("design_url").to_string(),
            total_bch: r.get_str("total_bch").to_string(),
            total_sats: r.get_i64("total_sats"),
            payment_address: r.get_str("payment_address").to_string(),
            quote_expires_at: r.get_str("quote_expires").to_string(),
            paid: r.get_bool("paid"),
            tx_id: text(r, "tx_id"),
            gelato_order_id: text(r, "gelato_order_id"),
            tracking_url: text(r, "tracking_url"),
            failure_reason: text(r, "failure_reason"),
            transitions: serde_json::from_value(json("transitions")).unwrap_or_default(),
            created: r.get_str("created").to_string(),
            updated: r.get_str("updated").to_string(),
        }
    }
}

#[derive(Object)]
struct OrderPage {
    orders: Vec<OrderDetail>,
    /// Your orders in all.
    total: i64,
    limit: u64,
    offset: u64,
}

#[OpenApi(tag = "GatherTags::Shop")]
impl OrdersApi {
    /// Order a product printed with one of your designs: the price is quoted in BCH and
    /// holds for `shop.quoteMinutes` (30 by default).
    #[oai(
        path = "/api/order/product",
        method = "post",
        operation_id = "place-product-order"
    )]
    async fn place(
        &self,
        ctx: Ctx,
        buyer: BuyerAuth,
        _limit: PerIp,
        body: Json<OrderRequest>,
    ) -> ApiResult<OrderCreated> {
        buyer.0.count_write(&ctx.app).await?;
        let b = body.0;
        let a = b.shipping_address;
        let new = NewOrder {
            product_id: b.product_id,
            options: b.options,
            design_id: b.design_id,
            address: Address {
                first_name: a.first_name,
                last_name: a.last_name,
                address_line_1: a.address_line_1,
                address_line_2: a.address_line_2.unwrap_or_default(),
                city: a.city,
                state: a.state.unwrap_or_default(),
                post_code: a.post_code,
                country: a.country,
                email: a.email,
                phone: a.phone.unwrap_or_default(),
            },
        };
        let order = super::orders::place(&ctx.app, &buyer.0, new).await?;
        Ok(OrderCreated::Created(Json(OrderPlaced {
            order_id: order.id().to_string(),
            status: OrderStatus::AwaitingPayment,
            total_bch: order.get_str("total_bch").to_string(),
            total_sats: order.get_i64("total_sats"),
            payment_address: order.get_str("payment_address").to_string(),
            quote_expires_at: order.get_str("quote_expires").to_string(),
            status_url: format!("/api/order/{}", order.id()),
        })))
    }

    /// Pay your order: the transaction must pay its amount, exactly, to its address,
    /// after it was placed, with `shop.confirmations` confirmations (402 until then; 409
    /// when the transaction paid another order or this order is paid).
    #[oai(
        path = "/api/order/:order_id/payment",
        method = "put",
        operation_id = "submit-payment"
    )]
    async fn pay(
        &self,
        ctx: Ctx,
        buyer: BuyerAuth,
        _limit: PerIp,
        order_id: Path<String>,
        body: Json<PaymentRequest>,
    ) -> ApiResult<Json<PaymentAccepted>> {
        buyer.0.count_write(&ctx.app).await?;
        let order = super::payments::pay(&ctx.app, &buyer.0, &order_id.0, &body.0.tx_id).await?;
        Ok(Json(PaymentAccepted {
            order_id: order.id().to_string(),
            status: OrderStatus::Paid,
            tx_id: order.get_str("tx_id").to_string(),
            total_bch: order.get_str("total_bch").to_string(),
        }))
    }

    /// One of your orders with its history (404 for anyone else's).
    #[oai(
        path = "/api/order/:order_id",
        method = "get",
        operation_id = "check-order"
    )]
    async fn check(
        &self,
        ctx: Ctx,
        buyer: BuyerAuth,
        _limit: PerIp,
        order_id: Path<String>,
    ) -> ApiResult<Json<OrderDetail>> {
        let order = super::orders::own(&ctx.app, &buyer.0, &order_id.0).await?;
        Ok(Json(OrderDetail::from(&order)))
    }

    /// Your orders, newest first.
    #[oai(path = "/api/orders", method = "get", operation_id = "list-orders")]
    async fn list(
        &self,
        ctx: Ctx,
        buyer: BuyerAuth,
        _limit: PerIp,
        /// 1-100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<OrderPage>> {
        let (limit, offset) = (limit.0.unwrap_or(20), offset.0.unwrap_or(0));
        let (orders, total) = super::orders::list(&ctx.app, &buyer.0, limit, offset).await?;
        Ok(Json(OrderPage {
            orders: orders.iter().map(OrderDetail::from).collect(),
            total,
            limit,
            offset,
        }))
    }
}
