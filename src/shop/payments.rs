//! Paying an order (`submit-payment`): the transaction must be on the chain with enough
//! confirmations, newer than the order, and pay the order's own amount, exactly, to the
//! address the order was quoted with. Recording it and queueing the order for Gelato
//! happen in one transaction, where unique indexes decide races: one transaction pays
//! one order, and an order is paid once.

use super::buyer::Buyer;
use super::orders::{self, OrderStatus, FULFILMENT_JOBS, ORDERS};
use super::upstreams::blockchair::{self, BlockchairHttp, Chain, Transaction};
use framework::records::{parse_datetime, Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::json;

/// Why `tx` cannot pay `order` (a 402 that says so), if it cannot. A payment made after
/// the quote expired is re-priced: it counts if it covers today's price.
async fn check(app: &App, order: &Record, tx: &Transaction, needed: u32) -> Result<()> {
    let created = parse_datetime(order.get_str("created"))
        .ok_or_else(|| Error::internal("an order without a creation time"))?;
    // Blockchair gives whole seconds.
    if tx.time < created - chrono::Duration::seconds(1) {
        return Err(Error::PaymentRequired(format!(
            "The transaction is from {}, before this order was placed ({}): it cannot be its payment.",
            tx.time.format("%Y-%m-%d %H:%M:%S UTC"),
            order.get_str("created")
        )));
    }
    let address = blockchair::plain_address(order.get_str("payment_address"));
    let paid: i64 = tx
        .outputs
        .iter()
        .filter(|(to, _)| *to == address)
        .map(|(_, sats)| *sats)
        .sum();
    let due = order.get_i64("total_sats");
    if paid == 0 {
        return Err(Error::PaymentRequired(format!(
            "The transaction pays nothing to {}.",
            order.get_str("payment_address")
        )));
    }
    if paid != due {
        return Err(Error::PaymentRequired(format!(
            "The transaction pays {paid} satoshis to the shop; this order's amount is exactly {due} satoshis ({} BCH). A different amount cannot be told apart from another order's payment: ask the operators.",
            order.get_str("total_bch")
        )));
    }
    if tx.confirmations < i64::from(needed) {
        return Err(Error::PaymentRequired(format!(
            "The transaction has {} of the {needed} confirmations a payment needs: send it again once it has them.",
            tx.confirmations
        )));
    }
    let expires = parse_datetime(order.get_str("quote_expires"))
        .ok_or_else(|| Error::internal("an order without a quote expiry"))?;
    if tx.time > expires {
        // Paid after the quote ran out: it counts if it still covers today's price.
        let now = super::price_sats(
            app,
            order.get_str("gelato_product_uid"),
            order
                .get("shipping_address")
                .and_then(|a| a["country"].as_str())
                .unwrap_or_default(),
        )
        .await?;
        if due < now {
            return Err(Error::PaymentRequired(format!(
                "The quote expired at {} and the payment came after it; the price is now {now} satoshis, more than the {due} paid. Ask the operators.",
                order.get_str("quote_expires")
            )));
        }
    }
    Ok(())
}

/// Records `tx_id` as the payment of `buyer`'s order `order_id` and queues it for Gelato.
pub async fn pay(app: &App, buyer: &Buyer, order_id: &str, tx_id: &str) -> Result<Record> {
    let tx_id = tx_id.trim();
    blockchair::check_tx_id(tx_id)?;
    let order = orders::own(app, buyer, order_id).await?;
    if order.get_str("status") != OrderStatus::AwaitingPayment.as_str() {
        return Err(Error::Conflict(format!(
            "This order is {} already (paid with {}).",
            order.get_str("status"),
            order.get_str("tx_id")
        )));
    }
    // Spares a Blockchair call for a transaction used already; the unique index on
    // `tx_id` decides all the same.
    let used = RecordQuery::filter("tx_id = {:tx}").bind("tx", tx_id);
    if app.find_first(ORDERS, &used).await?.is_some() {
        return Err(used_elsewhere());
    }
    let needed = crate::state(app)?
        .settings
        .get(app)
        .await
        .shop
        .confirmations;
    let chain = BlockchairHttp::from_settings(app).await?;
    let tx = chain.transaction(tx_id).await?.ok_or_else(|| {
        Error::PaymentRequired(
            "The chain does not know this transaction: send it again once it is broadcast.".into(),
        )
    })?;
    check(app, &order, &tx, needed).await?;
    let paid = json!({
        "tx_id": tx_id,
        "paid": true,
        "status": OrderStatus::Paid.as_str(),
        "transitions": orders::with_transition(&order, orders::transition(OrderStatus::Paid, tx_id)),
    });
    let job = json!({
        "order": order.id(), "status": "pending", "attempts": 0,
        "next_attempt": framework::records::format_datetime(chrono::Utc::now()),
    });
    let written = app
        .run_in_transaction(|t| {
            t.update(ORDERS, order.id(), paid);
            t.create(FULFILMENT_JOBS, job);
            Ok(())
        })
        .await;
    let mut written = match written {
        Ok(w) => w,
        Err(Error::Batch { error, .. }) => {
            return Err(match *error {
                Error::Validation { fields, .. } if fields.contains_key("tx_id") => {
                    used_elsewhere()
                }
                // The outbox has one job per order: this order was paid meanwhile.
                Error::Validation { fields, .. } if fields.contains_key("order") => {
                    Error::Conflict("This order was paid meanwhile.".into())
                }
                other => other,
            });
        }
        Err(e) => return Err(e),
    };
    let updated = written
        .swap_remove(0)
        .ok_or_else(|| Error::internal("the order's update returned no record"))?;
    let body = format!(
        "Payment {tx_id} for order {} is confirmed. The order goes to print next; you will hear when it ships.",
        updated.id()
    );
    orders::tell(app, &updated, "Payment received", &body).await;
    Ok(updated)
}

fn used_elsewhere() -> Error {
    Error::Conflict("This transaction has paid an order already.".into())
}
