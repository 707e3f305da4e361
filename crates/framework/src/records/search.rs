//! Full-text search in record lists (`?search=`, [`RecordQuery::search`]): what a search
//! text becomes in each dialect, over the index `collections::search_index` keeps.
//!
//! The text is read as a web search box reads it, the same on both engines: every word
//! must match (stemmed: "reviews" finds "review"), `"quoted words"` match as a phrase,
//! `or` between words offers alternatives, and `-word` leaves out what has it.
//!
//! [`RecordQuery::search`]: crate::records::RecordQuery::search

use crate::collections::search_index::{SearchIndex, PG_CONFIG, SEARCH_COLUMN};
use crate::db::{quote, Dialect};
use crate::error::{Error, Result};
use crate::fields::FieldError;
use crate::filter::Table;
use crate::records::read::MAIN;
use sea_orm::sea_query::{Alias, Expr, Func, SelectStatement};

/// Longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 500;
/// Aliases of what a search adds to a record query.
const MATCHES: &str = "_search_match";
const KEYS: &str = "_search_key";
const QUERY: &str = "_search_query";

/// A search compiled for one table and dialect.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    index: SearchIndex,
    query: Query,
}

#[derive(Debug, Clone)]
enum Query {
    /// An FTS5 expression, or nothing to look for (no word in the text).
    Sqlite(Option<String>),
    /// The text as given, for `websearch_to_tsquery`.
    Postgres(String),
}

impl Search {
    /// The search for `text` in `t`; a 400 naming `search` when `t` has no searchable
    /// field or the text is too long.
    pub fn compile(t: &dyn Table, text: &str, d: Dialect) -> Result<Search> {
        let index = SearchIndex::of(t).ok_or_else(|| {
            invalid(format!(
                "'{}' has no searchable fields (a text or editor field with \"searchable\": true).",
                t.table_name()
            ))
        })?;
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(invalid(format!(
                "The search text is at most {MAX_SEARCH_CHARS} characters."
            )));
        }
        let query = match d {
            Dialect::Sqlite => Query::Sqlite(fts5_query(text)),
            Dialect::Postgres => Query::Postgres(text.to_string()),
        };
        Ok(Search { index, query })
    }

    /// Narrows `q` (a query over the main table) to the records that match.
    pub fn restrict(&self, q: &mut SelectStatement) {
        let main = quote(MAIN);
        match &self.query {
            Query::Sqlite(None) => {
                q.and_where(Expr::cust("1 = 0"));
            }
            Query::Sqlite(Some(expr)) => {
                // The FTS5 table as a table-valued function of the expression (bound).
                let fts = Func::cust(Alias::new(quote(&self.index.name))).arg(expr.clone());
                q.from_function(fts, Alias::new(MATCHES))
                    .from_as(Alias::new(self.index.keys_table()), Alias::new(KEYS));
                q.and_where(Expr::cust(format!(
                    "{keys}.\"key\" = {matches}.rowid AND {keys}.\"id\" = {main}.\"id\"",
                    keys = quote(KEYS),
                    matches = quote(MATCHES),
                )));
            }
            Query::Postgres(text) => {
                let query = Func::cust(Alias::new("websearch_to_tsquery"))
                    .arg(Expr::cust(PG_CONFIG))
                    .arg(text.clone());
                q.from_function(query, Alias::new(QUERY));
                q.and_where(Expr::cust(format!(
                    "{main}.{} @@ {}",
                    quote(SEARCH_COLUMN),
                    quote(QUERY)
                )));
            }
        }
    }

    /// The order of best match first (ties by id), for a query [`Search::restrict`]ed.
    pub fn relevance(&self) -> Vec<(String, sea_orm::Order)> {
        let by_id = (format!("{}.\"id\"", quote(MAIN)), sea_orm::Order::Asc);
        let best = match &self.query {
            // Nothing matches: no FTS5 table was joined.
            Query::Sqlite(None) => return vec![by_id],
            // FTS5's `rank` is the weighted bm25 set on the table: lower is better.
            Query::Sqlite(Some(_)) => (format!("{}.rank", quote(MATCHES)), sea_orm::Order::Asc),
            Query::Postgres(_) => (
                format!(
                    "ts_rank({}.{}, {})",
                    quote(MAIN),
                    quote(SEARCH_COLUMN),
                    quote(QUERY)
                ),
                sea_orm::Order::Desc,
            ),
        };
        vec![best, by_id]
    }
}

fn invalid(message: String) -> Error {
    Error::field(
        "Invalid search.",
        "search",
        FieldError::new("validation_invalid_search", message),
    )
}

/// One term of a search text: a word or a phrase, maybe excluded.
struct Term {
    words: Vec<String>,
    excluded: bool,
}

/// The FTS5 expression for a web-search-style text (see the module's doc), built only
/// of quoted words and FTS5's operators, so that no text can be a syntax error or reach
/// a column filter; `None` when the text has no word.
pub(crate) fn fts5_query(text: &str) -> Option<String> {
    // Alternatives, each a list of terms that must all hold.
    let mut groups: Vec<Vec<Term>> = vec![Vec::new()];
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let excluded = rest.starts_with('-');
        let body = if excluded { &rest[1..] } else { rest };
        let (raw, phrase, next) = match body.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                let next = (end + 1).min(quoted.len());
                (&quoted[..end], true, &quoted[next..])
            }
            None => {
                let end = body.find(char::is_whitespace).unwrap_or(body.len());
                (&body[..end], false, &body[end..])
            }
        };
        rest = next;
        if !phrase && !excluded && raw.eq_ignore_ascii_case("or") {
            groups.push(Vec::new());
            continue;
        }
        let words: Vec<String> = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if !words.is_empty() {
            if let Some(group) = groups.last_mut() {
                group.push(Term { words, excluded });
            }
        }
    }
    let alternatives: Vec<String> = groups
        .iter()
        .filter_map(|terms| {
            let phrase = |t: &Term| format!("\"{}\"", t.words.join(" "));
            let wanted: Vec<String> = terms.iter().filter(|t| !t.excluded).map(phrase).collect();
            if wanted.is_empty() {
                return None;
            }
            let mut expr = wanted.join(" AND ");
            for t in terms.iter().filter(|t| t.excluded) {
                expr.push_str(" NOT ");
                expr.push_str(&phrase(t));
            }
            Some(format!("({expr})"))
        })
        .collect();
    (!alternatives.is_empty()).then(|| alternatives.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::fts5_query;

    #[test]
    fn web_search_text_becomes_a_safe_fts5_expression() {
        let q = |t: &str| fts5_query(t);
        assert_eq!(
            q("Code review").as_deref(),
            Some(r#"("code" AND "review")"#)
        );
        assert_eq!(
            q(r#""pull request" -draft"#).as_deref(),
            Some(r#"("pull request" NOT "draft")"#)
        );
        assert_eq!(
            q("pdf or docx tools").as_deref(),
            Some(r#"("pdf") OR ("docx" AND "tools")"#)
        );
        // Punctuation separates words as the tokenizer does; FTS5's own syntax is inert.
        assert_eq!(
            q(r#"e-mail name:x AND "unclosed"#).as_deref(),
            Some(r#"("e mail" AND "name x" AND "and" AND "unclosed")"#)
        );
        assert_eq!(q("Ünïcode").as_deref(), Some(r#"("ünïcode")"#));
        for nothing in ["", "   ", "-only", "or", "\"\"", "*** ()", "- -"] {
            assert_eq!(q(nothing), None, "{nothing:?}");
        }
    }
}
