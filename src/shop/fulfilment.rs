//! Fulfilment: a paid order reaches Gelato through an outbox (`fulfilment_jobs`, one job
//! per order, written in the payment's own transaction), worked in the background by
//! every instance and retried with backoff, so an outage delays an order instead of
//! losing it. Each attempt is claimed by a row in `fulfilment_attempts`, unique per job
//! and attempt, so two instances never send one order at once.

use super::orders::{self, OrderStatus, FULFILMENT_JOBS, ORDERS};
use super::upstreams::gelato::{GelatoHttp, OrderRefused, Orders};
use framework::records::{format_datetime, parse_datetime, Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const FULFILMENT_ATTEMPTS: &str = "fulfilment_attempts";
/// How often each instance looks for due jobs.
pub const POLL: Duration = Duration::from_secs(2);
/// Attempts before an order is given up as failed.
pub const MAX_ATTEMPTS: i64 = 12;
/// A claimed attempt that never finished (its instance stopped) is skipped after this.
const LEASE: Duration = Duration::from_secs(600);

/// How long to wait after `attempts` failed attempts: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    Duration::from_secs((30u64 << exp).min(3600))
}

/// Works the outbox of `app` in the background, every [`POLL`], for as long as it runs.
pub fn start(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_due(&app).await {
                tracing::warn!(error = %e, "the fulfilment outbox could not be worked");
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// Attempts every job that is due; returns how many this instance attempted.
pub async fn run_due(app: &App) -> Result<usize> {
    let due = RecordQuery::filter("status = {:pending} && next_attempt <= {:now}")
        .bind("pending", "pending")
        .bind("now", format_datetime(chrono::Utc::now()))
        .sort("created")
        .limit(10);
    let mut attempted = 0;
    for job in app.find_records(FULFILMENT_JOBS, &due).await? {
        if claim(app, &job).await? {
            attempt(app, &job).await?;
            attempted += 1;
        }
    }
    Ok(attempted)
}

/// Claims the job's next attempt for this instance; false when another has it.
async fn claim(app: &App, job: &Record) -> Result<bool> {
    let n = job.get_i64("attempts") + 1;
    match app
        .create_record(FULFILMENT_ATTEMPTS, json!({"job": job.id(), "attempt": n}))
        .await
    {
        Ok(_) => Ok(true),
        Err(Error::Validation { fields, .. }) if fields.contains_key("attempt") => {
            // Taken. If its instance stopped before it finished, move past it.
            let q = RecordQuery::filter("job = {:job} && attempt = {:n}")
                .bind("job", job.id())
                .bind("n", n);
            let stale = app
                .find_first(FULFILMENT_ATTEMPTS, &q)
                .await?
                .is_some_and(|c| {
                    parse_datetime(c.get_str("created")).is_some_and(|at| {
                        chrono::Utc::now() - at
                            > chrono::Duration::from_std(LEASE).unwrap_or_default()
                    })
                });
            if stale {
                let skip =
                    json!({"attempts": n, "last_error": "an earlier attempt did not finish"});
                app.update_record(FULFILMENT_JOBS, job.id(), skip).await?;
            }
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Gelato's order for `order` (contract §8.4).
pub fn gelato_order(order: &Record) -> Value {
    let id = order.id();
    json!({
        "orderType": "order",
        "orderReferenceId": id,
        "customerReferenceId": id,
        "currency": "USD",
        "items": [{
            "itemReferenceId": format!("{id}-item-1"),
            "productUid": order.get_str("gelato_product_uid"),
            "files": [{"type": "default", "url": order.get_str("design_url")}],
            "quantity": 1,
        }],
        "shippingAddress": order.get("shipping_address").cloned().unwrap_or(json!({})),
    })
}

async fn attempt(app: &App, job: &Record) -> Result<()> {
    let n = job.get_i64("attempts") + 1;
    let order = app
        .find_record(ORDERS, job.get_str("order"))
        .await?
        .ok_or_else(|| Error::internal("a fulfilment job without its order"))?;
    let sent = match GelatoHttp::from_settings(app).await {
        Ok(gelato) => gelato.create_order(&gelato_order(&order)).await,
        Err(e) => Err(OrderRefused::ForNow(e.to_string())),
    };
    match sent {
        Ok(gelato_id) => {
            let submitted = json!({
                "gelato_order_id": gelato_id,
                "status": OrderStatus::Submitted.as_str(),
                "transitions": orders::with_transition(&order, orders::transition(OrderStatus::Submitted, &gelato_id)),
            });
            let done = json!({"status": "done", "attempts": n, "last_error": ""});
            write(app, &order, submitted, job, done).await?;
            let body = format!("Order {} is with Gelato (their order {gelato_id}): it is printed next, and you will hear when it ships.", order.id());
            orders::tell(app, &order, "Order sent to print", &body).await;
        }
        Err(OrderRefused::ForNow(why)) if n < MAX_ATTEMPTS => {
            let wait = chrono::Duration::from_std(backoff(n)).unwrap_or_default();
            let later = json!({
                "attempts": n,
                "next_attempt": format_datetime(chrono::Utc::now() + wait),
                "last_error": why,
            });
            app.update_record(FULFILMENT_JOBS, job.id(), later).await?;
            tracing::warn!(order = order.id(), attempt = n, error = %why, "Gelato did not take an order; trying again later");
        }
        Err(OrderRefused::ForNow(why) | OrderRefused::ForGood(why)) => {
            let failed = json!({
                "status": OrderStatus::Failed.as_str(),
                "failure_reason": why,
                "transitions": orders::with_transition(&order, orders::transition(OrderStatus::Failed, &why)),
            });
            let given_up = json!({"status": "failed", "attempts": n, "last_error": why});
            write(app, &order, failed, job, given_up).await?;
            let body = format!("Order {} could not be placed with Gelato ({why}). It is paid: the operators will put it right.", order.id());
            orders::tell(app, &order, "Order failed", &body).await;
        }
    }
    Ok(())
}

/// The order's and the job's new state, together.
async fn write(
    app: &App,
    order: &Record,
    order_patch: Value,
    job: &Record,
    job_patch: Value,
) -> Result<()> {
    app.run_in_transaction(|tx| {
        tx.update(ORDERS, order.id(), order_patch);
        tx.update(FULFILMENT_JOBS, job.id(), job_patch);
        Ok(())
    })
    .await
    .map(|_| ())
    .map_err(|e| match e {
        Error::Batch { error, .. } => *error,
        e => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
