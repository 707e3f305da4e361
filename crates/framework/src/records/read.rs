//! Records: list and view through the API rules, and what a requester may see of a
//! record. Writes are in `record_write`.

use crate::app::App;
use crate::collections::model::auth_fields::{EMAIL, EMAIL_VISIBILITY, TOKEN_KEY};
use crate::collections::model::Collection;
use crate::db::{quote, Db, Dialect};
use crate::error::{Error, Result};
use crate::filter::{
    compile_filter, compile_filter_with, compile_sort, Params, RequestInfo, Scope, Table,
};
use crate::records::columns::{record_from_row, to_sql};
pub use crate::records::expand::expand;
use crate::records::search::Search;
pub use crate::records::write::{create, create_with_files, delete, update, update_with_files};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use serde_json::{Map, Value};
use std::sync::Arc;

/// A record as JSON fields (plus `collectionId`, `collectionName`, maybe `expand`).
pub type Record = Map<String, Value>;

/// Alias of the main table in every record query (rules and filters refer to it).
pub const MAIN: &str = "m";
pub const DEFAULT_PER_PAGE: u64 = 30;
pub const MAX_PER_PAGE: u64 = 1000;

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub page: u64,
    pub per_page: u64,
    pub sort: Option<String>,
    pub filter: Option<String>,
    /// Values for `{:name}` placeholders in `filter` (server code's way of putting a
    /// value into a filter; clients' filters have none).
    pub filter_params: Params,
    pub expand: Option<String>,
    pub skip_total: bool,
    /// Full-text search over the searchable fields; without a `sort`, best match first.
    pub search: Option<String>,
}

impl ListParams {
    /// A list filtered by `filter`, its `{:name}` placeholders bound to `params`
    /// (`ListParams::filtered("nonce = {:nonce}", [("nonce", json!(n))])`).
    pub fn filtered<'a>(filter: &str, params: impl IntoIterator<Item = (&'a str, Value)>) -> Self {
        ListParams {
            filter: Some(filter.to_string()),
            filter_params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct ListResult {
    pub page: u64,
    pub per_page: u64,
    pub total_items: i64,
    pub total_pages: i64,
    pub items: Vec<Record>,
}

impl ListResult {
    /// PocketBase's list envelope: `{page, perPage, totalItems, totalPages, items}`.
    /// (Built by hand: `json!` would serialize every record into a copy of itself.)
    pub fn into_json(self) -> Value {
        let mut m = Map::with_capacity(5);
        m.insert("page".into(), self.page.into());
        m.insert("perPage".into(), self.per_page.into());
        m.insert("totalItems".into(), self.total_items.into());
        m.insert("totalPages".into(), self.total_pages.into());
        let items = self.items.into_iter().map(Value::Object).collect();
        m.insert("items".into(), Value::Array(items));
        Value::Object(m)
    }
}

fn scope<'a>(
    app: &App,
    reg: &'a crate::collections::registry::Registry,
    c: &'a dyn Table,
    req: &'a RequestInfo,
    client: bool,
) -> Scope<'a> {
    let scope = Scope::new(reg, c, MAIN, req, app.dialect());
    if client {
        scope.for_client()
    } else {
        scope
    }
}

/// What a rule means for this requester: everything, a condition, or nothing.
pub(crate) enum Access {
    All,
    Where(Expr),
}

pub(crate) fn rule_access(
    app: &App,
    c: &Collection,
    rule: &Option<String>,
    req: &RequestInfo,
) -> Result<Access> {
    if req.is_superuser() {
        return Ok(Access::All);
    }
    match rule {
        None => Err(Error::superusers_only()),
        Some(r) if r.trim().is_empty() => Ok(Access::All),
        Some(r) => {
            let reg = app.registry();
            let cond = compile_filter(r, &scope(app, &reg, c, req, false))?;
            // A rule that holds whatever the row needs no query of its own (a create's
            // rule is otherwise checked against the inserted row).
            if cond.is_always_true() {
                return Ok(Access::All);
            }
            Ok(Access::Where(cond.into_expr()))
        }
    }
}

pub(crate) fn select_all(c: &dyn Table) -> SelectStatement {
    select_all_from(c, c.table_name())
}

/// [`select_all`] with the record columns read from `table` (aliased as the main table).
fn select_all_from(c: &dyn Table, table: &str) -> SelectStatement {
    let mut q = Query::select();
    q.from_as(Alias::new(table), Alias::new(MAIN));
    for f in c.fields().iter().filter(|f| !f.is_write_only()) {
        q.column((Alias::new(MAIN), Alias::new(f.name.as_str())));
    }
    q
}

/// The table name [`over_values`] replaces with the record's values.
const VALUES_ROW: &str = "__values_row";

/// Renders `q` (built over the table [`VALUES_ROW`]) as a statement over one record given
/// as values rather than a stored row, so rules can be checked against a record that is
/// no longer there. (sea-query leaves a subquery's placeholders unnumbered on PostgreSQL,
/// so the row is written here and the statement's own placeholders are shifted after it.)
fn over_values(
    c: &Collection,
    record: &Record,
    q: &SelectStatement,
    d: Dialect,
) -> sea_orm::Statement {
    let mut cols = Vec::new();
    let mut values = Vec::new();
    for f in c.fields.iter().filter(|f| !f.is_write_only()) {
        let v = record.get(&f.name).cloned().unwrap_or_else(|| f.zero());
        let sql_type = match (f.storage(), d) {
            (crate::fields::Storage::Text, _) => "TEXT",
            (crate::fields::Storage::Number, Dialect::Sqlite) => "REAL",
            (crate::fields::Storage::Number, Dialect::Postgres) => "DOUBLE PRECISION",
            (crate::fields::Storage::Bool, _) => "BOOLEAN",
            (_, Dialect::Sqlite) => "TEXT",
            (_, Dialect::Postgres) => "JSONB",
        };
        values.push(to_sql(f.storage(), &v, d));
        cols.push(format!(
            "CAST({} AS {sql_type}) AS {}",
            d.param(values.len()),
            quote(&f.name)
        ));
    }
    let n = values.len();
    let outer = d.build(q);
    let mut sql = outer.sql;
    if d == Dialect::Postgres {
        static PARAM: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new(r"\$(\d+)").expect("valid regex"));
        sql = PARAM
            .replace_all(&sql, |c: &regex::Captures| {
                let i: usize = c[1].parse().unwrap_or(0);
                format!("${}", i + n)
            })
            .into_owned();
    }
    let sql = sql.replacen(
        &quote(VALUES_ROW),
        &format!("(SELECT {})", cols.join(", ")),
        1,
    );
    values.extend(outer.values.map(|v| v.0).unwrap_or_default());
    d.raw(sql, values)
}

pub(crate) fn id_eq(id: &str) -> Expr {
    in_list(
        Expr::col((Alias::new(MAIN), Alias::new("id"))),
        [id.to_string()],
    )
}

/// `col IN (values...)` with bound values.
pub(crate) fn in_list(col: Expr, values: impl IntoIterator<Item = String>) -> Expr {
    sea_orm::sea_query::ExprTrait::is_in(col, values)
}

pub async fn list(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    p: &ListParams,
) -> Result<ListResult> {
    let mut rule = Vec::new();
    if let Access::Where(e) = rule_access(app, c, &c.list_rule, req)? {
        rule.push(e);
    }
    let mut page = page(app, &**c, req, p, rule).await?;
    if let Some(e) = p.expand.as_deref() {
        expand(app, c, &mut page.items, e, req).await?;
    }
    present_all(app, c, &mut page.items, req).await?;
    Ok(page)
}

/// The list provider: one page of `table`'s rows that match `conds` and the client's
/// filter, in the client's sort order, with the totals (records, logs and collections
/// are all listed by it). The rows are as stored: not expanded, not presented.
pub(crate) async fn page(
    app: &App,
    table: &dyn Table,
    req: &RequestInfo,
    p: &ListParams,
    mut conds: Vec<Expr>,
) -> Result<ListResult> {
    let per_page = match p.per_page {
        0 => DEFAULT_PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let page = p.page.max(1);
    let mut selection = Selection::compile(app, table, req, p, true)?;
    selection.conditions.append(&mut conds);
    // A page far past the end is an empty page, not an overflow.
    let offset = (page - 1).saturating_mul(per_page);
    let items = select(app, table, &selection, per_page, offset).await?;
    let (total_items, total_pages) = if p.skip_total {
        (-1, -1)
    } else {
        let n = count_where(app, table, &selection).await?;
        (n, (n + per_page as i64 - 1) / per_page as i64)
    };
    Ok(ListResult {
        page,
        per_page,
        total_items,
        total_pages,
        items,
    })
}

/// The row of `table` with this id, as stored (for tables without rules).
pub(crate) async fn find_row(app: &App, table: &dyn Table, id: &str) -> Result<Option<Record>> {
    let mut q = select_all(table);
    q.and_where(id_eq(id));
    let row = app
        .db_of(table.store())
        .query_one(app.dialect().build(&q))
        .await?;
    Ok(row.map(|r| record_from_row(&r, table)))
}

/// A filter, search and sort compiled for one requester: the conditions and the order
/// of a query (the collection's rule not included).
pub(crate) struct Selection {
    pub conditions: Vec<Expr>,
    pub search: Option<Search>,
    pub order: Vec<(String, sea_orm::Order)>,
}

impl Selection {
    /// `client`: the filter and sort come from a client, so the client-filter policy
    /// applies (see `Scope::client_filter`).
    pub fn compile(
        app: &App,
        c: &dyn Table,
        req: &RequestInfo,
        p: &ListParams,
        client: bool,
    ) -> Result<Selection> {
        let reg = app.registry();
        let mut conditions = Vec::new();
        if let Some(f) = p.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            let compiled =
                compile_filter_with(f, &p.filter_params, &scope(app, &reg, c, req, client))?;
            conditions.push(compiled.into_expr());
        }
        let search = match p.search.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(Search::compile(c, text, app.dialect())?),
            _ => None,
        };
        let order = match (p.sort.as_deref(), &search) {
            (Some(s), _) => compile_sort(s, &scope(app, &reg, c, req, client))?,
            (None, Some(search)) => search.relevance(),
            (None, None) => Vec::new(),
        };
        Ok(Selection {
            conditions,
            search,
            order,
        })
    }

    /// Narrows `q` (over the main table) to the selected rows.
    fn restrict(&self, q: &mut SelectStatement) {
        for e in &self.conditions {
            q.and_where(e.clone());
        }
        if let Some(search) = &self.search {
            search.restrict(q);
        }
    }
}

/// The records `s` selects, in its order, `limit` from `offset` (as stored: not
/// presented).
pub(crate) async fn select(
    app: &App,
    c: &dyn Table,
    s: &Selection,
    limit: u64,
    offset: u64,
) -> Result<Vec<Record>> {
    let mut q = select_all(c);
    s.restrict(&mut q);
    for (sql, o) in &s.order {
        q.order_by_expr(Expr::cust(sql.clone()), o.clone());
    }
    // Both are bound as signed 64-bit integers (PostgreSQL has no unsigned ones).
    q.limit(limit.min(i64::MAX as u64))
        .offset(offset.min(i64::MAX as u64));
    let rows = app
        .db_of(c.store())
        .query_all(app.dialect().build(&q))
        .await?;
    Ok(rows.iter().map(|r| record_from_row(r, c)).collect())
}

/// How many records `s` selects.
pub(crate) async fn count_where(app: &App, c: &dyn Table, s: &Selection) -> Result<i64> {
    let mut cq = Query::select();
    cq.from_as(Alias::new(c.table_name()), Alias::new(MAIN))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    s.restrict(&mut cq);
    count(app, app.db_of(c.store()), app.dialect().build(&cq)).await
}

/// Runs a `COUNT(*) AS n` query, or, on SQLite, answers from the counts kept since the
/// last write.
async fn count(app: &App, db: &Db, stmt: sea_orm::Statement) -> Result<i64> {
    let run = |stmt| async {
        let row = db.query_one(stmt).await?;
        Ok::<_, Error>(row.map(|r| r.i64("n")).transpose()?.unwrap_or(0))
    };
    if app.dialect() != Dialect::Sqlite {
        return run(stmt).await;
    }
    let key = format!("{}\u{0}{:?}", stmt.sql, stmt.values);
    let generation = db.write_generation();
    if let Some(n) = app.counts().get(&key, generation) {
        return Ok(n);
    }
    let n = run(stmt).await?;
    app.counts().put(key, generation, n);
    Ok(n)
}

/// One record by id, if the view rule lets the requester see it (404 otherwise).
pub async fn view(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    expand_param: Option<&str>,
) -> Result<Record> {
    let rec = find_visible(app, c, id, &c.view_rule, req)
        .await?
        .ok_or_else(Error::not_found)?;
    show(app, c, rec, expand_param, req).await
}

/// Reads a record through `rule` (unhidden); `None` when it is missing or not allowed.
pub(crate) async fn find_visible(
    app: &App,
    c: &Collection,
    id: &str,
    rule: &Option<String>,
    req: &RequestInfo,
) -> Result<Option<Record>> {
    let access = rule_access(app, c, rule, req)?;
    let mut q = select_all(c);
    q.and_where(id_eq(id));
    if let Access::Where(e) = access {
        q.and_where(e);
    }
    let d = app.dialect();
    let row = app.db().query_one(d.build(&q)).await?;
    Ok(row.map(|r| record_from_row(&r, c)))
}

/// The stored record `id`, whatever the rules say (realtime reads it once per change).
pub(crate) async fn find_stored(app: &App, c: &Collection, id: &str) -> Result<Option<Record>> {
    let mut q = select_all(c);
    q.and_where(id_eq(id));
    let row = app.db().query_one(app.dialect().build(&q)).await?;
    Ok(row.map(|r| record_from_row(&r, c)))
}

/// Whether a record with this id is stored, whatever the rules say (batch upserts).
pub(crate) async fn exists(app: &App, c: &Collection, id: &str) -> Result<bool> {
    let mut q = Query::select();
    q.from_as(Alias::new(c.name.as_str()), Alias::new(MAIN))
        .expr(Expr::cust("1"))
        .and_where(id_eq(id));
    Ok(app.db().query_one(app.dialect().build(&q)).await?.is_some())
}

/// How a realtime subscription looks at records.
#[derive(Clone, Copy)]
pub(crate) struct SubscriberView<'a> {
    /// The list rule (`coll/*`) or the view rule (`coll/id`).
    pub rule: &'a Option<String>,
    pub filter: Option<&'a str>,
    pub expand: Option<&'a str>,
    /// The record as values, when it is no longer stored (another instance deleted it).
    pub row: Option<&'a Record>,
}

/// The record `id` as a realtime subscriber sees it: through `rule`, the subscription's
/// `filter` (with the limits of a client filter), `expand`, and hidden fields removed.
pub(crate) async fn visible_for_realtime(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    view: &SubscriberView<'_>,
) -> Result<Option<Record>> {
    let SubscriberView {
        rule,
        filter,
        expand: expand_param,
        row,
    } = *view;
    let access = rule_access(app, c, rule, req)?;
    let d = app.dialect();
    let mut q = select_all_from(c, if row.is_some() { VALUES_ROW } else { &c.name });
    q.and_where(id_eq(id));
    if let Access::Where(e) = access {
        q.and_where(e);
    }
    if let Some(f) = filter.filter(|f| !f.trim().is_empty()) {
        let reg = app.registry();
        q.and_where(compile_filter(f, &scope(app, &reg, c, req, true))?.into_expr());
    }
    let stmt = match row {
        Some(r) => over_values(c, r, &q, d),
        None => d.build(&q),
    };
    let Some(row) = app.db().query_one(stmt).await? else {
        return Ok(None);
    };
    let rec = record_from_row(&row, c);
    let expand_param = expand_param.filter(|e| !e.trim().is_empty());
    Ok(Some(show(app, c, rec, expand_param, req).await?))
}

/// Whether the record `who` of `c` satisfies `rule`, evaluated with itself as
/// `@request.auth` (auth and MFA rules).
pub(crate) async fn record_passes(
    app: &App,
    c: &Collection,
    who: &crate::filter::AuthRecord,
    rule: &str,
) -> Result<bool> {
    let req = crate::auth::mfa::as_itself(who);
    Ok(
        find_visible(app, c, who.id(), &Some(rule.to_string()), &req)
            .await?
            .is_some(),
    )
}

/// Removes what this requester may not see: hidden fields (unless superuser), the
/// token key, and an auth record's e-mail unless visible, own, superuser or `manager`.
fn hide_fields_as(c: &Collection, rec: &mut Record, req: &RequestInfo, manager: bool) {
    let su = req.is_superuser();
    for f in &c.fields {
        if (f.hidden && !su) || f.name == TOKEN_KEY {
            rec.shift_remove(&f.name);
        }
    }
    if c.is_auth() && !su && !manager {
        let own = req
            .auth
            .as_ref()
            .is_some_and(|a| a.collection.id == c.id && rec.get("id") == a.record.get("id"));
        if !own && rec.get(EMAIL_VISIBILITY) != Some(&Value::Bool(true)) {
            rec.shift_remove(EMAIL);
        }
    }
}

/// `present_all` for one record.
pub async fn present(app: &App, c: &Collection, rec: &mut Record, req: &RequestInfo) -> Result<()> {
    present_all(app, c, std::slice::from_mut(rec), req).await
}

/// Expands (when `expand_param` asks) and presents one record for this requester: what
/// every answer that shows a record does (views, written records, logins, batches).
pub(crate) async fn show(
    app: &App,
    c: &Collection,
    rec: Record,
    expand_param: Option<&str>,
    req: &RequestInfo,
) -> Result<Record> {
    let mut items = vec![rec];
    if let Some(e) = expand_param {
        expand(app, c, &mut items, e, req).await?;
    }
    present_all(app, c, &mut items, req).await?;
    Ok(items.pop().unwrap_or_default())
}

/// Shapes records as this requester may see them, the one way every path does (lists,
/// views, expand, responses to writes, realtime, batch): hidden fields and token keys
/// removed, and an auth record's e-mail shown when it is public, the requester's own,
/// or the requester satisfies the collection's `manageRule` for it (one query for all).
pub async fn present_all(
    app: &App,
    c: &Collection,
    recs: &mut [Record],
    req: &RequestInfo,
) -> Result<()> {
    fn id_of(r: &Record) -> Option<&str> {
        r.get("id").and_then(Value::as_str)
    }
    let hides_email = |r: &Record| {
        c.is_auth()
            && !req.is_superuser()
            && r.get(EMAIL_VISIBILITY) != Some(&Value::Bool(true))
            && req.auth_id() != r.get("id").and_then(Value::as_str)
    };
    let candidates: Vec<String> = recs
        .iter()
        .filter(|r| hides_email(r))
        .filter_map(|r| id_of(r).map(str::to_string))
        .collect();
    let managed = managed_ids(app, c, candidates, req).await?;
    for rec in recs.iter_mut() {
        let manager = !managed.is_empty() && id_of(rec).is_some_and(|id| managed.contains(id));
        hide_fields_as(c, rec, req, manager);
    }
    Ok(())
}

/// Which of `ids` the requester may manage through the collection's `manageRule`.
async fn managed_ids(
    app: &App,
    c: &Collection,
    ids: Vec<String>,
    req: &RequestInfo,
) -> Result<std::collections::HashSet<String>> {
    let rule = c.auth.as_ref().and_then(|a| a.manage_rule.clone());
    if ids.is_empty() || rule.is_none() {
        return Ok(Default::default());
    }
    let mut q = Query::select();
    q.from_as(Alias::new(c.name.as_str()), Alias::new(MAIN))
        .column((Alias::new(MAIN), Alias::new("id")))
        .and_where(in_list(
            Expr::col((Alias::new(MAIN), Alias::new("id"))),
            ids,
        ));
    if let Access::Where(e) = rule_access(app, c, &rule, req)? {
        q.and_where(e);
    }
    let rows = app.db().query_all(app.dialect().build(&q)).await?;
    rows.iter().map(|r| Ok(r.string("id")?)).collect()
}

/// Whether the requester may manage this auth record: a superuser, or someone who
/// satisfies the collection's `manageRule` for it.
pub(crate) async fn can_manage(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
) -> Result<bool> {
    if req.is_superuser() {
        return Ok(true);
    }
    Ok(managed_ids(app, c, vec![id.to_string()], req)
        .await?
        .contains(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_over_a_record_given_as_values() {
        let c = Collection::base("notes");
        let mut r = Record::new();
        r.insert("id".into(), serde_json::json!("abc"));
        let mut q = select_all_from(&c, VALUES_ROW);
        q.and_where(id_eq("abc"));
        let st = over_values(&c, &r, &q, Dialect::Postgres);
        assert_eq!(
            st.sql,
            "SELECT \"m\".\"id\", \"m\".\"created\", \"m\".\"updated\" FROM (SELECT CAST($1 AS TEXT) AS \"id\", \
             CAST($2 AS TEXT) AS \"created\", CAST($3 AS TEXT) AS \"updated\") AS \"m\" WHERE \"m\".\"id\" IN ($4)"
        );
        assert_eq!(st.values.map(|v| v.0.len()), Some(4));
        let st = over_values(&c, &r, &q, Dialect::Sqlite);
        assert!(
            // SQLite numbers a bare `?` one past the largest number before it: `?4` here.
            st.sql.contains("FROM (SELECT CAST(?1 AS TEXT) AS \"id\"")
                && st.sql.ends_with("IN (?)"),
            "{}",
            st.sql
        );
    }
}
