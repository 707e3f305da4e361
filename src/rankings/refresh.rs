//! Keeping stats and ranks right: one write transaction per change recomputes the
//! skill's stats from its rows, then re-ranks, in one set-based statement, every skill
//! whose stored rank the new total of reviews moved by [`RANK_TOLERANCE`] or more.
//!
//! Recomputing from the rows (never adding to a stored count) makes the result right
//! whatever ran before. On PostgreSQL a transaction-scoped advisory lock puts these
//! transactions of every instance in one line, and each statement after it sees what
//! committed before (READ COMMITTED), so the last one to run counts every review: no
//! lost updates across instances. SQLite has one writer.

use super::{norm, parts, ReviewTotals, CHALLENGED_WEIGHT, RANK_TOLERANCE};
use crate::proofs::{ProofKind, PROOFS};
use crate::reviews::{ReviewStatus, REVIEWS};
use crate::skills::SKILLS;
use framework::db::{quote, Dialect, Row, SqlValue as Value, WriteTx};
use framework::hooks::HookPoint;
use framework::records::RecordFields;
use framework::{App, Error, Result};

/// The advisory lock key of stats and rank updates ("ranks" in ASCII).
const RANK_LOCK_KEY: i64 = 0x72_616e_6b73;

/// What one refresh changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refreshed {
    /// Skills whose rank was rewritten.
    pub reranked: u64,
    /// The total of reviews the ranks are normalised by.
    pub total_reviews: i64,
}

/// Recomputes skill `id`'s stats and rank, then re-ranks the skills the new total moved.
pub async fn skill(app: &App, id: &str) -> Result<Refreshed> {
    run(app, Some(id.to_string()), RANK_TOLERANCE).await
}

/// Re-ranks every reviewed skill exactly (`POST /api/rankings/refresh`).
pub async fn all(app: &App) -> Result<Refreshed> {
    run(app, None, 0.0).await
}

/// Keeps stats and ranks following every change of a review or a proof, whoever makes
/// it (a submitted review, an operator in `/_/`, a cascade): after the write commits,
/// the skills concerned are refreshed. A review and its new proof commit together, so
/// the review's hook counts the proof too.
pub fn follow_changes(app: &App) {
    for point in [
        HookPoint::AfterCreate,
        HookPoint::AfterUpdate,
        HookPoint::AfterDelete,
    ] {
        app.hooks()
            .on_record(point, Some(REVIEWS), |ev| async move {
                let mut skills = vec![ev.record.get_str("skill").to_string()];
                if let Some(before) = &ev.original {
                    skills.push(before.get_str("skill").to_string());
                }
                skills.dedup();
                for id in skills.iter().filter(|s| !s.is_empty()) {
                    after_change(&ev.app, id).await;
                }
                Ok(ev)
            });
    }
    for point in [HookPoint::AfterUpdate, HookPoint::AfterDelete] {
        app.hooks().on_record(point, Some(PROOFS), |ev| async move {
            let review = ev
                .app
                .find_record(REVIEWS, ev.record.get_str("review"))
                .await;
            if let Ok(Some(r)) = review {
                after_change(&ev.app, r.get_str("skill")).await;
            }
            Ok(ev)
        });
    }
}

/// Refreshes skill `id` after a committed change; a failure is logged (the change
/// stands, and the next refresh of the skill puts its stats right).
async fn after_change(app: &App, id: &str) {
    match skill(app, id).await {
        Ok(_) | Err(Error::NotFound(_)) => {}
        Err(e) => tracing::error!(skill = id, error = %e, "cannot refresh a skill's stats"),
    }
}

async fn run(app: &App, skill: Option<String>, tolerance: f64) -> Result<Refreshed> {
    let d = app.dialect();
    app.db()
        .write::<Refreshed, Error>(Box::new(move |tx| {
            let skill = skill.clone();
            Box::pin(async move {
                if d == Dialect::Postgres {
                    let lock = d.raw(
                        "SELECT pg_advisory_xact_lock($1)",
                        vec![RANK_LOCK_KEY.into()],
                    );
                    tx.query_one(lock).await?;
                }
                if let Some(id) = &skill {
                    restat(tx, d, id).await?;
                }
                rerank(tx, d, skill.as_deref(), tolerance).await
            })
        }))
        .await
}

fn number(row: &Option<Row>, col: &str) -> f64 {
    row.as_ref().and_then(|r| r.f64(col)).unwrap_or_default()
}

/// Recomputes one skill's stats and rank parts from its reviews and proofs.
async fn restat(tx: &dyn WriteTx, d: Dialect, id: &str) -> Result<()> {
    let (reviews, proofs, skills) = (quote(REVIEWS), quote(PROOFS), quote(SKILLS));
    let p = |i| d.param(i);
    let complete = format!(
        "r.\"skill\" = {} AND r.\"status\" = {} AND r.\"score\" > 0",
        p(1),
        p(2)
    );
    let weight = format!(
        "CAST(CASE WHEN r.\"challenge_id\" <> '' THEN {CHALLENGED_WEIGHT} ELSE 1.0 END AS DOUBLE PRECISION)"
    );
    let sql = format!(
        "SELECT COUNT(*) AS n, SUM({weight}) AS w, SUM({weight} * r.\"score\") AS ws, \
         SUM(CASE WHEN r.\"security_score\" > 0 THEN {weight} ELSE 0 END) AS sw, \
         SUM(CASE WHEN r.\"security_score\" > 0 THEN {weight} * r.\"security_score\" ELSE 0 END) AS ss, \
         (SELECT COUNT(*) FROM {proofs} pr JOIN {reviews} r ON pr.\"review\" = r.\"id\" \
          WHERE {complete} AND pr.\"kind\" = {} AND pr.\"verified\" = {}) AS vp, \
         (SELECT s.\"installs\" FROM {skills} s WHERE s.\"id\" = {}) AS installs \
         FROM {reviews} r WHERE {complete}",
        p(3),
        p(4),
        p(1),
    );
    let values: Vec<Value> = vec![
        id.into(),
        ReviewStatus::Complete.as_str().into(),
        ProofKind::Client.as_str().into(),
        true.into(),
    ];
    let row = tx.query_one(d.raw(sql, values)).await?;
    let count = number(&row, "n") as i64;
    let weight = number(&row, "w");
    let security_weight = number(&row, "sw");
    let mean = |sum: f64, w: f64| if w > 0.0 { sum / w } else { 0.0 };
    let totals = ReviewTotals {
        count,
        weight,
        avg_score: mean(number(&row, "ws"), weight),
        avg_security: mean(number(&row, "ss"), security_weight),
        verified_proofs: number(&row, "vp") as i64,
    };
    let rp = parts(&totals, number(&row, "installs") as i64);
    let sql = format!(
        "UPDATE {skills} SET \"review_count\" = {}, \"avg_score\" = {}, \
         \"avg_security_score\" = {}, \"proof_count\" = {}, \"rank_reviews\" = {}, \
         \"rank_base\" = {} WHERE \"id\" = {}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7)
    );
    let values: Vec<Value> = vec![
        (totals.count as f64).into(),
        totals.avg_score.into(),
        totals.avg_security.into(),
        (totals.verified_proofs as f64).into(),
        rp.reviews.into(),
        rp.base.into(),
        id.into(),
    ];
    tx.execute(d.raw(sql, values)).await?;
    Ok(())
}

/// Rewrites `rank_score` with the current total: for skill `own`, for skills never
/// ranked, and for every skill whose stored rank is `tolerance` or more away from the
/// exact one — all of them when `own` is `None`.
///
/// A rank computed with normaliser `m` is off by `rank_reviews × |1/m − 1/n|`. Bounding
/// that with the stored normalisers furthest from `n` (two index lookups) gives the
/// smallest `rank_reviews` that can be off by the tolerance, so the update reads only
/// the skills above it through the index on `rank_reviews`: none at all, usually, once
/// there are many reviews.
async fn rerank(
    tx: &dyn WriteTx,
    d: Dialect,
    own: Option<&str>,
    tolerance: f64,
) -> Result<Refreshed> {
    let skills = quote(SKILLS);
    let sql = format!(
        "SELECT (SELECT SUM(\"review_count\") FROM {skills}) AS t, \
         (SELECT MIN(\"rank_norm\") FROM {skills} WHERE \"rank_norm\" > 0) AS lo, \
         (SELECT MAX(\"rank_norm\") FROM {skills} WHERE \"rank_norm\" > 0) AS hi"
    );
    let row = tx.query_one(d.raw(sql, vec![])).await?;
    let total = number(&row, "t") as i64;
    let n = norm(total);
    let off_by = |m: f64| {
        if m > 0.0 {
            (1.0 / m - 1.0 / n).abs()
        } else {
            0.0
        }
    };
    let worst = off_by(number(&row, "lo")).max(off_by(number(&row, "hi")));
    let p = |i| d.param(i);
    // The same arithmetic as `rank`, in SQL. The unary `+` keeps SQLite from reading the
    // last branch through the `rank_norm` index, which every ranked skill matches.
    let exact = format!("(\"rank_reviews\" / {} + \"rank_base\")", p(1));
    let which = match own {
        None => "\"rank_reviews\" > 0 OR \"rank_score\" <> 0".to_string(),
        Some(_) => format!(
            "\"id\" = {own} OR (\"rank_norm\" <= 0 AND \"rank_reviews\" > 0) \
             OR (\"rank_reviews\" >= {floor} AND +\"rank_norm\" > 0 \
                 AND ABS(\"rank_reviews\" / \"rank_norm\" - \"rank_reviews\" / {n}) >= {tol})",
            own = p(2),
            floor = p(3),
            n = p(1),
            tol = p(4),
        ),
    };
    let sql = format!(
        "UPDATE {skills} SET \"rank_score\" = CASE WHEN {exact} > 100 THEN 100 ELSE {exact} END, \
         \"rank_norm\" = {} WHERE {which}",
        p(1)
    );
    let floor = if worst > 0.0 {
        tolerance / worst
    } else {
        f64::MAX
    };
    let values: Vec<Value> = match own {
        None => vec![n.into()],
        Some(id) => vec![n.into(), id.into(), floor.into(), tolerance.into()],
    };
    let reranked = tx.execute(d.raw(sql, values)).await?;
    Ok(Refreshed {
        reranked,
        total_reviews: total,
    })
}
