//! A short-lived cache of records an app reads by id on almost every request (the agent
//! behind a token, say), so those reads cost no database round trip. This instance's
//! own writes drop an entry at once; a change made through another instance is seen
//! within `TTL`, as for the auth records behind tokens.

use super::Record;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(2);
/// Past this many entries the cache starts over rather than growing.
const MAX_ENTRIES: usize = 50_000;

type Key = (String, String);

#[derive(Default)]
pub(crate) struct RecentRecords {
    entries: Mutex<HashMap<Key, (Instant, Option<Record>)>>,
}

impl RecentRecords {
    /// The record (or that there is none), if read less than `TTL` ago.
    pub(crate) fn get(&self, collection_id: &str, id: &str) -> Option<Option<Record>> {
        let entries = self.entries.lock();
        let (at, record) = entries.get(&(collection_id.to_string(), id.to_string()))?;
        (at.elapsed() < TTL).then(|| record.clone())
    }

    pub(crate) fn put(&self, collection_id: &str, id: &str, record: Option<Record>) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (collection_id.to_string(), id.to_string()),
            (Instant::now(), record),
        );
    }

    /// Forgets one record (it was created, changed or deleted here).
    pub(crate) fn forget(&self, collection_id: &str, id: &str) {
        self.entries
            .lock()
            .remove(&(collection_id.to_string(), id.to_string()));
    }

    /// Forgets everything (a delete may cascade anywhere; the schema changed).
    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_until_forgotten_and_absence_too() {
        let cache = RecentRecords::default();
        assert!(cache.get("c", "a").is_none());
        let mut rec = Record::new();
        rec.insert("id".into(), "a".into());
        cache.put("c", "a", Some(rec.clone()));
        cache.put("c", "gone", None);
        assert_eq!(cache.get("c", "a"), Some(Some(rec)));
        assert_eq!(cache.get("c", "gone"), Some(None));
        assert!(cache.get("other", "a").is_none());
        cache.forget("c", "a");
        assert!(cache.get("c", "a").is_none());
        cache.clear();
        assert!(cache.get("c", "gone").is_none());
    }
}
