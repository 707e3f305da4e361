//! What the filter compiler and the list provider read of a table: its name, the id that
//! relations point at, and its typed fields. A collection is one such table; the server's
//! own `_logs` and `_collections` are plain tables that describe their columns the same
//! way ([`PlainTable`]), so they are filtered, sorted and paged by the same code.

use crate::collections::model::Collection;
use crate::fields::Field;

/// A table whose typed fields a filter names.
pub trait Table: Sync {
    /// The table's name in the database.
    fn table_name(&self) -> &str;
    /// The database that holds it.
    fn store(&self) -> Store {
        Store::Main
    }
    /// What relation fields store to point at this table (a collection's id).
    fn table_id(&self) -> &str;
    fn fields(&self) -> &[Field];
    fn field(&self, name: &str) -> Option<&Field> {
        self.fields().iter().find(|f| f.name == name)
    }
}

impl Table for Collection {
    fn table_name(&self) -> &str {
        &self.name
    }
    fn table_id(&self) -> &str {
        &self.id
    }
    fn fields(&self) -> &[Field] {
        &self.fields
    }
    fn field(&self, name: &str) -> Option<&Field> {
        Collection::field(self, name)
    }
}

/// Collections are handed around shared.
impl<T: Table + Send> Table for std::sync::Arc<T> {
    fn table_name(&self) -> &str {
        (**self).table_name()
    }
    fn table_id(&self) -> &str {
        (**self).table_id()
    }
    fn fields(&self) -> &[Field] {
        (**self).fields()
    }
    fn field(&self, name: &str) -> Option<&Field> {
        (**self).field(name)
    }
}

/// A table of the server's own, not a collection: no rules, no relations to it.
pub(crate) struct PlainTable {
    pub name: &'static str,
    pub fields: Vec<Field>,
    pub store: Store,
}

/// Which database holds a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The main database: collections, records, settings.
    Main,
    /// Written often and read rarely (the logs): on SQLite a file of its own beside the
    /// main one, with its own writer, so these writes never queue before the records';
    /// on PostgreSQL the main database (its writers run side by side).
    Auxiliary,
}

impl Table for PlainTable {
    fn table_name(&self) -> &str {
        self.name
    }
    fn store(&self) -> Store {
        self.store
    }
    fn table_id(&self) -> &str {
        self.name
    }
    fn fields(&self) -> &[Field] {
        &self.fields
    }
}
