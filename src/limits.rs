//! Gather's rate limits (`governor` token buckets): every route per client IP, and
//! writes and design uploads per agent, with higher allowances for verified agents.
//! Buckets are per instance (see the README for what that means behind a balancer).

use super::settings::{Rate, RateLimits};
use framework::{Error, Result};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use parking_lot::Mutex;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// What a request is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Any Gather route, keyed by client IP.
    PerIp,
    /// A write by an agent, keyed by agent id.
    Write { verified: bool },
    /// A design upload by an agent, keyed by agent id.
    DesignUpload { verified: bool },
}

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

/// The buckets of the current rates (behind a lock that cannot poison, so a panic
/// elsewhere never switches limiting off).
#[derive(Default)]
pub struct Limits {
    state: Mutex<Option<(RateLimits, [Limiter; 5])>>,
}

fn limiter(rate: Rate) -> Limiter {
    let per_minute = NonZeroU32::new(rate.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Arc::new(DefaultKeyedRateLimiter::dashmap(
        Quota::per_minute(per_minute).allow_burst(burst),
    ))
}

impl Limits {
    /// Counts one request of `tier` for `key`; over the limit, a 429 that says when to
    /// come back.
    pub fn check(&self, rates: &RateLimits, tier: Tier, key: &str) -> Result<()> {
        let limiter = {
            let mut state = self.state.lock();
            if state.as_ref().is_none_or(|(r, _)| r != rates) {
                // New rates start every bucket full again.
                let all = [
                    limiter(rates.per_ip),
                    limiter(rates.registered_writes),
                    limiter(rates.verified_writes),
                    limiter(rates.design_uploads),
                    limiter(rates.verified_design_uploads),
                ];
                *state = Some((rates.clone(), all));
            }
            let Some((_, all)) = state.as_ref() else {
                return Err(Error::internal("rate limiters missing"));
            };
            let i = match tier {
                Tier::PerIp => 0,
                Tier::Write { verified: false } => 1,
                Tier::Write { verified: true } => 2,
                Tier::DesignUpload { verified: false } => 3,
                Tier::DesignUpload { verified: true } => 4,
            };
            if rand::random::<u16>() == 0 {
                // Now and then forget keys whose bucket is full again: memory stays bounded.
                all[i].retain_recent();
            }
            all[i].clone()
        };
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            too_many(tier, wait)
        })
    }
}

fn too_many(tier: Tier, wait: Duration) -> Error {
    let what = match tier {
        Tier::PerIp => "Rate limit exceeded",
        Tier::Write { .. } => "Write rate limit exceeded for this agent",
        Tier::DesignUpload { .. } => "Design upload rate limit exceeded for this agent",
    };
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Error::TooManyRequests {
        message: format!("{what}. Try again in {secs} s."),
        retry_after: secs.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_429_per_key_and_tier() {
        let limits = Limits::default();
        let mut rates = RateLimits {
            registered_writes: Rate {
                per_minute: 1,
                burst: 2,
            },
            ..Default::default()
        };
        let write = Tier::Write { verified: false };
        assert!(limits.check(&rates, write, "agent1").is_ok());
        assert!(limits.check(&rates, write, "agent1").is_ok());
        let err = limits.check(&rates, write, "agent1").unwrap_err();
        assert!(matches!(err, Error::TooManyRequests { retry_after, .. } if retry_after >= 1));
        // Other agents and other tiers have their own buckets.
        assert!(limits.check(&rates, write, "agent2").is_ok());
        assert!(limits
            .check(&rates, Tier::Write { verified: true }, "agent1")
            .is_ok());
        // Changed rates start over.
        rates.registered_writes = Rate {
            per_minute: 1,
            burst: 3,
        };
        assert!(limits.check(&rates, write, "agent1").is_ok());
    }

    #[test]
    fn a_panic_while_the_lock_is_held_leaves_limiting_on() {
        let limits = Limits::default();
        let rates = RateLimits {
            per_ip: Rate {
                per_minute: 1,
                burst: 1,
            },
            ..Default::default()
        };
        assert!(limits.check(&rates, Tier::PerIp, "1.2.3.4").is_ok());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = limits.state.lock();
            panic!("a bug while counting");
        }));
        assert!(panicked.is_err());
        assert!(limits.check(&rates, Tier::PerIp, "1.2.3.4").is_err());
    }
}
