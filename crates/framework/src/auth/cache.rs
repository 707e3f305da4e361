//! A short-lived cache of the auth records behind tokens, so a request with a token does
//! not cost a database read. Entries are dropped at once when this instance changes or
//! deletes the record; a change made through another instance is seen within `TTL`.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(2);
/// Past this many entries the cache starts over rather than growing.
const MAX_ENTRIES: usize = 50_000;

type Key = (String, String);
/// When it was fetched, the record's token key, and its fields.
type Entry = (Instant, String, Map<String, Value>);

#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl AuthCache {
    /// The token key and fields of a record, if cached and fresh.
    pub fn get(&self, collection_id: &str, id: &str) -> Option<(String, Map<String, Value>)> {
        let entries = self.entries.lock().ok()?;
        let (at, key, record) = entries.get(&(collection_id.to_string(), id.to_string()))?;
        (at.elapsed() < TTL).then(|| (key.clone(), record.clone()))
    }

    pub fn put(
        &self,
        collection_id: &str,
        id: &str,
        token_key: String,
        record: Map<String, Value>,
    ) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                (collection_id.to_string(), id.to_string()),
                (Instant::now(), token_key, record),
            );
        }
    }

    /// Forgets one record (after it was changed or deleted here).
    pub fn forget(&self, collection_id: &str, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&(collection_id.to_string(), id.to_string()));
        }
    }

    /// Forgets everything (after a schema change, which may rotate a collection's secret).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_forget() {
        let c = AuthCache::default();
        assert!(c.get("c", "a").is_none());
        c.put("c", "a", "key".into(), Map::new());
        assert_eq!(c.get("c", "a").map(|(k, _)| k), Some("key".to_string()));
        c.forget("c", "a");
        assert!(c.get("c", "a").is_none());
        c.put("c", "a", "key".into(), Map::new());
        c.clear();
        assert!(c.get("c", "a").is_none());
    }
}
