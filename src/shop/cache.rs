//! The catalogue cache: values from upstreams kept for a time to live, fetched once
//! however many requests wait for the same key (single-flight), the last value served
//! when a refresh fails (stale-on-error), and empty answers never kept.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A value and when it was fetched.
type Slot<V> = Arc<tokio::sync::Mutex<Option<(V, Instant)>>>;

pub struct Cache<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
}

impl<V> Default for Cache<V> {
    fn default() -> Self {
        Cache {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

/// What the cache may keep: an empty answer (no options, no product) is not kept, so
/// the next request asks again.
pub trait Keep {
    fn worth_keeping(&self) -> bool {
        true
    }
}

impl Keep for f64 {}
impl Keep for i64 {}
impl Keep for String {
    fn worth_keeping(&self) -> bool {
        !self.is_empty()
    }
}
impl<T> Keep for Vec<T> {
    fn worth_keeping(&self) -> bool {
        !self.is_empty()
    }
}

impl<V: Clone + Keep> Cache<V> {
    /// The value under `key` if it is younger than `ttl`; else `fetch`'s. One fetch runs
    /// per key at a time: whoever arrives meanwhile waits for it and takes its value.
    /// When the fetch fails, an older value is served if there is one.
    pub async fn get<E, F>(&self, key: &str, ttl: Duration, fetch: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        let slot = self
            .slots
            .lock()
            .entry(key.to_string())
            .or_default()
            .clone();
        let mut held = slot.lock().await;
        if let Some((v, at)) = held.as_ref() {
            if at.elapsed() < ttl {
                return Ok(v.clone());
            }
        }
        match fetch.await {
            Ok(v) => {
                if v.worth_keeping() {
                    *held = Some((v.clone(), Instant::now()));
                }
                Ok(v)
            }
            Err(e) => match held.as_ref() {
                Some((stale, _)) => Ok(stale.clone()),
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_fetch_for_many_waiters() {
        let cache: Arc<Cache<i64>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let waiters = (0..50).map(|_| {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move {
                cache
                    .get("k", Duration::from_secs(60), async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>(7)
                    })
                    .await
            })
        });
        for w in futures::future::join_all(waiters).await {
            assert_eq!(w.expect("task"), Ok(7));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_on_error_and_no_empty_values() {
        let cache: Cache<String> = Cache::default();
        let zero = Duration::ZERO;
        assert_eq!(
            cache
                .get("k", zero, async { Err::<String, _>("down") })
                .await,
            Err("down")
        );
        assert_eq!(
            cache
                .get("k", zero, async { Ok::<_, &str>("a".to_string()) })
                .await,
            Ok("a".into())
        );
        // Expired, and the refresh fails: the old value.
        assert_eq!(
            cache.get("k", zero, async { Err("down") }).await,
            Ok("a".into())
        );
        // An empty answer is passed on but not kept.
        let empty = cache.get("e", Duration::from_secs(60), async {
            Ok::<_, ()>(String::new())
        });
        assert_eq!(empty.await, Ok(String::new()));
        let next = cache.get("e", Duration::from_secs(60), async {
            Ok::<_, ()>("b".to_string())
        });
        assert_eq!(next.await, Ok("b".into()));
        // Fresh values are served without fetching.
        let fresh = cache.get("e", Duration::from_secs(60), async { Err(()) });
        assert_eq!(fresh.await, Ok("b".into()));
    }
}
