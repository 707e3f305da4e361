//! A skill's review stats, from its complete reviews: how many, the average score and the
//! average security score (of the reviews that gave one).

use super::{ReviewStatus, REVIEWS};
use crate::skills::SKILLS;
use crate::state;
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Result};
use serde_json::json;

/// Recomputes the stats of skill `id` from its stored reviews and returns the skill.
///
/// Recomputing from the rows (never adding to a stored count) makes the result right
/// whatever ran before; the lock keeps two recomputes on this instance from writing out
/// of order. Across instances the rankings work makes this one set-based update.
pub async fn refresh(app: &App, id: &str) -> Result<Record> {
    let g = state(app)?;
    let _one_at_a_time = g.stats_lock.lock().await;
    let complete = RecordQuery::filter("skill = {:skill} && status = {:status} && score > 0")
        .bind("skill", id)
        .bind("status", ReviewStatus::Complete.as_str());
    let reviews = app.find_records(REVIEWS, &complete).await?;
    let n = reviews.len();
    let mean = |values: Vec<f64>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    let avg = mean(reviews.iter().map(|r| r.get_f64("score")).collect());
    let security = mean(
        reviews
            .iter()
            .map(|r| r.get_f64("security_score"))
            .filter(|s| *s > 0.0)
            .collect(),
    );
    let patch = json!({"review_count": n, "avg_score": avg, "avg_security_score": security});
    app.update_record(SKILLS, id, patch).await
}
