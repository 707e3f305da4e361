//! Skill rankings: the contract's rank formula (§7.7), kept so that no rank drifts when
//! the total number of reviews that normalises it grows ([`refresh`]), and listed best
//! first.
//!
//! `rank = min(100, 10 × (0.40·avg·nRC + 0.25·nInst + 0.35·proofs/reviews·avg))` with
//! `nRC = log10(weight + 1) / log10(totalReviews + 10)` and `nInst = log10(installs + 1) / 4`.
//! Only the first term depends on every other skill (through `totalReviews`), so each
//! skill stores its two parts — `rank_reviews` (the first term times `log10(total + 10)`)
//! and `rank_base` (the rest) — and `rank_score = rank_reviews / norm + rank_base` is one
//! division per row when the total moves.

pub mod api;
pub mod refresh;

/// The formula's weights (contract §7.7).
pub const REVIEWS_WEIGHT: f64 = 0.40;
pub const INSTALLS_WEIGHT: f64 = 0.25;
pub const PROOFS_WEIGHT: f64 = 0.35;
/// A review that answered a challenge counts this many times in the averages and in
/// the review term: its task was set by the server and it had to address security.
pub const CHALLENGED_WEIGHT: f64 = 1.5;
/// Installs that fill the install term (`log10(installs + 1) / log10(10000)`).
const INSTALLS_SCALE: f64 = 10_000.0;
/// Ranks are kept within this of the exact value whatever the total of reviews does:
/// less than the two decimals any listing shows.
pub const RANK_TOLERANCE: f64 = 0.005;

/// What a skill's reviews add up to (complete reviews with a score).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReviewTotals {
    pub count: i64,
    /// Sum of the reviews' weights (1, or [`CHALLENGED_WEIGHT`] when challenged).
    pub weight: f64,
    /// Weighted mean score, 0 without reviews.
    pub avg_score: f64,
    /// Weighted mean of the security scores given, 0 when none was.
    pub avg_security: f64,
    /// Reviews whose client proof verified (attestations do not count).
    pub verified_proofs: i64,
}

/// A skill's two stored rank parts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RankParts {
    /// The review term before normalising: divide by [`norm`].
    pub reviews: f64,
    /// The install and proof terms.
    pub base: f64,
}

/// The normaliser of the review term for `total_reviews` reviews across all skills.
pub fn norm(total_reviews: i64) -> f64 {
    ((total_reviews.max(0) as f64) + 10.0).log10()
}

/// A skill's rank parts; both 0 until it has a review with a score.
pub fn parts(t: &ReviewTotals, installs: i64) -> RankParts {
    if t.count <= 0 || t.avg_score <= 0.0 {
        return RankParts::default();
    }
    let n_inst = ((installs.max(0) as f64) + 1.0).log10() / INSTALLS_SCALE.log10();
    let proof_ratio = (t.verified_proofs as f64 / t.count as f64).min(1.0);
    RankParts {
        reviews: 10.0 * REVIEWS_WEIGHT * t.avg_score * (t.weight + 1.0).log10(),
        base: 10.0 * (INSTALLS_WEIGHT * n_inst + PROOFS_WEIGHT * proof_ratio * t.avg_score),
    }
}

/// The rank, 0-100.
pub fn rank(p: RankParts, norm: f64) -> f64 {
    (p.reviews / norm + p.base).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_example_ranks_37_25() {
        // One skill, one review scoring 8 with a verified proof, no installs.
        let t = ReviewTotals {
            count: 1,
            weight: 1.0,
            avg_score: 8.0,
            avg_security: 0.0,
            verified_proofs: 1,
        };
        let r = rank(parts(&t, 0), norm(1));
        assert!((r - 37.2501).abs() < 1e-3, "{r}");
        // An attestation instead of a verified proof earns no proof term.
        let unproved = ReviewTotals {
            verified_proofs: 0,
            ..t
        };
        let r = rank(parts(&unproved, 0), norm(1));
        assert!((r - 9.2501).abs() < 1e-3, "{r}");
    }

    #[test]
    fn unreviewed_skills_rank_zero_and_ranks_stay_in_range() {
        assert_eq!(parts(&ReviewTotals::default(), 500), RankParts::default());
        let best = ReviewTotals {
            count: 1_000_000,
            weight: 1_500_000.0,
            avg_score: 10.0,
            avg_security: 10.0,
            verified_proofs: 1_000_000,
        };
        let r = rank(parts(&best, i64::MAX), norm(1_000_000));
        assert!((0.0..=100.0).contains(&r), "{r}");
    }

    #[test]
    fn a_challenged_review_weighs_more() {
        let plain = ReviewTotals {
            count: 1,
            weight: 1.0,
            avg_score: 7.0,
            ..Default::default()
        };
        let challenged = ReviewTotals {
            weight: CHALLENGED_WEIGHT,
            ..plain
        };
        assert!(rank(parts(&challenged, 0), norm(1)) > rank(parts(&plain, 0), norm(1)));
    }
}
