//! Gelato's webhook (`order_status_updated`): Gelato says an order shipped (with its
//! tracking URL), was delivered, or was cancelled; the order moves on and the agent is
//! told. Calls must carry the shared secret of the settings, compared in constant time.

use super::orders::{self, OrderStatus, ORDERS};
use crate::agent_auth::PerIp;
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::{Record, RecordFields};
use framework::{App, Error, Result};
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;
use subtle::ConstantTimeEq;

#[derive(Default)]
pub struct GelatoWebhookApi;

/// A shipment of the order's items.
#[derive(Object, Debug, Clone)]
struct GelatoFulfillment {
    #[oai(rename = "trackingCode")]
    tracking_code: Option<String>,
    #[oai(rename = "trackingUrl")]
    tracking_url: Option<String>,
}

#[derive(Object, Debug, Clone)]
struct GelatoItem {
    fulfillments: Option<Vec<GelatoFulfillment>>,
}

/// What Gelato posts when an order's status changes.
#[derive(Object, Debug, Clone)]
struct GelatoEvent {
    /// `order_status_updated`
    #[oai(validator(max_length = 100))]
    event: String,
    /// Gelato's id of the order.
    #[oai(rename = "orderId", validator(max_length = 100))]
    order_id: Option<String>,
    /// Gather's order id.
    #[oai(rename = "orderReferenceId", validator(max_length = 100))]
    order_reference_id: String,
    /// `shipped`, `delivered`, `canceled`, ... (others are noted and change nothing).
    #[oai(rename = "fulfillmentStatus", validator(max_length = 100))]
    fulfillment_status: String,
    items: Option<Vec<GelatoItem>>,
}

#[derive(Object)]
struct WebhookDone {
    order_id: String,
    status: String,
    /// False when the event changed nothing (a status the order has or has passed).
    changed: bool,
}

/// Where Gelato's status leads, if anywhere.
fn next_status(gelato: &str) -> Option<OrderStatus> {
    match gelato.to_ascii_lowercase().as_str() {
        "shipped" => Some(OrderStatus::Shipped),
        "delivered" => Some(OrderStatus::Delivered),
        "canceled" | "cancelled" | "failed" | "returned" => Some(OrderStatus::Failed),
        _ => None,
    }
}

/// How far along a status is; an order never moves back.
fn rank(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::AwaitingPayment => 0,
        OrderStatus::Paid => 1,
        OrderStatus::Submitted => 2,
        OrderStatus::Shipped => 3,
        // Both are ends.
        OrderStatus::Delivered | OrderStatus::Failed => 4,
    }
}

/// Checks `given` against the configured secret in constant time.
async fn check_secret(app: &App, given: &str) -> Result<()> {
    let secret = crate::state(app)?
        .settings
        .get(app)
        .await
        .shop
        .gelato_webhook_secret
        .clone();
    if secret.is_empty() {
        return Err(Error::ServiceUnavailable(
            "The Gelato webhook is off: a superuser sets shop.gelatoWebhookSecret in PATCH /api/gather/settings.".into(),
        ));
    }
    if bool::from(secret.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(Error::Unauthorized(
            "Wrong or missing webhook secret.".into(),
        ))
    }
}

/// Records what the event says of the order; returns it and whether it changed.
async fn apply(app: &App, event: &GelatoEvent) -> Result<(Record, bool)> {
    let missing = || Error::NotFound("No order has this orderReferenceId.".into());
    if !framework::collections::is_valid_record_id(&event.order_reference_id) {
        return Err(missing());
    }
    let order = app
        .find_record(ORDERS, &event.order_reference_id)
        .await?
        .ok_or_else(missing)?;
    let ours = order.get_str("gelato_order_id");
    if let Some(theirs) = &event.order_id {
        if !ours.is_empty() && ours != theirs {
            return Err(Error::BadRequest(
                "orderId is not this order's Gelato order.".into(),
            ));
        }
    }
    let Some(next) = next_status(&event.fulfillment_status) else {
        return Ok((order, false));
    };
    let now = OrderStatus::parse(order.get_str("status")).unwrap_or(OrderStatus::Failed);
    if rank(next) <= rank(now) {
        return Ok((order, false));
    }
    let tracking = event
        .items
        .iter()
        .flatten()
        .flat_map(|i| i.fulfillments.iter().flatten())
        .find_map(|f| {
            f.tracking_url
                .clone()
                .filter(|u| url::Url::parse(u).is_ok())
        });
    let note = tracking
        .clone()
        .unwrap_or_else(|| event.fulfillment_status.clone());
    let mut patch = json!({
        "status": next.as_str(),
        "transitions": orders::with_transition(&order, orders::transition(next, &note)),
    });
    if let Some(url) = &tracking {
        patch["tracking_url"] = json!(url);
    }
    if next == OrderStatus::Failed {
        patch["failure_reason"] = json!(format!("Gelato: {}", event.fulfillment_status));
    }
    let updated = app.update_record(ORDERS, order.id(), patch).await?;
    let (subject, body) = match next {
        OrderStatus::Shipped => (
            "Order shipped",
            format!(
                "Order {} has shipped.{}",
                order.id(),
                tracking
                    .map(|u| format!(" Track it at {u}."))
                    .unwrap_or_default()
            ),
        ),
        OrderStatus::Delivered => (
            "Order delivered",
            format!("Order {} was delivered.", order.id()),
        ),
        _ => (
            "Order failed",
            format!(
                "Gelato reports order {} as {}. The operators will put it right.",
                order.id(),
                event.fulfillment_status
            ),
        ),
    };
    orders::tell(app, &updated, subject, &body).await;
    Ok((updated, true))
}

#[OpenApi(tag = "GatherTags::Webhooks")]
impl GelatoWebhookApi {
    /// Gelato's order status updates (for Gelato only: the shared secret in
    /// `X-Webhook-Secret` or `?secret=`).
    #[oai(
        path = "/api/shop/gelato/webhook",
        method = "post",
        operation_id = "gelato-webhook"
    )]
    async fn webhook(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        #[oai(name = "X-Webhook-Secret")] header: Header<Option<String>>,
        secret: Query<Option<String>>,
        body: Json<GelatoEvent>,
    ) -> ApiResult<Json<WebhookDone>> {
        let given = header.0.or(secret.0).unwrap_or_default();
        check_secret(&ctx.app, &given).await?;
        let (order, changed) = apply(&ctx.app, &body.0).await?;
        Ok(Json(WebhookDone {
            order_id: order.id().to_string(),
            status: order.get_str("status").to_string(),
            changed,
        }))
    }
}
