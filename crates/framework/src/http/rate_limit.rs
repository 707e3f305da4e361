//! Per-client rate limits from the settings (`rateLimits`, PocketBase's rule format):
//! the most specific rule for a request applies, counted per client IP by `governor`.

use super::error::envelope;
use crate::app::App;
use crate::settings::model::{RateLimitRule, RateLimits, Settings};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use parking_lot::Mutex;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The limiters of the current rules, rebuilt when the rules change. (A lock that cannot
/// poison: a panic while it is held must not turn limiting off.)
#[derive(Default)]
pub struct Limiters {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    rules: Vec<RateLimitRule>,
    limiters: HashMap<usize, Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    checks: u64,
}

impl Limiters {
    /// Counts one request against rule `idx` for `ip`; `Err` holds the time to wait.
    fn check(&self, limits: &RateLimits, idx: usize, ip: IpAddr) -> Result<(), Duration> {
        let limiter = {
            let mut s = self.state.lock();
            if s.rules != limits.rules {
                s.rules = limits.rules.clone();
                s.limiters.clear();
            }
            s.checks += 1;
            if s.checks.is_multiple_of(10_000) {
                // Forget clients whose allowance is whole again, so memory stays bounded.
                for l in s.limiters.values() {
                    l.retain_recent();
                }
            }
            let rule = &limits.rules[idx];
            match s.limiters.get(&idx) {
                Some(l) => l.clone(),
                None => {
                    let Some(l) = limiter_for(rule) else {
                        return Ok(());
                    };
                    s.limiters.insert(idx, l.clone());
                    l
                }
            }
        };
        limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// At most `maxRequests` per `duration` seconds, as a bucket that refills evenly.
fn limiter_for(rule: &RateLimitRule) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
    let max = NonZeroU32::new(rule.max_requests)?;
    let period = Duration::from_secs(u64::from(rule.duration.max(1))) / max.get();
    let quota = Quota::with_period(period)?.allow_burst(max);
    Some(Arc::new(DefaultKeyedRateLimiter::dashmap(quota)))
}

/// The action tags of a collection endpoint, most specific first (`*:auth` covers every
/// way of logging in).
fn actions(method: &str, rest: &str) -> Vec<&'static str> {
    let mut parts = rest.split('/');
    let (first, second) = (parts.next().unwrap_or_default(), parts.next());
    match (method, first, second) {
        ("GET", "records", None | Some("")) => vec!["list"],
        ("GET", "records", Some(_)) => vec!["view"],
        ("POST", "records", _) => vec!["create"],
        ("PATCH", "records", Some(_)) => vec!["update"],
        ("DELETE", "records", Some(_)) => vec!["delete"],
        ("GET", "auth-methods", _) => vec!["listAuthMethods"],
        ("POST", "auth-refresh", _) => vec!["authRefresh"],
        ("POST", "auth-with-password", _) => vec!["authWithPassword", "auth"],
        ("POST", "auth-with-oauth2", _) => vec!["authWithOAuth2", "auth"],
        ("POST", "auth-with-otp", _) => vec!["authWithOTP", "auth"],
        ("POST", "request-otp", _) => vec!["requestOTP"],
        ("POST", "request-password-reset", _) => vec!["requestPasswordReset"],
        ("POST", "confirm-password-reset", _) => vec!["confirmPasswordReset"],
        ("POST", "request-verification", _) => vec!["requestVerification"],
        ("POST", "confirm-verification", _) => vec!["confirmVerification"],
        ("POST", "request-email-change", _) => vec!["requestEmailChange"],
        ("POST", "confirm-email-change", _) => vec!["confirmEmailChange"],
        _ => vec![],
    }
}

/// The index of the rule that applies: `collection:action`, then `*:action`, then the
/// longest matching path prefix (optionally with a method, `POST /api/`).
fn pick_rule(limits: &RateLimits, method: &str, path: &str, authed: bool) -> Option<usize> {
    let fits = |r: &RateLimitRule| match r.audience.as_str() {
        "@guest" => !authed,
        "@auth" => authed,
        _ => true,
    };
    let rules: Vec<(usize, &RateLimitRule)> = limits
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| fits(r))
        .collect();
    if let Some(rest) = path.strip_prefix("/api/collections/") {
        if let Some((collection, rest)) = rest.split_once('/') {
            for action in actions(method, rest) {
                for owner in [collection, "*"] {
                    let label = format!("{owner}:{action}");
                    if let Some((i, _)) = rules.iter().find(|(_, r)| r.label == label) {
                        return Some(*i);
                    }
                }
            }
        }
    }
    rules
        .iter()
        .filter_map(|(i, r)| {
            let (m, prefix) = match r.label.split_once(' ') {
                Some((m, p)) => (Some(m), p),
                None => (None, r.label.as_str()),
            };
            let method_ok = m.is_none_or(|m| m.eq_ignore_ascii_case(method));
            (prefix.starts_with('/') && method_ok && path.starts_with(prefix))
                .then_some((*i, prefix.len() + usize::from(m.is_some())))
        })
        .max_by_key(|(_, specificity)| *specificity)
        .map(|(i, _)| i)
}

/// The client's address: the socket's, or, when the socket's peer is a configured
/// proxy, the one its header names. With several proxies in a chain (`client, p1, p2`)
/// the rightmost address that is not itself a trusted proxy is the client (the leftmost
/// one with `useLeftmostIP`, which the client itself can choose).
pub fn client_ip(req: &Request, settings: &Settings) -> Option<IpAddr> {
    // A tool call made over MCP is the MCP request's client's.
    if let Some(crate::mcp::CallerIp(ip)) = req.data::<crate::mcp::CallerIp>() {
        return *ip;
    }
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let proxy = &settings.trusted_proxy;
    if proxy.headers.is_empty() || !peer.is_some_and(|p| proxy.trusts(p)) {
        return peer;
    }
    for h in &proxy.headers {
        let Some(v) = req.headers().get(h.as_str()).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let ips: Vec<IpAddr> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
        let pick = if proxy.use_leftmost_ip {
            ips.first().copied()
        } else {
            ips.iter()
                .rev()
                .find(|ip| !proxy.trusts(**ip))
                .or(ips.first())
                .copied()
        };
        if pick.is_some() {
            return pick;
        }
    }
    peer
}

/// The middleware: 429 with the error envelope and `Retry-After` past a rule's limit.
pub async fn limit<E: Endpoint>(
    next: Arc<E>,
    req: Request,
    limiters: Arc<Limiters>,
) -> poem::Result<Response> {
    let Some(app) = req.data::<App>() else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let settings = app.settings();
    let limits = &settings.rate_limits;
    if limits.enabled {
        let ip = client_ip(&req, &settings);
        let excluded = ip.is_some_and(|ip| limits.excluded_ips.iter().any(|x| x.parse() == Ok(ip)));
        let authed = req.headers().contains_key("authorization");
        let rule = pick_rule(limits, req.method().as_str(), req.uri().path(), authed);
        if let (Some(ip), Some(idx), false) = (ip, rule, excluded) {
            if let Err(wait) = limiters.check(limits, idx, ip) {
                let mut resp = envelope(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too Many Requests.",
                    json!({}),
                );
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                if let Ok(v) = secs.max(1).to_string().parse() {
                    resp.headers_mut().insert("retry-after", v);
                }
                return Ok(resp);
            }
        }
    }
    next.call(req).await.map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(labels: &[(&str, &str)]) -> RateLimits {
        RateLimits {
            enabled: true,
            rules: labels
                .iter()
                .map(|(l, a)| RateLimitRule {
                    label: l.to_string(),
                    audience: a.to_string(),
                    duration: 10,
                    max_requests: 2,
                })
                .collect(),
            excluded_ips: vec![],
        }
    }

    #[test]
    fn the_most_specific_rule_applies() {
        let l = limits(&[
            ("/api/", ""),
            ("*:auth", ""),
            ("users:authWithPassword", ""),
            ("POST /api/collections/", ""),
            ("*:create", "@guest"),
        ]);
        let pw = "/api/collections/users/auth-with-password";
        assert_eq!(pick_rule(&l, "POST", pw, false), Some(2));
        let otp = "/api/collections/users/auth-with-otp";
        assert_eq!(pick_rule(&l, "POST", otp, false), Some(1));
        let su = "/api/collections/_superusers/auth-with-password";
        assert_eq!(pick_rule(&l, "POST", su, false), Some(1));
        let create = "/api/collections/posts/records";
        assert_eq!(pick_rule(&l, "POST", create, false), Some(4));
        assert_eq!(pick_rule(&l, "POST", create, true), Some(3));
        assert_eq!(pick_rule(&l, "GET", create, true), Some(0));
        assert_eq!(pick_rule(&l, "GET", "/_/", true), None);
    }

    #[test]
    fn limits_count_per_ip() {
        let l = limits(&[("*:auth", "")]);
        let lim = Limiters::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(lim.check(&l, 0, a).is_ok());
        assert!(lim.check(&l, 0, a).is_ok());
        let wait = lim.check(&l, 0, a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(5));
        assert!(lim.check(&l, 0, b).is_ok());
    }

    #[test]
    fn a_panic_while_the_lock_is_held_leaves_limiting_on() {
        let l = limits(&[("/api/", "")]);
        let limiters = Limiters::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limiters.check(&l, 0, ip).is_ok());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = limiters.state.lock();
            panic!("a bug while counting");
        }));
        assert!(panicked.is_err());
        assert!(limiters.check(&l, 0, ip).is_ok());
        assert!(
            limiters.check(&l, 0, ip).is_err(),
            "the third request in 10 s is refused"
        );
    }
}
