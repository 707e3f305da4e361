//! The full-text index of a collection's searchable fields: its DDL in each dialect,
//! kept in sync with the table by the database itself, so that every write (records API,
//! batch, `/_/`, a migration's SQL) updates it.
//!
//! - SQLite: a contentless FTS5 table `_search_<id>` (porter stemming over unicode61)
//!   whose rowids are the integer keys of `_search_<id>_keys` (record id → key), filled by
//!   triggers on insert, on update of the indexed columns and on delete. The record table's
//!   own rowid is not used: `VACUUM` may renumber it.
//! - PostgreSQL: a generated `tsvector` column `_search` (English configuration, each
//!   field weighted by its place) with a GIN index.
//!
//! Names come from the collection's id, so a renamed collection keeps its index.

use crate::db::{quote, Dialect};
use crate::filter::Table;

/// The column PostgreSQL keeps the document in (never a field: see `RESERVED_FIELD_NAMES`).
pub const SEARCH_COLUMN: &str = "_search";
/// Prefix of every search table and index name (no collection may take such a name).
pub const SEARCH_PREFIX: &str = "_search_";
/// PostgreSQL's text-search configuration for documents and queries.
pub const PG_CONFIG: &str = "'english'::regconfig";
/// Relevance weights by the field's place among the searchable ones, matching
/// PostgreSQL's default weights for its labels A to D (later fields all weigh as D).
const WEIGHTS: [(char, f64); 4] = [('A', 1.0), ('B', 0.4), ('C', 0.2), ('D', 0.1)];

/// A collection's searchable fields, in order, and where their index lives.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchIndex {
    pub table: String,
    /// `_search_<collection id>`: the FTS5 table on SQLite, the GIN index on PostgreSQL.
    pub name: String,
    pub columns: Vec<String>,
}

impl SearchIndex {
    /// The index of `t`, if it has searchable fields.
    pub fn of(t: &dyn Table) -> Option<SearchIndex> {
        let columns: Vec<String> = t
            .fields()
            .iter()
            .filter(|f| f.is_searchable())
            .map(|f| f.name.clone())
            .collect();
        (!columns.is_empty()).then(|| SearchIndex {
            table: t.table_name().to_string(),
            name: format!("{SEARCH_PREFIX}{}", t.table_id()),
            columns,
        })
    }

    /// SQLite: the table mapping record ids to the FTS5 rowids.
    pub fn keys_table(&self) -> String {
        format!("{}_keys", self.name)
    }

    fn weight(i: usize) -> (char, f64) {
        WEIGHTS[i.min(WEIGHTS.len() - 1)]
    }

    /// The FTS5 `rank` function with each column's weight (set once, as the table's
    /// `rank` option, so queries order by the `rank` column).
    fn fts5_rank(&self) -> String {
        let w: Vec<String> = (0..self.columns.len())
            .map(|i| Self::weight(i).1.to_string())
            .collect();
        format!("bm25({})", w.join(", "))
    }

    /// Statements creating the index and filling it from the rows already stored.
    pub fn create_sql(&self, d: Dialect) -> Vec<String> {
        match d {
            Dialect::Sqlite => self.create_sqlite(),
            Dialect::Postgres => self.create_postgres(),
        }
    }

    /// Statements dropping the index (before the table's columns change, or with it).
    pub fn drop_sql(&self, d: Dialect) -> Vec<String> {
        match d {
            Dialect::Sqlite => {
                let mut out: Vec<String> = TRIGGERS
                    .iter()
                    .map(|t| format!("DROP TRIGGER IF EXISTS {}", quote(&self.trigger(t))))
                    .collect();
                out.push(format!("DROP TABLE IF EXISTS {}", quote(&self.name)));
                out.push(format!(
                    "DROP TABLE IF EXISTS {}",
                    quote(&self.keys_table())
                ));
                out
            }
            Dialect::Postgres => vec![
                format!("DROP INDEX IF EXISTS {}", quote(&self.name)),
                format!(
                    "ALTER TABLE {} DROP COLUMN IF EXISTS {}",
                    quote(&self.table),
                    quote(SEARCH_COLUMN)
                ),
            ],
        }
    }

    fn trigger(&self, event: &str) -> String {
        format!("{}_{event}", self.name)
    }

    fn create_sqlite(&self) -> Vec<String> {
        let fts = quote(&self.name);
        let keys = quote(&self.keys_table());
        let table = quote(&self.table);
        // FTS5 columns are named by position: a field may be called `rank` or `rowid`.
        let fts_cols: Vec<String> = (0..self.columns.len()).map(|i| format!("c{i}")).collect();
        let fts_cols = fts_cols.join(", ");
        let cols = |prefix: &str| -> String {
            self.columns
                .iter()
                .map(|c| format!("{prefix}{}", quote(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let key_of =
            |row: &str| format!("(SELECT \"key\" FROM {keys} WHERE \"id\" = {row}.\"id\")");
        let watched = std::iter::once(quote("id"))
            .chain(self.columns.iter().map(|c| quote(c)))
            .collect::<Vec<_>>()
            .join(", ");
        vec![
            format!("CREATE TABLE {keys} (\"key\" INTEGER PRIMARY KEY, \"id\" TEXT NOT NULL UNIQUE)"),
            format!(
                "CREATE VIRTUAL TABLE {fts} USING fts5({fts_cols}, content='', contentless_delete=1, \
                 tokenize='porter unicode61 remove_diacritics 2')"
            ),
            format!("INSERT INTO {fts} ({fts}, rank) VALUES ('rank', '{}')", self.fts5_rank()),
            format!("INSERT INTO {keys} (\"id\") SELECT \"id\" FROM {table}"),
            format!(
                "INSERT INTO {fts} (rowid, {fts_cols}) SELECT k.\"key\", {} FROM {table} AS t \
                 JOIN {keys} AS k ON k.\"id\" = t.\"id\"",
                cols("t.")
            ),
            format!(
                "CREATE TRIGGER {} AFTER INSERT ON {table} BEGIN \
                 INSERT INTO {keys} (\"id\") VALUES (new.\"id\"); \
                 INSERT INTO {fts} (rowid, {fts_cols}) VALUES (last_insert_rowid(), {}); END",
                quote(&self.trigger(TRIGGERS[0])),
                cols("new.")
            ),
            format!(
                "CREATE TRIGGER {} AFTER UPDATE OF {watched} ON {table} BEGIN \
                 DELETE FROM {fts} WHERE rowid = {}; \
                 UPDATE {keys} SET \"id\" = new.\"id\" WHERE \"id\" = old.\"id\"; \
                 INSERT INTO {fts} (rowid, {fts_cols}) VALUES ({}, {}); END",
                quote(&self.trigger(TRIGGERS[1])),
                key_of("old"),
                key_of("new"),
                cols("new.")
            ),
            format!(
                "CREATE TRIGGER {} AFTER DELETE ON {table} BEGIN \
                 DELETE FROM {fts} WHERE rowid = {}; \
                 DELETE FROM {keys} WHERE \"id\" = old.\"id\"; END",
                quote(&self.trigger(TRIGGERS[2])),
                key_of("old")
            ),
        ]
    }

    fn create_postgres(&self) -> Vec<String> {
        let document: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "setweight(to_tsvector({PG_CONFIG}, {}), '{}')",
                    quote(c),
                    Self::weight(i).0
                )
            })
            .collect();
        vec![
            format!(
                "ALTER TABLE {} ADD COLUMN {} tsvector GENERATED ALWAYS AS ({}) STORED",
                quote(&self.table),
                quote(SEARCH_COLUMN),
                document.join(" || ")
            ),
            format!(
                "CREATE INDEX {} ON {} USING GIN ({})",
                quote(&self.name),
                quote(&self.table),
                quote(SEARCH_COLUMN)
            ),
        ]
    }
}

/// The SQLite triggers that keep the index in step with the table.
const TRIGGERS: [&str; 3] = ["insert", "update", "delete"];

/// Statements moving `old`'s index to `new`'s when a collection changes: (before the
/// table changes, after it). Nothing when the searchable fields are the same (a renamed
/// table keeps its triggers and generated column).
pub fn alter_sql(
    old: Option<&SearchIndex>,
    new: Option<&SearchIndex>,
    d: Dialect,
) -> (Vec<String>, Vec<String>) {
    if old.map(|i| &i.columns) == new.map(|i| &i.columns) {
        return (Vec::new(), Vec::new());
    }
    (
        old.map(|i| i.drop_sql(d)).unwrap_or_default(),
        new.map(|i| i.create_sql(d)).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::model::Collection;
    use crate::fields::{Field, FieldKind, TextField};

    fn searchable(name: &str) -> Field {
        Field::new(
            name,
            FieldKind::Text(TextField {
                searchable: true,
                ..Default::default()
            }),
        )
    }

    #[test]
    fn only_searchable_fields_are_indexed_and_weighed_by_place() {
        let plain = Collection::base("notes")
            .with_field(Field::new("title", FieldKind::Text(TextField::default())));
        assert!(SearchIndex::of(&plain).is_none());
        let c = plain
            .clone()
            .with_field(searchable("rank"))
            .with_field(searchable("body"));
        let i = SearchIndex::of(&c).expect("an index");
        assert_eq!(i.columns, vec!["rank", "body"]);
        assert_eq!(i.name, format!("_search_{}", c.id));
        let sqlite = i.create_sql(Dialect::Sqlite).join(";\n");
        // Positional FTS5 columns: `rank` is reserved there.
        assert!(sqlite.contains("fts5(c0, c1, content=''"), "{sqlite}");
        assert!(sqlite.contains("bm25(1, 0.4)"), "{sqlite}");
        assert!(sqlite.contains(r#"AFTER UPDATE OF "id", "rank", "body" ON "notes""#));
        let pg = i.create_sql(Dialect::Postgres).join(";\n");
        assert!(pg.contains(r#"setweight(to_tsvector('english'::regconfig, "rank"), 'A') || setweight(to_tsvector('english'::regconfig, "body"), 'B')"#), "{pg}");
        let (before, after) = alter_sql(Some(&i), Some(&i), Dialect::Sqlite);
        assert!(before.is_empty() && after.is_empty());
        let (before, after) = alter_sql(Some(&i), None, Dialect::Postgres);
        assert_eq!(before.len(), 2);
        assert!(after.is_empty());
    }
}
