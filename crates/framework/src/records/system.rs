//! The app's own reads and writes: records found by id or by a filter with bound
//! parameters, counted, created, updated and deleted as the system (no API rule applies),
//! several writes committed together, and typed getters on records.

use crate::app::App;
use crate::auth::superusers::system_request;
use crate::error::{Error, Result};
use crate::files::FormFile;
use crate::filter::Params;
use crate::records::batch::{self, BatchAction, BatchRequest};
use crate::records::read::{self as records, ListParams, Record, Selection};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Which records a system read wants: a filter in PocketBase's language whose values are
/// bound `{:name}` parameters (never spliced into the text), a sort, and a window.
///
/// `RecordQuery::filter("agent = {:agent} && read = false").bind("agent", id).sort("-created")`
#[derive(Debug, Clone, Default)]
pub struct RecordQuery {
    filter: Option<String>,
    params: Params,
    sort: Option<String>,
    search: Option<String>,
    limit: Option<u64>,
    offset: u64,
}

impl RecordQuery {
    /// Every record of the collection.
    pub fn all() -> Self {
        Self::default()
    }

    /// The records `filter` matches (`{:name}` placeholders are bound with [`bind`]).
    ///
    /// [`bind`]: RecordQuery::bind
    pub fn filter(filter: &str) -> Self {
        RecordQuery {
            filter: Some(filter.to_string()),
            ..Self::default()
        }
    }

    /// Narrows the query by one more condition with one bound value:
    /// `RecordQuery::all().and("kind = {:kind}", "kind", "client")`. Conditions join
    /// with `&&`; building a filter from optional parts needs no string splicing.
    pub fn and(mut self, condition: &str, name: &str, value: impl Into<Value>) -> Self {
        self.filter = Some(match self.filter.take() {
            None => condition.to_string(),
            Some(f) => format!("({f}) && ({condition})"),
        });
        self.bind(name, value)
    }

    /// Binds the placeholder `{:name}` to `value`.
    pub fn bind(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    /// Only the records whose searchable fields match `text` (words, `"phrases"`, `or`,
    /// `-word`: see `?search=`), best match first unless a [`sort`] is given.
    ///
    /// [`sort`]: RecordQuery::sort
    pub fn search(mut self, text: &str) -> Self {
        self.search = Some(text.to_string());
        self
    }

    /// PocketBase's sort syntax: `-created,title`.
    pub fn sort(mut self, sort: &str) -> Self {
        self.sort = Some(sort.to_string());
        self
    }

    /// At most `n` records (no limit by default).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` matches.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = n;
        self
    }

    fn list_params(&self) -> ListParams {
        ListParams {
            filter: self.filter.clone(),
            filter_params: self.params.clone(),
            sort: self.sort.clone(),
            search: self.search.clone(),
            ..ListParams::default()
        }
    }
}

/// Writes that land together or not at all ([`App::run_in_transaction`]).
#[derive(Default)]
pub struct Transaction {
    writes: Vec<BatchRequest>,
    /// The first write whose body was not a JSON object.
    not_an_object: Option<usize>,
}

impl Transaction {
    /// Creates a record from `body` (an object of field values).
    pub fn create(&mut self, collection: &str, body: Value) -> &mut Self {
        self.push(collection, BatchAction::Create, body)
    }

    /// Creates a record from `body` with files for its file fields ([`FormFile`]s keyed
    /// by field name, typed from their bytes), stored only if the transaction commits.
    pub fn create_with_files(
        &mut self,
        collection: &str,
        body: Value,
        files: Vec<FormFile>,
    ) -> &mut Self {
        self.push(collection, BatchAction::Create, body);
        if let Some(last) = self.writes.last_mut() {
            last.files = files;
        }
        self
    }

    /// Updates record `id` with the fields in `patch`.
    pub fn update(&mut self, collection: &str, id: &str, patch: Value) -> &mut Self {
        self.push(collection, BatchAction::Update(id.to_string()), patch)
    }

    /// Deletes record `id`.
    pub fn delete(&mut self, collection: &str, id: &str) -> &mut Self {
        self.push(collection, BatchAction::Delete(id.to_string()), Value::Null)
    }

    fn push(&mut self, collection: &str, action: BatchAction, body: Value) -> &mut Self {
        let body = match body {
            Value::Object(m) => m,
            Value::Null if action_is_delete(&action) => Map::new(),
            _ => {
                self.not_an_object.get_or_insert(self.writes.len());
                Map::new()
            }
        };
        self.writes.push(BatchRequest {
            collection: collection.to_string(),
            action,
            query: Default::default(),
            headers: Default::default(),
            body,
            files: Vec::new(),
            guard: None,
        });
        self
    }

    /// [`Transaction::update`], only if the stored record still matches `guard` when the
    /// transaction writes it (the row is locked from that check on): otherwise nothing
    /// is written and the transaction fails with a 409. For counters with a ceiling
    /// (`uses < max_uses`) and other check-then-write steps that concurrent writers race.
    pub fn update_if(
        &mut self,
        collection: &str,
        id: &str,
        patch: Value,
        guard: &RecordQuery,
    ) -> &mut Self {
        self.update(collection, id, patch);
        if let (Some(last), Some(filter)) = (self.writes.last_mut(), &guard.filter) {
            last.guard = Some((filter.clone(), guard.params.clone()));
        }
        self
    }
}

fn action_is_delete(action: &BatchAction) -> bool {
    matches!(action, BatchAction::Delete(_))
}

impl App {
    /// The record `id` of `collection`, if there is one.
    pub async fn find_record(&self, collection: &str, id: &str) -> Result<Option<Record>> {
        let c = self.collection(collection)?;
        let req = system_request(self)?;
        let found = records::find_visible(self, &c, id, &None, &req).await?;
        match found {
            Some(mut rec) => {
                records::present(self, &c, &mut rec, &req).await?;
                Ok(Some(rec))
            }
            None => Ok(None),
        }
    }

    /// [`App::find_record`] for a record read on almost every request (the user or agent
    /// behind a token): answered from memory when read less than 2 s ago. A write through
    /// this instance is seen at once; one through another instance sharing the database
    /// within those 2 s, as for the auth records behind tokens.
    pub async fn find_record_cached(&self, collection: &str, id: &str) -> Result<Option<Record>> {
        let c = self.collection(collection)?;
        if let Some(hit) = self.recent_records().get(&c.id, id) {
            return Ok(hit);
        }
        // A write committed while this read ran may be newer than what it read: then the
        // answer is not kept.
        let before = self.db().write_generation();
        let found = self.find_record(collection, id).await?;
        if self.db().write_generation() == before {
            self.recent_records().put(&c.id, id, found.clone());
        }
        Ok(found)
    }

    /// The first record `query` matches (in its sort order).
    pub async fn find_first(
        &self,
        collection: &str,
        query: &RecordQuery,
    ) -> Result<Option<Record>> {
        let q = query.clone().limit(1);
        Ok(self.find_records(collection, &q).await?.pop())
    }

    /// Every record `query` matches, in its sort order.
    pub async fn find_records(&self, collection: &str, query: &RecordQuery) -> Result<Vec<Record>> {
        let c = self.collection(collection)?;
        let req = system_request(self)?;
        let s = Selection::compile(self, &c, &req, &query.list_params(), false)?;
        let limit = query.limit.unwrap_or(u64::MAX);
        let mut items = records::select(self, &c, &s, limit, query.offset).await?;
        records::present_all(self, &c, &mut items, &req).await?;
        Ok(items)
    }

    /// The records with these ids that exist (in no particular order): for the names
    /// behind a page of relation ids, in a few queries rather than one per id.
    pub async fn find_records_by_ids<'a>(
        &self,
        collection: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Record>> {
        const PER_QUERY: usize = 100;
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PER_QUERY) {
            let filter: Vec<String> = (0..chunk.len())
                .map(|i| format!("id = {{:i{i}}}"))
                .collect();
            let query = chunk
                .iter()
                .enumerate()
                .fold(RecordQuery::filter(&filter.join(" || ")), |q, (i, id)| {
                    q.bind(&format!("i{i}"), *id)
                });
            found.extend(self.find_records(collection, &query).await?);
        }
        Ok(found)
    }

    /// How many records `query` matches (its sort and window do not count).
    pub async fn count_records(&self, collection: &str, query: &RecordQuery) -> Result<i64> {
        let c = self.collection(collection)?;
        let req = system_request(self)?;
        let s = Selection::compile(self, &c, &req, &query.list_params(), false)?;
        records::count_where(self, &c, &s).await
    }

    /// Creates a record from `body` (an object of field values), validated and hooked
    /// as any create; no rule applies.
    pub async fn create_record(&self, collection: &str, body: Value) -> Result<Record> {
        let c = self.collection(collection)?;
        records::create(self, &c, &system_request(self)?, object(body)?).await
    }

    /// Updates record `id` with the fields in `patch` (body modifiers such as `n+` work).
    pub async fn update_record(&self, collection: &str, id: &str, patch: Value) -> Result<Record> {
        let c = self.collection(collection)?;
        records::update(self, &c, id, &system_request(self)?, object(patch)?).await
    }

    /// Deletes record `id` (and what cascades from it).
    pub async fn delete_record(&self, collection: &str, id: &str) -> Result<()> {
        let c = self.collection(collection)?;
        records::delete(self, &c, id, &system_request(self)?).await
    }

    /// Runs the writes `build` lists in one database transaction: each is validated
    /// seeing the ones before it, then all commit, or none does and the error says which
    /// failed ([`Error::Batch`]). Returns the written records (`None` for deletes).
    ///
    /// `build` runs before anything is written, so reads it makes see committed data only.
    pub async fn run_in_transaction(
        &self,
        build: impl FnOnce(&mut Transaction) -> Result<()>,
    ) -> Result<Vec<Option<Record>>> {
        let mut tx = Transaction::default();
        build(&mut tx)?;
        if let Some(index) = tx.not_an_object {
            return Err(Error::Batch {
                index,
                error: Box::new(not_an_object()),
            });
        }
        if tx.writes.is_empty() {
            return Ok(Vec::new());
        }
        batch::commit_as(self, &system_request(self)?, tx.writes).await
    }
}

fn object(body: Value) -> Result<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(not_an_object()),
    }
}

fn not_an_object() -> Error {
    Error::BadRequest("A record's fields are given as a JSON object.".into())
}

/// Typed reads of a record's fields: a missing field or a value of another type reads as
/// the type's zero value, as PocketBase's `record.GetString` and friends do.
pub trait RecordFields {
    fn id(&self) -> &str;
    fn get_str(&self, name: &str) -> &str;
    fn get_bool(&self, name: &str) -> bool;
    fn get_f64(&self, name: &str) -> f64;
    fn get_i64(&self, name: &str) -> i64;
    /// A date field's value (`None` when empty or not a date).
    fn get_datetime(&self, name: &str) -> Option<DateTime<Utc>>;
    /// A multi-valued field's values (a single value as one element).
    fn get_strings(&self, name: &str) -> Vec<String>;
}

impl RecordFields for Record {
    fn id(&self) -> &str {
        self.get_str("id")
    }

    fn get_str(&self, name: &str) -> &str {
        self.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    fn get_bool(&self, name: &str) -> bool {
        self.get(name).and_then(Value::as_bool).unwrap_or_default()
    }

    fn get_f64(&self, name: &str) -> f64 {
        self.get(name).and_then(Value::as_f64).unwrap_or_default()
    }

    fn get_i64(&self, name: &str) -> i64 {
        match self.get(name) {
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .unwrap_or_default(),
            _ => 0,
        }
    }

    fn get_datetime(&self, name: &str) -> Option<DateTime<Utc>> {
        crate::fields::parse_datetime(self.get_str(name))
    }

    fn get_strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_getters_read_zero_values_for_missing_or_mistyped_fields() {
        let Value::Object(rec) = json!({
            "id": "abc", "title": "t", "n": 2.5, "k": 3, "ok": true,
            "tags": ["a", "b"], "one": "x", "at": "2026-12-01 08:00:00.000Z"
        }) else {
            unreachable!()
        };
        assert_eq!(rec.id(), "abc");
        assert_eq!(rec.get_str("title"), "t");
        assert_eq!(rec.get_str("n"), "");
        assert_eq!(rec.get_f64("n"), 2.5);
        assert_eq!(rec.get_i64("k"), 3);
        assert_eq!(rec.get_i64("n"), 2);
        assert!(rec.get_bool("ok"));
        assert!(!rec.get_bool("missing"));
        assert_eq!(rec.get_strings("tags"), vec!["a", "b"]);
        assert_eq!(rec.get_strings("one"), vec!["x"]);
        assert!(rec.get_strings("missing").is_empty());
        let at = rec.get_datetime("at").expect("a date");
        assert_eq!(at.to_rfc3339(), "2026-12-01T08:00:00+00:00");
        assert!(rec.get_datetime("title").is_none());
    }

    #[test]
    fn a_query_binds_its_parameters() {
        let q = RecordQuery::filter("a = {:a}")
            .bind("a", 1)
            .sort("-created")
            .limit(5);
        let p = q.list_params();
        assert_eq!(p.filter.as_deref(), Some("a = {:a}"));
        assert_eq!(p.filter_params["a"], json!(1));
        assert_eq!(p.sort.as_deref(), Some("-created"));
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn conditions_join_with_and() {
        let q = RecordQuery::all()
            .and("a = {:a}", "a", 1)
            .and("b ~ {:b}", "b", "x");
        let p = q.list_params();
        assert_eq!(p.filter.as_deref(), Some("(a = {:a}) && (b ~ {:b})"));
        assert_eq!(p.filter_params["b"], json!("x"));
    }
}
