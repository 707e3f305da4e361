//! What realtime deliveries remember of their rule checks: whether one subscriber group
//! may see a record, keyed by the values of the fields its rule and filter read, kept
//! until a collection the rule reads is written (here, or on another instance, as
//! announced) or a few seconds pass. A thousand members of one channel then cost a
//! thousand checks for the channel's first message and none for the next ones, as long
//! as nobody joins or leaves.
//!
//! A rule that reads the time (`@now`, …) is never remembered; one that follows a
//! relation or a back-relation is remembered until any record changes.

use crate::collections::model::Collection;
use crate::filter::parser::{parse, Expr, Operand};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a remembered check holds at most (writes that bypass the records layer).
const KEEP: Duration = Duration::from_secs(10);
/// Remembered checks kept at most; all are forgotten past it.
const MAX_ENTRIES: usize = 100_000;

/// What a rule (with a subscription's filter) reads, when it can be remembered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reads {
    /// Fields of the record itself.
    fields: BTreeSet<String>,
    /// Collections (by name) it joins with `@collection`.
    collections: BTreeSet<String>,
    /// It follows relations: any write anywhere may change it.
    anything: bool,
    /// It reads the caller's record beyond its id (`@request.auth.verified`).
    auth_record: bool,
}

fn operand(op: &Operand, c: &Collection, r: &mut Reads) -> Option<()> {
    match op {
        Operand::Text(_) | Operand::Number(_) => Some(()),
        Operand::Func { args, .. } => args.iter().try_for_each(|a| operand(a, c, r)),
        Operand::Ident(path) => {
            if let Some(rest) = path.strip_prefix("@collection.") {
                let head = rest.split('.').next().unwrap_or(rest);
                let name = head.split(':').next().unwrap_or(head);
                r.collections.insert(name.to_string());
                if rest.split('.').count() > 2 {
                    r.anything = true;
                }
            } else if let Some(rest) = path.strip_prefix("@request.") {
                let rest = rest.split(':').next().unwrap_or(rest);
                match rest.split('.').collect::<Vec<_>>().as_slice() {
                    ["auth", "id" | "collectionName" | "collectionId"] => {}
                    ["auth", ..] => r.auth_record = true,
                    _ => {}
                }
            } else if path.starts_with('@') {
                // The time: never the same answer for long.
                return None;
            } else {
                let head = path.split(['.', ':']).next().unwrap_or(path);
                if path.contains('.') || head.contains("_via_") || c.field(head).is_none() {
                    r.anything = true;
                }
                r.fields.insert(head.to_string());
            }
            Some(())
        }
    }
}

fn expr(e: &Expr, c: &Collection, r: &mut Reads) -> Option<()> {
    match e {
        Expr::And(parts) | Expr::Or(parts) => parts.iter().try_for_each(|p| expr(p, c, r)),
        Expr::Cmp(cmp) => {
            operand(&cmp.left, c, r)?;
            operand(&cmp.right, c, r)
        }
    }
}

/// What `rule` and `filter` read of records of `c`; `None` when the answer may change
/// by itself (the time) or cannot be worked out.
pub(crate) fn reads(c: &Collection, rule: &str, filter: Option<&str>) -> Option<Reads> {
    let mut r = Reads {
        fields: BTreeSet::new(),
        collections: BTreeSet::new(),
        anything: false,
        auth_record: false,
    };
    for text in std::iter::once(rule).chain(filter) {
        if !text.trim().is_empty() {
            expr(&parse(text).ok()?, c, &mut r)?;
        }
    }
    Some(r)
}

/// The write counts a remembered check was made at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    deletes: u64,
    versions: Vec<u64>,
}

struct Entry {
    allowed: bool,
    stamp: Stamp,
    at: Instant,
}

/// Per-instance write counts and the checks remembered against them.
#[derive(Default)]
pub(crate) struct AccessCache {
    /// Writes per collection name.
    versions: Mutex<HashMap<String, u64>>,
    /// Every write, for rules that may read anything.
    writes: AtomicU64,
    /// Deletes: their cascades change collections without a word.
    deletes: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl AccessCache {
    /// Notes a committed write to collection `name` (a delete forgets everything).
    pub(crate) fn written(&self, name: &str, delete: bool) {
        self.writes.fetch_add(1, Ordering::Relaxed);
        if delete {
            self.deletes.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut v) = self.versions.lock() {
            *v.entry(name.to_string()).or_default() += 1;
        }
    }

    fn stamp(&self, reads: &Reads, auth_collection: Option<&str>) -> Stamp {
        let deletes = self.deletes.load(Ordering::Relaxed);
        if reads.anything {
            return Stamp {
                deletes,
                versions: vec![self.writes.load(Ordering::Relaxed)],
            };
        }
        let auth = reads.auth_record.then_some(auth_collection).flatten();
        let versions = match self.versions.lock() {
            Ok(v) => reads
                .collections
                .iter()
                .map(String::as_str)
                .chain(auth)
                .map(|n| v.get(n).copied().unwrap_or(0))
                .collect(),
            // A poisoned lock: a stamp nothing matches.
            Err(_) => vec![u64::MAX],
        };
        Stamp { deletes, versions }
    }

    /// The key of one check: the collection as it is now, the group, and the values of
    /// the fields the rule reads.
    pub(crate) fn key(
        c: &Collection,
        group: &str,
        reads: &Reads,
        record: &Map<String, Value>,
    ) -> String {
        let mut key = format!("{}|{}|{group}", c.id, c.updated);
        for f in &reads.fields {
            key.push('|');
            key.push_str(&record.get(f).map(Value::to_string).unwrap_or_default());
        }
        key
    }

    /// What was remembered for `key`, if it still holds.
    pub(crate) fn get(
        &self,
        key: &str,
        reads: &Reads,
        auth_collection: Option<&str>,
    ) -> Option<bool> {
        let now = self.stamp(reads, auth_collection);
        let entries = self.entries.lock().ok()?;
        let e = entries.get(key)?;
        (e.stamp == now && e.at.elapsed() < KEEP).then_some(e.allowed)
    }

    /// The stamp to remember a check under: taken before the check runs, so a write
    /// that lands while it runs makes it stale.
    pub(crate) fn before_check(&self, reads: &Reads, auth_collection: Option<&str>) -> CheckStamp {
        CheckStamp(self.stamp(reads, auth_collection))
    }

    pub(crate) fn put(&self, key: String, allowed: bool, stamp: CheckStamp) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    allowed,
                    stamp: stamp.0,
                    at: Instant::now(),
                },
            );
        }
    }
}

/// The write counts before a check ([`AccessCache::before_check`]).
pub(crate) struct CheckStamp(Stamp);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{Field, FieldKind, TextField};

    fn messages() -> Collection {
        Collection::base("msgs")
            .with_field(Field::new("channel", FieldKind::Text(TextField::default())))
            .with_field(Field::new("text", FieldKind::Text(TextField::default())))
    }

    #[test]
    fn what_a_rule_reads() {
        let c = messages();
        let r = reads(
            &c,
            "@collection.members:m.channel ?= channel && @collection.members:m.who ?= @request.auth.id",
            Some("channel = 'x'"),
        )
        .expect("cacheable");
        assert_eq!(r.fields.iter().collect::<Vec<_>>(), ["channel"]);
        assert_eq!(r.collections.iter().collect::<Vec<_>>(), ["members"]);
        assert!(!r.anything && !r.auth_record);
        assert!(reads(&c, "created > @now", None).is_none(), "the time");
        assert!(
            reads(&c, "channel.owner = @request.auth.id", None)
                .expect("ok")
                .anything
        );
        assert!(
            reads(&c, "@request.auth.verified = true", None)
                .expect("ok")
                .auth_record
        );
    }

    #[test]
    fn a_write_to_what_a_rule_reads_forgets_the_check() {
        let c = messages();
        let cache = AccessCache::default();
        let r = reads(&c, "@collection.members.who ?= @request.auth.id", None).expect("ok");
        let mut rec = Map::new();
        rec.insert("channel".into(), Value::String("a".into()));
        let key = AccessCache::key(&c, "u1", &r, &rec);
        let stamp = cache.before_check(&r, None);
        cache.put(key.clone(), true, stamp);
        assert_eq!(cache.get(&key, &r, None), Some(true));
        cache.written("msgs", false);
        assert_eq!(
            cache.get(&key, &r, None),
            Some(true),
            "its own collection is not read"
        );
        cache.written("members", false);
        assert_eq!(cache.get(&key, &r, None), None);
        let stamp = cache.before_check(&r, None);
        cache.put(key.clone(), false, stamp);
        cache.written("other", true);
        assert_eq!(cache.get(&key, &r, None), None, "deletes forget everything");
    }
}
