//! The in-memory snapshot of all collections, swapped whole on every schema change.

use crate::collections::model::Collection;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct Registry {
    all: Vec<Arc<Collection>>,
    by_id: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

impl Registry {
    pub fn new(collections: Vec<Collection>) -> Self {
        let all: Vec<Arc<Collection>> = collections.into_iter().map(Arc::new).collect();
        let by_id = all
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let by_name = all
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.to_lowercase(), i))
            .collect();
        Registry {
            all,
            by_id,
            by_name,
        }
    }

    /// By id or (case-insensitive) name, as every `{collectionIdOrName}` path segment.
    pub fn find(&self, id_or_name: &str) -> Option<Arc<Collection>> {
        self.by_id
            .get(id_or_name)
            .or_else(|| self.by_name.get(&id_or_name.to_lowercase()))
            .map(|&i| self.all[i].clone())
    }

    pub fn all(&self) -> &[Arc<Collection>] {
        &self.all
    }
}
