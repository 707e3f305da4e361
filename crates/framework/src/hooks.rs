//! Record hooks: typed, ordered, async callbacks around record writes, optionally
//! limited to one collection. "Before" hooks may change the record or refuse the
//! write; "after" hooks see the committed record.

use crate::app::App;
use crate::collections::model::Collection;
use crate::error::Result;
use crate::filter::AuthRecord;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    BeforeCreate,
    AfterCreate,
    BeforeUpdate,
    AfterUpdate,
    BeforeDelete,
    AfterDelete,
}

/// What a record hook receives (and, for "before" hooks, returns changed).
#[derive(Clone)]
pub struct RecordEvent {
    pub app: App,
    pub collection: Arc<Collection>,
    /// The record's field values (before: as about to be written; after: as committed).
    pub record: Map<String, Value>,
    /// The stored record before an update or delete.
    pub original: Option<Map<String, Value>>,
    /// Who asked for the write (`None`: a guest); a superuser for the app's own writes.
    pub caller: Option<AuthRecord>,
}

pub type RecordHook =
    Arc<dyn Fn(RecordEvent) -> BoxFuture<'static, Result<RecordEvent>> + Send + Sync>;

struct Entry {
    point: HookPoint,
    collection: Option<String>,
    hook: RecordHook,
}

#[derive(Default)]
pub struct Hooks {
    entries: RwLock<Vec<Entry>>,
}

impl Hooks {
    /// Registers `hook` at `point`, for one collection (by name) or for all (`None`).
    /// Hooks run in registration order.
    pub fn on_record<F, Fut>(&self, point: HookPoint, collection: Option<&str>, hook: F)
    where
        F: Fn(RecordEvent) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<RecordEvent>> + Send + 'static,
    {
        let hook: RecordHook = Arc::new(move |ev| Box::pin(hook(ev)));
        if let Ok(mut e) = self.entries.write() {
            e.push(Entry {
                point,
                collection: collection.map(str::to_string),
                hook,
            });
        }
    }

    fn matching(&self, point: HookPoint, collection: &Collection) -> Vec<RecordHook> {
        self.entries
            .read()
            .map(|e| {
                e.iter()
                    .filter(|h| {
                        h.point == point
                            && h.collection
                                .as_deref()
                                .is_none_or(|c| c == collection.name || c == collection.id)
                    })
                    .map(|h| h.hook.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs the hooks of `point` in order; the first error stops the chain.
    pub async fn run(&self, point: HookPoint, mut ev: RecordEvent) -> Result<RecordEvent> {
        for hook in self.matching(point, &ev.collection) {
            ev = hook(ev).await?;
        }
        Ok(ev)
    }

    /// Runs "after" hooks; their errors are logged, since the write is already committed.
    pub async fn run_after(&self, point: HookPoint, ev: RecordEvent) {
        let name = ev.collection.name.clone();
        if let Err(e) = self.run(point, ev).await {
            tracing::error!(collection = %name, ?point, error = %e, "after-write hook failed");
        }
    }
}
