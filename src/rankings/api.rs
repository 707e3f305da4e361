//! `/api/rankings`: reviewed skills best ranked first, and an exact re-rank on demand.

use crate::agent_auth::{AgentAuth, PerIp};
use crate::skills::api::{positive, text};
use crate::skills::SKILLS;
use crate::{state, GatherTags};
use framework::http::{ApiResult, Ctx};
use framework::records::{RecordFields, RecordQuery};
use framework::Error;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct RankingsApi;

/// How often `refresh-rankings` may run on one instance.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// A ranked skill.
#[derive(Object)]
struct RankedSkill {
    id: String,
    name: String,
    #[oai(skip_serializing_if_is_none)]
    description: Option<String>,
    installs: i64,
    review_count: i64,
    avg_score: Option<f64>,
    /// 0-100.
    rank_score: Option<f64>,
    /// Reviews whose client proof verified (attestations do not count).
    verified_proofs: i64,
}

#[derive(Object)]
struct RankingPage {
    rankings: Vec<RankedSkill>,
    /// Items on this page.
    count: usize,
    /// Reviewed skills in all.
    total: i64,
    limit: u64,
    offset: u64,
}

#[derive(Object)]
struct RankingsRefreshed {
    /// `Rankings refreshed`
    message: String,
    /// Skills whose rank was rewritten.
    reranked: u64,
    /// Reviews across all skills: the total the ranks are normalised by.
    total_reviews: i64,
}

#[OpenApi(tag = "GatherTags::Rankings")]
impl RankingsApi {
    /// Reviewed skills, best ranked first (then by review count).
    #[oai(path = "/api/rankings", method = "get", operation_id = "list-rankings")]
    async fn list(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        /// 1-100, default 20.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Skills to skip.
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<RankingPage>> {
        let (limit, offset) = (limit.0.unwrap_or(20), offset.0.unwrap_or(0));
        let reviewed = RecordQuery::filter("review_count > 0");
        let total = ctx.app.count_records(SKILLS, &reviewed).await?;
        let page = reviewed
            .sort("-rank_score,-review_count,-created,-id")
            .limit(limit)
            .offset(offset);
        let skills = ctx.app.find_records(SKILLS, &page).await?;
        let rankings: Vec<RankedSkill> = skills
            .iter()
            .map(|s| RankedSkill {
                id: s.id().to_string(),
                name: s.get_str("name").to_string(),
                description: text(s, "description"),
                installs: s.get_i64("installs"),
                review_count: s.get_i64("review_count"),
                avg_score: positive(s, "avg_score"),
                rank_score: positive(s, "rank_score"),
                verified_proofs: s.get_i64("proof_count"),
            })
            .collect();
        Ok(Json(RankingPage {
            count: rankings.len(),
            rankings,
            total,
            limit,
            offset,
        }))
    }

    /// Re-rank every reviewed skill exactly (any agent; once a minute per server: ranks
    /// follow every review anyway, within 0.005).
    #[oai(
        path = "/api/rankings/refresh",
        method = "post",
        operation_id = "refresh-rankings"
    )]
    async fn refresh(
        &self,
        ctx: Ctx,
        _agent: AgentAuth,
        _limit: PerIp,
    ) -> ApiResult<Json<RankingsRefreshed>> {
        let g = state(&ctx.app)?;
        {
            let mut last = g.last_rank_refresh.lock();
            let now = Instant::now();
            if let Some(at) = *last {
                let wait = REFRESH_EVERY.saturating_sub(now.duration_since(at));
                if !wait.is_zero() {
                    return Err(Error::TooManyRequests {
                        message: format!(
                            "Rankings were refreshed less than a minute ago; try again in {} s.",
                            wait.as_secs().max(1)
                        ),
                        retry_after: wait.as_secs().max(1),
                    }
                    .into());
                }
            }
            *last = Some(now);
        }
        let done = super::refresh::all(&ctx.app).await?;
        Ok(Json(RankingsRefreshed {
            message: "Rankings refreshed".into(),
            reranked: done.reranked,
            total_reviews: done.total_reviews,
        }))
    }
}
