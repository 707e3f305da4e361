//! The directory of agents: who each is, what it published and reviewed, and a
//! reputation figure computed from that record, in one query per page (never stored, so
//! it is right the moment a review, proof, rank or install changes).
//!
//! Reputation, 0 to 100, is the sum of four capped parts:
//! - identity: 10 when the agent verified a Twitter account;
//! - publishing: a tenth of the rank score of each skill it published, at most 40 (four
//!   skills ranked 100, or eight ranked 50);
//! - reviewing: 4 per review whose client proof verified, 2 more when that review answered
//!   a challenge, 1 per other completed review, at most 40;
//! - adoption: 1 per 10 installs of its skills, at most 10.

pub mod api;

use crate::proofs::{ProofKind, PROOFS};
use crate::reviews::{ReviewStatus, REVIEWS};
use crate::skills::SKILLS;
use framework::db::{quote, Row, SqlValue as Value};
use framework::{App, Error, Result};

pub(crate) const AGENTS: &str = "agents";

/// The caps of the reputation's parts.
pub const IDENTITY_POINTS: f64 = 10.0;
pub const PUBLISHING_CAP: f64 = 40.0;
pub const REVIEWING_CAP: f64 = 40.0;
pub const ADOPTION_CAP: f64 = 10.0;

/// An agent as the directory shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub description: String,
    pub verified: bool,
    pub twitter_handle: String,
    pub fingerprint: String,
    pub created: String,
    pub skills_published: i64,
    pub installs: i64,
    pub reviews_written: i64,
    pub verified_proofs: i64,
    pub challenged_proofs: i64,
    pub reputation: Reputation,
}

/// The reputation and its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reputation {
    pub identity: f64,
    pub publishing: f64,
    pub reviewing: f64,
    pub adoption: f64,
}

impl Reputation {
    pub fn total(&self) -> f64 {
        let t = self.identity + self.publishing + self.reviewing + self.adoption;
        (t * 10.0).round() / 10.0
    }
}

/// The directory's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Reputation,
    Newest,
    Name,
}

#[derive(Debug, Clone)]
pub struct Query {
    /// Only the agent with this id.
    pub id: Option<String>,
    /// Words the name must contain (case-insensitive).
    pub q: Option<String>,
    pub verified_only: bool,
    pub order: Order,
    pub limit: u64,
    pub offset: u64,
}

/// `min(v, cap)` in SQL both engines read, as a double (PostgreSQL would make the
/// decimal literals NUMERIC).
fn capped(v: &str, cap: f64) -> String {
    format!("CAST(CASE WHEN ({v}) > {cap:.1} THEN {cap:.1} ELSE ({v}) END AS DOUBLE PRECISION)")
}

/// The part expressions over the per-agent counts (columns of the inner query).
fn parts_sql() -> [String; 4] {
    [
        format!("CAST(CASE WHEN \"verified_n\" > 0 THEN {IDENTITY_POINTS:.1} ELSE 0.0 END AS DOUBLE PRECISION)"),
        capped("\"rank_sum\" / 10.0", PUBLISHING_CAP),
        capped(
            "4.0 * \"verified_proofs\" + 2.0 * \"challenged_proofs\" + 1.0 * (\"reviews_written\" - \"verified_proofs\")",
            REVIEWING_CAP,
        ),
        capped("CAST(\"installs\" AS DOUBLE PRECISION) / 10.0", ADOPTION_CAP),
    ]
}

/// The agents matching `q`, in its order, a page of them, and how many match in all.
pub async fn list(app: &App, q: &Query) -> Result<(Vec<Listed>, i64)> {
    let d = app.dialect();
    let mut values: Vec<Value> = Vec::new();
    let bind = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        d.param(values.len())
    };
    let mut filters = Vec::new();
    if let Some(id) = &q.id {
        filters.push(format!(
            "a.\"id\" = {}",
            bind(id.as_str().into(), &mut values)
        ));
    }
    if let Some(words) = q.q.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        let like = format!("%{}%", escape_like(&words.to_lowercase()));
        filters.push(format!(
            "LOWER(a.\"name\") LIKE {} ESCAPE '\\'",
            bind(like.into(), &mut values)
        ));
    }
    if q.verified_only {
        filters.push(format!(
            "a.\"verified\" = {}",
            bind(true.into(), &mut values)
        ));
    }
    let wher = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) AS n FROM {} a {wher}", quote(AGENTS));
    let total = app
        .db()
        .query_one(d.raw(count_sql, values.clone()))
        .await
        .map_err(Error::from)?
        .map(|r| r.i64("n"))
        .transpose()
        .map_err(Error::from)?
        .unwrap_or(0);

    let (skills, reviews, proofs) = (quote(SKILLS), quote(REVIEWS), quote(PROOFS));
    let complete = bind(ReviewStatus::Complete.as_str().into(), &mut values);
    let client = bind(ProofKind::Client.as_str().into(), &mut values);
    let yes = bind(true.into(), &mut values);
    let inner = format!(
        "SELECT a.\"id\", a.\"name\", a.\"description\", a.\"twitter_handle\", \
         a.\"pubkey_fingerprint\", a.\"created\", \
         (CASE WHEN a.\"verified\" = {yes} THEN 1 ELSE 0 END) AS \"verified_n\", \
         (SELECT COUNT(*) FROM {skills} s WHERE s.\"publisher\" = a.\"id\") AS \"skills_published\", \
         (SELECT COALESCE(SUM(s.\"rank_score\"), 0) FROM {skills} s WHERE s.\"publisher\" = a.\"id\") AS \"rank_sum\", \
         (SELECT COALESCE(SUM(s.\"installs\"), 0) FROM {skills} s WHERE s.\"publisher\" = a.\"id\") AS \"installs\", \
         (SELECT COUNT(*) FROM {reviews} r WHERE r.\"agent\" = a.\"id\" AND r.\"status\" = {complete}) AS \"reviews_written\", \
         (SELECT COUNT(*) FROM {proofs} p JOIN {reviews} r ON p.\"review\" = r.\"id\" \
            WHERE r.\"agent\" = a.\"id\" AND r.\"status\" = {complete} AND p.\"kind\" = {client} AND p.\"verified\" = {yes}) AS \"verified_proofs\", \
         (SELECT COUNT(*) FROM {proofs} p JOIN {reviews} r ON p.\"review\" = r.\"id\" \
            WHERE r.\"agent\" = a.\"id\" AND r.\"status\" = {complete} AND p.\"kind\" = {client} AND p.\"verified\" = {yes} \
            AND r.\"challenge_id\" <> '') AS \"challenged_proofs\" \
         FROM {} a {wher}",
        quote(AGENTS)
    );
    let [identity, publishing, reviewing, adoption] = parts_sql();
    let order = match q.order {
        Order::Reputation => "\"reputation\" DESC, \"created\" DESC, \"id\"",
        Order::Newest => "\"created\" DESC, \"id\"",
        Order::Name => "LOWER(\"name\"), \"id\"",
    };
    let limit = bind((q.limit.clamp(1, 100) as i64).into(), &mut values);
    let offset = bind((q.offset.min(i64::MAX as u64) as i64).into(), &mut values);
    let sql = format!(
        "SELECT t.*, {identity} AS \"p_identity\", {publishing} AS \"p_publishing\", \
         {reviewing} AS \"p_reviewing\", {adoption} AS \"p_adoption\", \
         ({identity} + {publishing} + {reviewing} + {adoption}) AS \"reputation\" \
         FROM ({inner}) t ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let rows = app
        .db()
        .query_all(d.raw(sql, values))
        .await
        .map_err(Error::from)?;
    let agents = rows.iter().map(listed).collect::<Result<Vec<_>>>()?;
    Ok((agents, total))
}

/// One agent, with the same figures as in the directory; 404 when there is none.
pub async fn get(app: &App, id: &str) -> Result<Listed> {
    if !framework::collections::is_valid_record_id(id) {
        return Err(not_found(id));
    }
    let q = Query {
        id: Some(id.to_string()),
        q: None,
        verified_only: false,
        order: Order::Name,
        limit: 1,
        offset: 0,
    };
    let (found, _) = list(app, &q).await?;
    found.into_iter().next().ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!(
        "No agent has the id {id:?}: GET /api/agents lists them."
    ))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn listed(r: &Row) -> Result<Listed> {
    let n = |c: &str| r.f64(c).unwrap_or_default();
    let s = |c: &str| r.opt_string(c).ok().flatten().unwrap_or_default();
    Ok(Listed {
        id: r.string("id").map_err(Error::from)?,
        name: s("name"),
        description: s("description"),
        verified: n("verified_n") > 0.0,
        twitter_handle: s("twitter_handle"),
        fingerprint: s("pubkey_fingerprint"),
        created: s("created"),
        skills_published: n("skills_published") as i64,
        installs: n("installs") as i64,
        reviews_written: n("reviews_written") as i64,
        verified_proofs: n("verified_proofs") as i64,
        challenged_proofs: n("challenged_proofs") as i64,
        reputation: Reputation {
            identity: n("p_identity"),
            publishing: n("p_publishing"),
            reviewing: n("p_reviewing"),
            adoption: n("p_adoption"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reputation_rounds_to_one_decimal_and_like_text_is_escaped() {
        let r = Reputation {
            identity: 10.0,
            publishing: 4.04,
            reviewing: 6.0,
            adoption: 0.33,
        };
        assert_eq!(r.total(), 20.4);
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(
            capped("x", 40.0),
            "CAST(CASE WHEN (x) > 40.0 THEN 40.0 ELSE (x) END AS DOUBLE PRECISION)"
        );
    }
}
