//! Where a write's time goes inside the writer queue: a latency histogram per stage, so
//! a slow write can be traced to what it waited for (the queue, the writes grouped
//! before it, its own statements, the ones after it, the commit).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket `i` holds durations under 2^i µs; the last one everything longer (~8.4 s).
const BUCKETS: usize = 24;

/// A histogram of durations with power-of-two buckets; lock-free, so the writer records
/// into it without waiting on a reader.
#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS],
    max_us: AtomicU64,
}

impl Histogram {
    fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - us.leading_zeros()) as usize;
        self.counts[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    fn snapshot(&self) -> StageFigures {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        // The upper bound of the bucket holding the q-th share of the samples.
        let quantile = |q: f64| -> u64 {
            let rank = (total as f64 * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return 1u64 << i;
                }
            }
            0
        };
        StageFigures {
            count: total,
            p50_us: if total == 0 { 0 } else { quantile(0.50) },
            p99_us: if total == 0 { 0 } else { quantile(0.99) },
            max_us: self.max_us.load(Ordering::Relaxed),
        }
    }
}

/// Figures of one stage: how many, and upper bounds of the median and the 99th percentile
/// (power-of-two buckets, so within a factor of two), and the longest seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageFigures {
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// The writer's stages, recorded for every write since the database was opened.
#[derive(Default)]
pub(crate) struct Stages {
    /// From queueing to its group beginning.
    queued: Histogram,
    /// From the group beginning to the write's own statements (writes ahead of it).
    ahead: Histogram,
    /// Its own statements.
    own: Histogram,
    /// From its statements to the group's commit beginning (writes behind it).
    behind: Histogram,
    /// The commit, once per group.
    commit: Histogram,
    /// Whole: queueing to answer.
    total: Histogram,
    /// Writes per group, recorded as if microseconds.
    group_size: Histogram,
}

/// When one write went through which stage.
pub(crate) struct JobTimes {
    pub(crate) queued: std::time::Instant,
    pub(crate) started: Option<std::time::Instant>,
    pub(crate) finished: Option<std::time::Instant>,
}

impl Stages {
    /// Records a group: when it began, its commit's start and end, and its jobs' times.
    pub(crate) fn record_group<'a>(
        &self,
        began: std::time::Instant,
        commit_began: std::time::Instant,
        answered: std::time::Instant,
        jobs: impl Iterator<Item = &'a JobTimes>,
    ) {
        self.commit.record(answered - commit_began);
        let mut n = 0u64;
        for j in jobs {
            n += 1;
            self.queued
                .record(began.saturating_duration_since(j.queued));
            self.total.record(answered - j.queued);
            if let (Some(s), Some(f)) = (j.started, j.finished) {
                self.ahead.record(s.saturating_duration_since(began));
                self.own.record(f - s);
                self.behind
                    .record(commit_began.saturating_duration_since(f));
            }
        }
        self.group_size.record(Duration::from_micros(n));
    }

    pub(crate) fn report(&self) -> WriteStages {
        WriteStages {
            queued: self.queued.snapshot(),
            ahead: self.ahead.snapshot(),
            own: self.own.snapshot(),
            behind: self.behind.snapshot(),
            commit: self.commit.snapshot(),
            total: self.total.snapshot(),
            group_size: self.group_size.snapshot(),
        }
    }
}

/// The writer's stage figures ([`crate::App::write_stages`]): where writes spent their
/// time since the database was opened. `group_size` counts writes per group, not µs.
#[derive(Debug, Clone, Copy)]
pub struct WriteStages {
    pub queued: StageFigures,
    pub ahead: StageFigures,
    pub own: StageFigures,
    pub behind: StageFigures,
    pub commit: StageFigures,
    pub total: StageFigures,
    pub group_size: StageFigures,
}

impl fmt::Display for WriteStages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stages = [
            ("queued", &self.queued),
            ("ahead", &self.ahead),
            ("own", &self.own),
            ("behind", &self.behind),
            ("commit", &self.commit),
            ("total", &self.total),
        ];
        for (name, s) in stages {
            write!(
                f,
                "{name}: p50<{} p99<{} max {} µs (n {}); ",
                s.p50_us, s.p99_us, s.max_us, s.count
            )?;
        }
        let g = &self.group_size;
        write!(
            f,
            "group size: p50<{} p99<{} max {} (groups {})",
            g.p50_us, g.p99_us, g.max_us, g.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_bucket_bounds() {
        let h = Histogram::default();
        for _ in 0..98 {
            h.record(Duration::from_micros(100));
        }
        h.record(Duration::from_millis(5));
        h.record(Duration::from_millis(9));
        let s = h.snapshot();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_us, 128);
        assert_eq!(s.p99_us, 8192);
        assert_eq!(s.max_us, 9000);
        assert_eq!(Histogram::default().snapshot().p99_us, 0);
    }

    #[test]
    fn a_group_is_recorded_per_stage() {
        let stages = Stages::default();
        let t0 = std::time::Instant::now();
        let at = |us| t0 + Duration::from_micros(us);
        let jobs = [
            JobTimes {
                queued: t0,
                started: Some(at(1_000)),
                finished: Some(at(1_500)),
            },
            JobTimes {
                queued: at(200),
                started: Some(at(1_500)),
                finished: Some(at(3_500)),
            },
        ];
        stages.record_group(at(900), at(3_600), at(4_600), jobs.iter());
        let r = stages.report();
        assert_eq!(r.group_size.max_us, 2);
        assert_eq!(r.commit.max_us, 1_000);
        assert_eq!(r.queued.max_us, 900);
        assert_eq!(r.own.max_us, 2_000);
        assert_eq!(r.ahead.max_us, 600);
        assert_eq!(r.behind.max_us, 2_100);
        assert_eq!(r.total.max_us, 4_600);
    }
}
