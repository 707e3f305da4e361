//! DDL for collections: creating, altering (data kept) and dropping their tables,
//! views and indexes, in either dialect.

use crate::collections::model::Collection;
use crate::collections::search_index::{self, SearchIndex};
use crate::db::{quote, Dialect};
use crate::error::{Error, Result};
use crate::fields::{Field, Storage};
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A parsed `CREATE [UNIQUE] INDEX name ON table (cols...) [WHERE col != '']`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    pub columns: Vec<(String, bool)>,
    /// Optional partial-index column: rows where it is `''` are left out.
    pub where_not_empty: Option<String>,
}

static INDEX_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?[`"\[]?(\w+)[`"\]]?\s+ON\s+[`"\[]?(\w+)[`"\]]?\s*\((.+?)\)\s*(?:WHERE\s+[`"\[]?(\w+)[`"\]]?\s*!=\s*''\s*)?;?\s*$"#)
        .expect("static regex")
});
static INDEX_COL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\s*[`"\[]?(\w+)[`"\]]?\s*(ASC|DESC)?\s*$"#).expect("static regex")
});

impl IndexDef {
    pub fn parse(sql: &str) -> std::result::Result<IndexDef, String> {
        let caps = INDEX_RE.captures(sql).ok_or_else(|| {
            "expected CREATE [UNIQUE] INDEX name ON table (columns) [WHERE column != '']"
                .to_string()
        })?;
        let columns = caps[4]
            .split(',')
            .map(|c| {
                let cc = INDEX_COL_RE
                    .captures(c)
                    .ok_or_else(|| format!("unsupported index column '{}'", c.trim()))?;
                let desc = cc
                    .get(2)
                    .is_some_and(|m| m.as_str().eq_ignore_ascii_case("desc"));
                Ok((cc[1].to_string(), desc))
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(IndexDef {
            name: caps[2].to_string(),
            unique: caps.get(1).is_some(),
            columns,
            where_not_empty: caps.get(5).map(|m| m.as_str().to_string()),
        })
    }

    /// The canonical SQL for `table` (valid in both dialects).
    pub fn to_sql(&self, table: &str) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|(c, desc)| format!("{}{}", quote(c), if *desc { " DESC" } else { "" }))
            .collect();
        let mut s = format!(
            "CREATE {}INDEX {} ON {} ({})",
            if self.unique { "UNIQUE " } else { "" },
            quote(&self.name),
            quote(table),
            cols.join(", ")
        );
        if let Some(w) = &self.where_not_empty {
            s.push_str(&format!(" WHERE {} != ''", quote(w)));
        }
        s
    }
}

fn column_def(f: &Field, d: Dialect) -> String {
    if f.name == "id" {
        return format!("{} TEXT PRIMARY KEY NOT NULL", quote("id"));
    }
    format!("{} {}", quote(&f.name), f.storage().column_sql(d))
}

/// Statements creating the table (or view) of a new collection, with its indexes.
pub fn create_sql(c: &Collection, d: Dialect) -> Vec<String> {
    if c.is_view() {
        return vec![format!(
            "CREATE VIEW {} AS {}",
            quote(&c.name),
            c.view_query
        )];
    }
    let cols: Vec<String> = c.fields.iter().map(|f| column_def(f, d)).collect();
    let mut out = vec![format!(
        "CREATE TABLE {} ({})",
        quote(&c.name),
        cols.join(", ")
    )];
    out.extend(indexes_sql(c));
    out.extend(search_of(c).map(|i| i.create_sql(d)).unwrap_or_default());
    out
}

/// The full-text index of a table's searchable fields (views have none).
fn search_of(c: &Collection) -> Option<SearchIndex> {
    if c.is_view() {
        return None;
    }
    SearchIndex::of(c)
}

/// The collection's own indexes and its [`auto_indexes`].
pub fn indexes_sql(c: &Collection) -> Vec<String> {
    c.indexes
        .iter()
        .filter_map(|s| IndexDef::parse(s).ok())
        .map(|i| i.to_sql(&c.name))
        .chain(auto_indexes(c).into_iter().map(|(_, sql)| sql))
        .collect()
}

pub fn drop_indexes_sql(c: &Collection) -> Vec<String> {
    c.indexes
        .iter()
        .filter_map(|s| IndexDef::parse(s).ok())
        .map(|i| i.name)
        .chain(auto_indexes(c).into_iter().map(|(name, _)| name))
        .map(|name| format!("DROP INDEX IF EXISTS {}", quote(&name)))
        .collect()
}

/// Indexes a table gets without asking (name, statement): one on each autodate field
/// set on create only (`created`), since lists are sorted by it more than by anything
/// else, and a sorted page then reads ~`perPage` rows instead of sorting the table.
/// They are not listed in the collection's `indexes`; names come from ids, so they
/// survive renames.
pub fn auto_indexes(c: &Collection) -> Vec<(String, String)> {
    if c.is_view() {
        return Vec::new();
    }
    c.fields
        .iter()
        .filter(|f| {
            matches!(&f.kind, crate::fields::FieldKind::Autodate(a) if a.on_create && !a.on_update)
        })
        .map(|f| {
            let name = format!("_auto_{}_{}", c.id, f.id);
            let sql = format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
                quote(&name),
                quote(&c.name),
                quote(&f.name)
            );
            (name, sql)
        })
        .collect()
}

pub fn drop_sql(c: &Collection, d: Dialect) -> Vec<String> {
    if c.is_view() {
        return vec![format!("DROP VIEW IF EXISTS {}", quote(&c.name))];
    }
    let mut out = search_of(c).map(|i| i.drop_sql(d)).unwrap_or_default();
    out.push(format!("DROP TABLE IF EXISTS {}", quote(&c.name)));
    out
}

/// Statements turning `old`'s table into `new`'s, keeping the data of kept fields.
/// Fields are matched by id, so a renamed field keeps its column and data.
pub fn alter_sql(old: &Collection, new: &Collection, d: Dialect) -> Result<Vec<String>> {
    if new.is_view() {
        let mut out = drop_sql(old, d);
        out.extend(create_sql(new, d));
        return Ok(out);
    }
    let (search_before, search_after) =
        search_index::alter_sql(search_of(old).as_ref(), search_of(new).as_ref(), d);
    let mut out = search_before;
    out.extend(drop_indexes_sql(old));
    let table = quote(&new.name);
    if old.name != new.name {
        out.push(format!(
            "ALTER TABLE {} RENAME TO {}",
            quote(&old.name),
            table
        ));
    }
    let old_by_id: HashMap<&str, &Field> = old.fields.iter().map(|f| (f.id.as_str(), f)).collect();
    let new_ids: Vec<&str> = new.fields.iter().map(|f| f.id.as_str()).collect();
    for f in &old.fields {
        if !new_ids.contains(&f.id.as_str()) {
            out.push(format!(
                "ALTER TABLE {table} DROP COLUMN {}",
                quote(&f.name)
            ));
        }
    }
    for f in &new.fields {
        match old_by_id.get(f.id.as_str()) {
            None => out.push(format!(
                "ALTER TABLE {table} ADD COLUMN {}",
                column_def(f, d)
            )),
            Some(prev) => {
                if prev.kind.type_name() != f.kind.type_name() {
                    return Err(Error::fields(
                        "Failed to update collection.",
                        vec![(
                            "fields".into(),
                            crate::fields::FieldError::new(
                                "validation_field_type_change",
                                format!("The type of field '{}' cannot be changed.", prev.name),
                            ),
                        )],
                    ));
                }
                if prev.name != f.name {
                    out.push(format!(
                        "ALTER TABLE {table} RENAME COLUMN {} TO {}",
                        quote(&prev.name),
                        quote(&f.name)
                    ));
                }
                if prev.storage() != f.storage() {
                    out.extend(convert_storage(
                        &table,
                        &f.name,
                        prev.storage(),
                        f.storage(),
                        d,
                    ));
                }
            }
        }
    }
    out.extend(indexes_sql(new));
    out.extend(search_after);
    Ok(out)
}

/// Moving a select/relation/file field between single and multiple values.
fn convert_storage(table: &str, col: &str, from: Storage, to: Storage, d: Dialect) -> Vec<String> {
    let c = quote(col);
    match (from, to, d) {
        (Storage::Text, Storage::JsonArray, Dialect::Sqlite) => vec![format!(
            "UPDATE {table} SET {c} = CASE WHEN {c} = '' THEN '[]' ELSE json_array({c}) END"
        )],
        (Storage::JsonArray, Storage::Text, Dialect::Sqlite) => vec![format!(
            "UPDATE {table} SET {c} = COALESCE(json_extract({c}, '$[#-1]'), '')"
        )],
        (Storage::Text, Storage::JsonArray, Dialect::Postgres) => vec![
            format!("ALTER TABLE {table} ALTER COLUMN {c} DROP DEFAULT"),
            format!("ALTER TABLE {table} ALTER COLUMN {c} TYPE JSONB USING CASE WHEN {c} = '' THEN '[]'::jsonb ELSE jsonb_build_array({c}) END"),
            format!("ALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT '[]'"),
        ],
        (Storage::JsonArray, Storage::Text, Dialect::Postgres) => vec![
            format!("ALTER TABLE {table} ALTER COLUMN {c} DROP DEFAULT"),
            format!("ALTER TABLE {table} ALTER COLUMN {c} TYPE TEXT USING COALESCE({c} ->> -1, '')"),
            format!("ALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT ''"),
        ],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{FieldKind, NumberField, SelectField, TextField};

    #[test]
    fn index_parsing() {
        let i = IndexDef::parse(
            "CREATE UNIQUE INDEX `idx_slug` ON `posts` (`slug`, views DESC) WHERE slug != ''",
        )
        .unwrap();
        assert!(i.unique);
        assert_eq!(
            i.columns,
            vec![("slug".into(), false), ("views".into(), true)]
        );
        assert_eq!(
            i.to_sql("articles"),
            r#"CREATE UNIQUE INDEX "idx_slug" ON "articles" ("slug", "views" DESC) WHERE "slug" != ''"#
        );
        assert!(IndexDef::parse("DROP TABLE x").is_err());
        assert!(IndexDef::parse("CREATE INDEX a ON b (lower(c))").is_err());
        assert!(IndexDef::parse("CREATE INDEX a ON b (c); DROP TABLE b").is_err());
    }

    #[test]
    fn alter_keeps_columns_by_id() {
        let old = Collection::base("posts")
            .with_field(Field::new("title", FieldKind::Text(TextField::default())))
            .with_field(Field::new(
                "views",
                FieldKind::Number(NumberField::default()),
            ));
        let mut new = old.clone();
        new.name = "articles".into();
        new.fields[1].name = "headline".into();
        new.fields.retain(|f| f.name != "views");
        new.add_field(Field::new(
            "tags",
            FieldKind::Select(SelectField {
                values: vec!["a".into()],
                max_select: 3,
            }),
        ));
        let sql = alter_sql(&old, &new, Dialect::Sqlite).unwrap();
        // The automatic index on `created` goes first (before columns change) and comes
        // back last, on the renamed table.
        assert!(
            sql[0].starts_with(r#"DROP INDEX IF EXISTS "_auto_"#),
            "{sql:?}"
        );
        assert_eq!(sql[1], r#"ALTER TABLE "posts" RENAME TO "articles""#);
        assert!(
            sql.last().unwrap().contains(r#"ON "articles" ("created")"#),
            "{sql:?}"
        );
        assert!(sql.contains(&r#"ALTER TABLE "articles" DROP COLUMN "views""#.to_string()));
        assert!(sql.contains(
            &r#"ALTER TABLE "articles" RENAME COLUMN "title" TO "headline""#.to_string()
        ));
        assert!(sql.contains(
            &r#"ALTER TABLE "articles" ADD COLUMN "tags" JSON NOT NULL DEFAULT '[]'"#.to_string()
        ));
        let mut changed = old.clone();
        changed.fields[1].kind = FieldKind::Number(NumberField::default());
        assert!(alter_sql(&old, &changed, Dialect::Sqlite).is_err());
    }
}
