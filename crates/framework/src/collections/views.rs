//! View collections: the fields of a view read from its query's result columns, and the
//! database's complaints about a query turned into the `viewQuery` field's error.

use crate::collections::ids::field_id;
use crate::collections::model::Collection;
use crate::db::{quote, Dialect, WriteTx};
use crate::error::{Error, Result};
use crate::fields::{Field, FieldError, FieldKind};

pub(crate) fn invalid_view_query(e: Error) -> Error {
    let text = match &e {
        Error::Db(db) => db.to_string(),
        Error::BadRequest(m) => m.clone(),
        _ => return e,
    };
    // The database's own words, without the driver's framing.
    let words = [
        "error returned from database: ",
        "Custom Error: ",
        "Schema change failed: ",
    ]
    .iter()
    .fold(text.as_str(), |t, p| t.rsplit(p).next().unwrap_or(t))
    .trim()
    .trim_end_matches('.');
    Error::fields(
        "Failed to save collection.",
        vec![
            (
                "viewQuery".into(),
                FieldError::new(
                    "validation_invalid_view_query",
                    format!("Invalid query - {words}."),
                ),
            ),
            // No query, no fields (PocketBase reports both).
            ("fields".into(), FieldError::required()),
        ],
    )
}

/// Field definitions of a view, read back from the database's own description of it.
pub(crate) async fn infer_view_fields(
    txn: &dyn WriteTx,
    d: Dialect,
    c: &Collection,
) -> Result<Vec<Field>> {
    let (sql, name_col, type_col) = match d {
        Dialect::Sqlite => ("SELECT \"name\", \"type\" FROM pragma_table_info(?)".to_string(), "name", "type"),
        Dialect::Postgres => (
            "SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position".to_string(),
            "name",
            "type",
        ),
    };
    let rows = txn
        .query_all(d.raw(sql, vec![c.name.clone().into()]))
        .await?;
    let mut fields = Vec::new();
    for r in rows {
        let name: String = r.string(name_col)?;
        let mut ty: String = r.string(type_col)?.to_lowercase();
        if ty.is_empty() && d == Dialect::Sqlite {
            // Computed columns have no declared type: look at a stored value.
            let probe = format!(
                "SELECT typeof({col}) AS t FROM {view} WHERE {col} IS NOT NULL LIMIT 1",
                col = quote(&name),
                view = quote(&c.name)
            );
            if let Some(row) = txn.query_one(d.raw(probe, vec![])).await? {
                ty = row.string("t").unwrap_or_default();
            }
        }
        let kind = if name == "id" {
            fields.push({
                let mut f = crate::collections::model::id_field();
                if let FieldKind::Text(t) = &mut f.kind {
                    t.min = 0;
                    t.max = 0;
                    t.pattern.clear();
                }
                f
            });
            continue;
        } else if ty.contains("json") || ty.is_empty() || ty == "blob" {
            FieldKind::Json(Default::default())
        } else if ty.contains("text") || ty.contains("char") {
            FieldKind::Text(Default::default())
        } else if ty.contains("bool") {
            FieldKind::Bool(Default::default())
        } else if ["real", "double", "int", "numeric", "float", "decimal"]
            .iter()
            .any(|k| ty.contains(k))
        {
            FieldKind::Number(Default::default())
        } else {
            FieldKind::Text(Default::default())
        };
        let mut f = Field::new(&name, kind);
        f.id = field_id(f.kind.type_name(), &name);
        fields.push(f);
    }
    if !fields.iter().any(|f| f.name == "id") {
        return Err(Error::fields(
            "Failed to save collection.",
            vec![
                (
                    "viewQuery".into(),
                    FieldError::new(
                        "validation_invalid_view_query",
                        "Invalid query - missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one).",
                    ),
                ),
                (
                    "fields".into(),
                    FieldError::new("validation_missing_primary_key", "Missing or invalid \"id\" PK field."),
                ),
            ],
        ));
    }
    Ok(fields)
}
