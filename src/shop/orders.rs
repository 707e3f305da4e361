//! Orders: a product with options checked against Gelato's live list, one of the
//! buyer's own designs, a checked shipping address, and a price quoted and locked for
//! `shop.quoteMinutes` as an amount of satoshis no other order has (so a payment names
//! its order). Every status change is recorded with its time and told to the buyer: an
//! agent in its inbox, a human by e-mail.

use super::address::Address;
use super::buyer::Buyer;
use super::catalogue::{self, Product};
use super::designs;
use crate::inbox::{send_inbox_message, MessageType};
use crate::skills::named_set;
use framework::collections::FieldError;
use framework::records::{format_datetime, Record, RecordFields};
use framework::{App, Error, Result};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub(crate) const ORDERS: &str = "orders";
/// The outbox of paid orders, handed to Gelato in the background.
pub(crate) const FULFILMENT_JOBS: &str = "fulfilment_jobs";

named_set!(
    /// Where an order stands.
    OrderStatus, "status" {
        AwaitingPayment => "awaiting_payment", Paid => "paid", Submitted => "submitted",
        Shipped => "shipped", Delivered => "delivered", Failed => "failed",
    }
);

/// At most this many satoshis (below a US cent at most rates) are added to an order's
/// price to make its amount its own.
const AMOUNT_SPREAD: i64 = 10_000;
/// Tries at a free amount before giving up.
const AMOUNT_TRIES: usize = 8;

/// What `place-product-order` asks for.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub product_id: String,
    pub options: BTreeMap<String, String>,
    pub design_id: String,
    pub address: Address,
}

fn product_of(id: &str) -> Result<&'static Product> {
    catalogue::product(id).ok_or_else(|| {
        let known: Vec<&str> = catalogue::PRODUCTS.iter().map(|p| p.id).collect();
        Error::field(
            format!("No product is called {id:?}."),
            "product_id",
            FieldError::new(
                "validation_invalid_value",
                format!("One of: {}.", known.join(", ")),
            ),
        )
    })
}

/// Checks `chosen` against the live options: every option given, each a value Gelato
/// has now, nothing else.
async fn check_options(
    app: &App,
    product: &'static Product,
    chosen: &BTreeMap<String, String>,
) -> Result<()> {
    let live = super::options(app, product).await?;
    let mut errors = Vec::new();
    for (option, values) in &live {
        match chosen.get(option) {
            None => errors.push((format!("options.{option}"), FieldError::required())),
            Some(v) if !values.contains(v) => errors.push((
                format!("options.{option}"),
                FieldError::new(
                    "validation_invalid_value",
                    format!("{v:?} is not one of: {}.", values.join(", ")),
                ),
            )),
            Some(_) => {}
        }
    }
    for option in chosen.keys().filter(|k| !live.iter().any(|(o, _)| o == *k)) {
        let names: Vec<&str> = live.iter().map(|(o, _)| o.as_str()).collect();
        errors.push((
            format!("options.{option}"),
            FieldError::new(
                "validation_unknown_option",
                format!(
                    "{} has no option {option:?}; its options: {}.",
                    product.id,
                    names.join(", ")
                ),
            ),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields("Invalid options.", errors))
    }
}

/// One entry of an order's history.
pub fn transition(status: OrderStatus, note: &str) -> Value {
    json!({"status": status.as_str(), "at": format_datetime(chrono::Utc::now()), "note": note})
}

/// `order`'s history with `entry` added.
pub fn with_transition(order: &Record, entry: Value) -> Value {
    let mut all = order
        .get("transitions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    all.push(entry);
    Value::Array(all)
}

/// Places an order for `buyer`: checked, priced, and waiting for its payment.
pub async fn place(app: &App, buyer: &Buyer, new: NewOrder) -> Result<Record> {
    let product = product_of(&new.product_id)?;
    let shop = crate::state(app)?.settings.get(app).await.shop.clone();
    if shop.bch_address.trim().is_empty() {
        return Err(Error::ServiceUnavailable(
            "The shop takes no orders yet: a superuser sets shop.bchAddress in PATCH /api/gather/settings.".into(),
        ));
    }
    let address = new.address.checked()?;
    let design = designs::owned(app, buyer, &new.design_id).await?;
    check_options(app, product, &new.options).await?;
    let uid = super::variant(app, product, &new.options).await?;
    if uid.is_empty() {
        return Err(Error::field(
            "Gelato has no variant with these options right now.",
            "options",
            FieldError::new(
                "validation_unavailable",
                "Pick other values from GET /api/products/{product_id}/options.",
            ),
        ));
    }
    let country = address["country"].as_str().unwrap_or_default().to_string();
    let price = super::price_sats(app, &uid, &country).await?;
    let (_, design_url) = designs::urls(app, &design);
    let now = chrono::Utc::now();
    let minutes = i64::try_from(shop.quote_minutes).unwrap_or(30);
    let expires = now + chrono::Duration::minutes(minutes);
    let payment_address = shop.bch_address.trim().to_string();
    let mut order = json!({
        buyer.owner_field(): buyer.id(),
        "order_type": "product",
        "status": OrderStatus::AwaitingPayment.as_str(),
        "product_id": product.id,
        "product_options": new.options,
        "shipping_address": address,
        "design": design.id(),
        "design_url": design_url,
        "gelato_product_uid": uid,
        "price_sats": price,
        "payment_address": payment_address,
        "quote_expires": format_datetime(expires),
        "paid": false,
        "transitions": [transition(OrderStatus::AwaitingPayment, "quoted")],
    });
    let mut placed = None;
    for _ in 0..AMOUNT_TRIES {
        let total = price + rand::thread_rng().gen_range(1..AMOUNT_SPREAD);
        order["total_sats"] = json!(total);
        order["total_bch"] = json!(super::money::bch_text(total, 8));
        match app.create_record(ORDERS, order.clone()).await {
            Ok(r) => {
                placed = Some(r);
                break;
            }
            // Another order has this amount to this address: draw again.
            Err(Error::Validation { fields, .. }) if fields.contains_key("total_sats") => continue,
            Err(e) => return Err(e),
        }
    }
    let placed = placed.ok_or_else(|| {
        Error::ServiceUnavailable(
            "No free payment amount was found for this price; try again.".into(),
        )
    })?;
    let body = format!(
        "Your {} order {} is placed. Pay exactly {} BCH ({} satoshis) to {} by {}, then send the transaction id to PUT /api/order/{}/payment.",
        product.name,
        placed.id(),
        placed.get_str("total_bch"),
        placed.get_i64("total_sats"),
        payment_address,
        placed.get_str("quote_expires"),
        placed.id()
    );
    tell(app, &placed, "Order placed", &body).await;
    Ok(placed)
}

/// Tells the buyer about its order: an agent in its inbox, a human by e-mail when the
/// server sends e-mail (a failure to tell is logged, never the order's).
pub(crate) async fn tell(app: &App, order: &Record, subject: &str, body: &str) {
    let agent = order.get_str("agent");
    if agent.is_empty() {
        // SMTP can be slow: the answer does not wait for it.
        let (app, order) = (app.clone(), order.clone());
        let subject = subject.to_string();
        tokio::spawn(async move {
            if let Err(e) = e_mail(&app, &order, &subject).await {
                tracing::warn!(order = order.id(), error = %e, "cannot e-mail the buyer about its order");
            }
        });
        return;
    }
    let reference = Some(("order", order.id()));
    let told = send_inbox_message(
        app,
        agent,
        MessageType::OrderUpdate,
        subject,
        body,
        reference,
    );
    if let Err(e) = told.await {
        tracing::warn!(order = order.id(), error = %e, "cannot tell the agent about its order");
    }
}

/// Order news for a human, with a link to the order's page.
async fn e_mail(app: &App, order: &Record, subject: &str) -> Result<()> {
    let settings = app.settings();
    if !settings.smtp.enabled {
        return Ok(());
    }
    let Some(human) = app
        .find_record(crate::accounts::USERS, order.get_str("user"))
        .await?
    else {
        return Ok(());
    };
    let page = format!(
        "{}/shop/orders/{}",
        settings.meta.app_url.trim_end_matches('/'),
        order.id()
    );
    // The agents' text names API routes; a person gets the page that shows it all.
    let line = format!(
        "{subject}: your {} order {}. Its page shows where it stands and what comes next.",
        order.get_str("product_id"),
        order.id()
    );
    let mail = framework::mail::Mail {
        to: human.get_str("email").to_string(),
        subject: format!("{}: {subject}", settings.meta.app_name),
        html: format!(
            "<p>{}</p><p><a href=\"{page}\">See the order</a></p>",
            framework::mail::escape_html(&line)
        ),
        text: format!("{line}\n\n{page}\n"),
    };
    framework::mail::send(&settings, &mail)
        .await
        .map_err(|e| Error::ServiceUnavailable(format!("cannot send the e-mail: {e}")))
}

/// The order `id` if `buyer` placed it; a 404 otherwise (whether it exists or not).
pub async fn own(app: &App, buyer: &Buyer, id: &str) -> Result<Record> {
    super::owned::find_own(app, ORDERS, buyer, id, "order", "GET /api/orders").await
}

/// The buyer's orders, newest first, and how many there are.
pub async fn list(app: &App, buyer: &Buyer, limit: u64, offset: u64) -> Result<(Vec<Record>, i64)> {
    super::owned::list_own(app, ORDERS, buyer, limit, offset).await
}
