//! Counts behind `totalItems`, kept until the next write. Counting means reading every
//! matching row; a list asked again with nothing written since gets the count it had.
//!
//! Only on SQLite, where this process is the only writer: the writer's generation
//! (see [`crate::db::Db::write_generation`]) then says whether anything changed. On
//! PostgreSQL other instances write too, so counts are never kept there. Entries also
//! expire after [`MAX_AGE`], for writes by other programs on the same file (the CLI).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_AGE: Duration = Duration::from_secs(5);
/// Past this many entries the cache starts over rather than growing.
const MAX_ENTRIES: usize = 4096;

struct Entry {
    generation: u64,
    at: Instant,
    count: i64,
}

#[derive(Default)]
pub struct CountCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl CountCache {
    /// The count kept for `key`, if nothing was written since (`generation` is the
    /// writer's current one).
    pub fn get(&self, key: &str, generation: u64) -> Option<i64> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(key)?;
        (e.generation == generation && e.at.elapsed() < MAX_AGE).then_some(e.count)
    }

    /// Keeps `count`, computed by a query that started at `generation`.
    pub fn put(&self, key: String, generation: u64, count: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    generation,
                    at: Instant::now(),
                    count,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_lasts_until_the_next_write() {
        let c = CountCache::default();
        assert_eq!(c.get("q", 1), None);
        c.put("q".into(), 1, 42);
        assert_eq!(c.get("q", 1), Some(42));
        assert_eq!(c.get("other", 1), None);
        assert_eq!(c.get("q", 2), None, "a write happened");
    }

    #[test]
    fn the_cache_is_bounded() {
        let c = CountCache::default();
        for i in 0..=MAX_ENTRIES {
            c.put(i.to_string(), 0, 1);
        }
        assert!(c.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
