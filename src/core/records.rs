//! Records: list, view, create, update and delete with API rules, validation, hooks,
//! relation checks and cascade deletes.

use super::app::App;
use super::collection::Collection;
use super::error::{Error, Result};
pub use super::expand::expand;
use super::fields::{format_datetime, Field, FieldError, FieldKind};
use super::filter::{compile_filter, compile_sort, RequestInfo, Scope};
use super::hooks::{HookPoint, RecordEvent};
use super::ids::{is_valid_record_id, new_record_id, random_from, random_token};
use super::record_io::{record_from_row, to_sql};
use crate::db::{quote, Dialect, WriteTx};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::Value as SqlValue;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// A record as JSON fields (plus `collectionId`, `collectionName`, maybe `expand`).
pub type Record = Map<String, Value>;

/// Alias of the main table in every record query (rules and filters refer to it).
pub const MAIN: &str = "m";
pub const DEFAULT_PER_PAGE: u64 = 30;
pub const MAX_PER_PAGE: u64 = 1000;
const MAX_CASCADE_DEPTH: usize = 16;

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub page: u64,
    pub per_page: u64,
    pub sort: Option<String>,
    pub filter: Option<String>,
    pub expand: Option<String>,
    pub skip_total: bool,
}

#[derive(Debug, Clone)]
pub struct ListResult {
    pub page: u64,
    pub per_page: u64,
    pub total_items: i64,
    pub total_pages: i64,
    pub items: Vec<Record>,
}

fn scope<'a>(
    app: &App,
    reg: &'a super::registry::Registry,
    c: &'a Collection,
    req: &'a RequestInfo,
    client: bool,
) -> Scope<'a> {
    Scope {
        registry: reg,
        collection: c,
        alias: MAIN,
        request: req,
        dialect: app.dialect(),
        now: chrono::Utc::now(),
        client_filter: client,
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
            Ok(Access::Where(cond.into_expr()))
        }
    }
}

pub(crate) fn select_all(c: &Collection) -> SelectStatement {
    select_all_from(c, &c.name)
}

/// [`select_all`] with the record columns read from `table` (aliased as the main table).
fn select_all_from(c: &Collection, table: &str) -> SelectStatement {
    let mut q = Query::select();
    q.from_as(Alias::new(table), Alias::new(MAIN));
    for f in c.fields.iter().filter(|f| !f.is_write_only()) {
        q.column((Alias::new(MAIN), Alias::new(f.name.as_str())));
    }
    q
}

/// The table name [`over_values`] replaces with the record's values.
const VALUES_ROW: &str = "__gather_values_row";

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
            (super::fields::Storage::Text, _) => "TEXT",
            (super::fields::Storage::Number, Dialect::Sqlite) => "REAL",
            (super::fields::Storage::Number, Dialect::Postgres) => "DOUBLE PRECISION",
            (super::fields::Storage::Bool, _) => "BOOLEAN",
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

fn id_eq(id: &str) -> Expr {
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
    let per_page = match p.per_page {
        0 => DEFAULT_PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let page = p.page.max(1);
    let reg = app.registry();
    let mut conds = Vec::new();
    if let Access::Where(e) = rule_access(app, c, &c.list_rule, req)? {
        conds.push(e);
    }
    if let Some(f) = p.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let compiled = compile_filter(f, &scope(app, &reg, c, req, true))?;
        conds.push(compiled.into_expr());
    }
    let d = app.dialect();
    let mut q = select_all(c);
    for e in &conds {
        q.and_where(e.clone());
    }
    if let Some(s) = p.sort.as_deref() {
        for (sql, order) in compile_sort(s, &scope(app, &reg, c, req, true))? {
            q.order_by_expr(Expr::cust(sql), order);
        }
    }
    q.limit(per_page).offset((page - 1) * per_page);
    let rows = app.db().query_all(d.build(&q)).await?;
    let mut items: Vec<Record> = rows.iter().map(|r| record_from_row(r, c, d)).collect();

    let (total_items, total_pages) = if p.skip_total {
        (-1, -1)
    } else {
        let mut cq = Query::select();
        cq.from_as(Alias::new(c.name.as_str()), Alias::new(MAIN))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
        for e in conds {
            cq.and_where(e);
        }
        let row = app.db().query_one(d.build(&cq)).await?;
        let n: i64 = row
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        (n, (n + per_page as i64 - 1) / per_page as i64)
    };
    if let Some(e) = p.expand.as_deref() {
        expand(app, c, &mut items, e, req).await?;
    }
    for it in items.iter_mut() {
        hide_fields(c, it, req);
    }
    Ok(ListResult {
        page,
        per_page,
        total_items,
        total_pages,
        items,
    })
}

/// One record by id, if the view rule lets the requester see it (404 otherwise).
pub async fn view(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    expand_param: Option<&str>,
) -> Result<Record> {
    let mut rec = find_visible(app, c, id, &c.view_rule, req)
        .await?
        .ok_or_else(Error::not_found)?;
    if let Some(e) = expand_param {
        let mut items = vec![rec];
        expand(app, c, &mut items, e, req).await?;
        rec = items.pop().unwrap_or_default();
    }
    present(app, c, &mut rec, req).await?;
    Ok(rec)
}

/// Reads a record through `rule` (unhidden); `None` when it is missing or not allowed.
async fn find_visible(
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
    Ok(row.map(|r| record_from_row(&r, c, d)))
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
    let mut rec = record_from_row(&row, c, d);
    if let Some(e) = expand_param.filter(|e| !e.trim().is_empty()) {
        let mut items = vec![rec];
        expand(app, c, &mut items, e, req).await?;
        rec = items.pop().unwrap_or_default();
    }
    present(app, c, &mut rec, req).await?;
    Ok(Some(rec))
}

/// Whether the record `who` of `c` satisfies `rule`, evaluated with itself as
/// `@request.auth` (auth and MFA rules).
pub(crate) async fn record_passes(
    app: &App,
    c: &Collection,
    who: &super::filter::AuthRecord,
    rule: &str,
) -> Result<bool> {
    let req = super::mfa::as_itself(who);
    Ok(
        find_visible(app, c, who.id(), &Some(rule.to_string()), &req)
            .await?
            .is_some(),
    )
}

/// Removes what this requester may not see: hidden fields (unless superuser), the
/// token key, and an auth record's e-mail unless visible, own, or superuser.
pub fn hide_fields(c: &Collection, rec: &mut Record, req: &RequestInfo) {
    hide_fields_as(c, rec, req, false)
}

/// [`hide_fields`] for a requester who may manage this auth record (sees its e-mail).
fn hide_fields_as(c: &Collection, rec: &mut Record, req: &RequestInfo, manager: bool) {
    let su = req.is_superuser();
    for f in &c.fields {
        if (f.hidden && !su) || f.name == "tokenKey" {
            rec.shift_remove(&f.name);
        }
    }
    if c.is_auth() && !su && !manager {
        let own = req
            .auth
            .as_ref()
            .is_some_and(|a| a.collection.id == c.id && rec.get("id") == a.record.get("id"));
        if !own && rec.get("emailVisibility") != Some(&Value::Bool(true)) {
            rec.shift_remove("email");
        }
    }
}

/// [`hide_fields`] for one record, checking the collection's `manageRule` when that is
/// what decides whether its e-mail shows.
pub async fn present(
    app: &App,
    c: &Arc<Collection>,
    rec: &mut Record,
    req: &RequestInfo,
) -> Result<()> {
    let hidden_email = c.is_auth()
        && !req.is_superuser()
        && rec.get("emailVisibility") != Some(&Value::Bool(true))
        && req.auth_id() != rec.get("id").and_then(Value::as_str);
    let manager = match (hidden_email, rec.get("id").and_then(Value::as_str)) {
        (true, Some(id)) => can_manage(app, c, id, req).await?,
        _ => false,
    };
    hide_fields_as(c, rec, req, manager);
    Ok(())
}

// ----- writes ----------------------------------------------------------------------------

/// Values sent for one field: a plain set, or `field+` / `+field` / `field-` modifiers.
fn apply_body(
    f: &Field,
    current: &Value,
    body: &Map<String, Value>,
) -> Option<std::result::Result<Value, FieldError>> {
    let name = &f.name;
    let set = body.get(name.as_str());
    let prepend = body.get(&format!("+{name}"));
    let append = body.get(&format!("{name}+"));
    let remove = body.get(&format!("{name}-"));
    if set.is_none() && prepend.is_none() && append.is_none() && remove.is_none() {
        return None;
    }
    let mut v = set.cloned().unwrap_or_else(|| current.clone());
    if matches!(f.kind, FieldKind::Number(_)) {
        let base = match set {
            Some(s) => match f.prepare(s) {
                Ok(n) => n.as_f64().unwrap_or(0.0),
                Err(e) => return Some(Err(e)),
            },
            None => current.as_f64().unwrap_or(0.0),
        };
        let delta = |x: Option<&Value>| -> std::result::Result<f64, FieldError> {
            match x {
                None => Ok(0.0),
                Some(x) => f
                    .kind
                    .as_type()
                    .prepare(x, false)
                    .map(|n| n.as_f64().unwrap_or(0.0)),
            }
        };
        return Some(match (delta(append), delta(remove)) {
            (Ok(a), Ok(r)) => Ok(super::fields::number_json_value(base + a - r)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        });
    }
    if f.is_multi() {
        let as_list = |x: &Value| -> Vec<Value> {
            match x {
                Value::Array(a) => a.clone(),
                Value::Null => vec![],
                Value::String(s) if s.is_empty() => vec![],
                other => vec![other.clone()],
            }
        };
        let mut items = as_list(&v);
        if let Some(p) = prepend {
            let mut front = as_list(p);
            front.extend(items);
            items = front;
        }
        if let Some(a) = append {
            items.extend(as_list(a));
        }
        if let Some(r) = remove {
            let gone = as_list(r);
            items.retain(|x| !gone.contains(x));
        }
        v = Value::Array(items);
    } else if let Some(r) = remove {
        if r == &v || as_single(r) == as_single(&v) {
            v = Value::Null;
        }
    } else if let Some(a) = append.or(prepend) {
        v = a.clone();
    }
    Some(f.prepare(&v))
}

fn as_single(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(a) if a.len() == 1 => a[0].as_str(),
        _ => None,
    }
}

/// Generates a value for patterns of the form `[chars]{n}` (ids, token keys).
fn autogenerate(pattern: &str) -> Option<String> {
    let (class, rest) = pattern.strip_prefix('[')?.split_once(']')?;
    let n: usize = rest.strip_prefix('{')?.strip_suffix('}')?.parse().ok()?;
    let mut alphabet = Vec::new();
    let bytes = class.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if i + 2 < bytes.len() && bytes[i + 1] == b'-' {
            alphabet.extend(bytes[i]..=bytes[i + 2]);
            i += 3;
        } else {
            alphabet.push(bytes[i]);
            i += 1;
        }
    }
    (!alphabet.is_empty()).then(|| random_from(&alphabet, n))
}

/// The checked values to write for a create (`existing = None`) or an update.
/// `manager`: the requester is a superuser or satisfies the auth collection's
/// `manageRule` for this record, and so may set `verified` and `email` directly.
fn build_values(
    c: &Collection,
    body: &Map<String, Value>,
    existing: Option<&Record>,
    manager: bool,
    action: &str,
) -> Result<Record> {
    let mut errors: Vec<(String, FieldError)> = Vec::new();
    let mut out = Record::new();
    let now = format_datetime(chrono::Utc::now());
    for f in &c.fields {
        let current = existing
            .and_then(|e| e.get(&f.name))
            .cloned()
            .unwrap_or_else(|| f.zero());
        match &f.kind {
            FieldKind::Autodate(a) => {
                if (existing.is_none() && a.on_create) || a.on_update {
                    out.insert(f.name.clone(), Value::String(now.clone()));
                }
                continue;
            }
            _ if f.name == "id" => {
                if existing.is_some() {
                    if body.get("id").is_some_and(|v| {
                        v.as_str() != existing.and_then(|e| e.get("id")).and_then(Value::as_str)
                    }) {
                        errors.push((
                            "id".into(),
                            FieldError::new(
                                "validation_id_change",
                                "The record id cannot be changed.",
                            ),
                        ));
                    }
                    continue;
                }
                let id = match body.get("id") {
                    Some(Value::String(s)) if !s.is_empty() => {
                        if !is_valid_record_id(s) {
                            errors.push((
                                "id".into(),
                                FieldError::new("validation_invalid_format", "Invalid id format."),
                            ));
                            continue;
                        }
                        if let Err(e) = f.prepare(&Value::String(s.clone())) {
                            errors.push(("id".into(), e));
                            continue;
                        }
                        s.clone()
                    }
                    Some(Value::String(_)) | Some(Value::Null) | None => new_record_id(),
                    Some(_) => {
                        errors.push(("id".into(), FieldError::invalid_type("a string")));
                        continue;
                    }
                };
                out.insert("id".into(), Value::String(id));
                continue;
            }
            FieldKind::File(_)
                if body.contains_key(&f.name)
                    || body.contains_key(&format!("{}+", f.name))
                    || body.contains_key(&format!("+{}", f.name)) =>
            {
                // Until uploads exist, only keeping or removing stored names is allowed.
                let requested = apply_body(f, &current, body);
                if let Some(Ok(v)) = &requested {
                    let kept: HashSet<String> = super::fields::as_string_list_pub(&current);
                    let new: HashSet<String> = super::fields::as_string_list_pub(v);
                    if !new.is_subset(&kept) {
                        errors.push((
                            f.name.clone(),
                            FieldError::new(
                                "validation_invalid_file",
                                "Files can only be uploaded as multipart/form-data.",
                            ),
                        ));
                        continue;
                    }
                }
            }
            _ => {}
        }
        if f.name == "tokenKey" && c.is_auth() {
            // A new key with every password and e-mail address, which revokes the tokens
            // signed with the old one.
            let email_changed = existing.is_some_and(|e| {
                body.get("email")
                    .is_some_and(|new| Some(new) != e.get("email"))
            });
            if existing.is_none() || body.contains_key("password") || email_changed {
                out.insert(f.name.clone(), Value::String(random_token(50)));
            }
            continue;
        }
        if c.is_auth()
            && f.name == "email"
            && !manager
            && existing
                .is_some_and(|e| body.contains_key("email") && e.get("email") != body.get("email"))
        {
            errors.push((
                "email".into(),
                FieldError::new(
                    "validation_values_mismatch",
                    "Use request-email-change to change the e-mail address.",
                ),
            ));
            continue;
        }
        if c.is_auth() && f.name == "verified" && !manager && body.contains_key("verified") {
            let same = existing.is_some_and(|e| e.get("verified") == body.get("verified"));
            if !same {
                errors.push((
                    "verified".into(),
                    FieldError::new(
                        "validation_values_mismatch",
                        "Only superusers can change this field.",
                    ),
                ));
                continue;
            }
        }
        match apply_body(f, &current, body) {
            None if existing.is_some() => {}
            None => {
                // A create without this field: autogenerate or validate the zero value.
                if let FieldKind::Text(t) = &f.kind {
                    if let Some(v) = autogenerate(&t.autogenerate_pattern) {
                        out.insert(f.name.clone(), Value::String(v));
                        continue;
                    }
                }
                match f.prepare(&Value::Null) {
                    Ok(v) => {
                        out.insert(f.name.clone(), v);
                    }
                    Err(e) => errors.push((f.name.clone(), e)),
                }
            }
            Some(Ok(v)) => {
                out.insert(f.name.clone(), v);
            }
            Some(Err(e)) => errors.push((f.name.clone(), e)),
        }
    }
    if c.is_auth()
        && body.contains_key("password")
        && body.get("passwordConfirm") != body.get("password")
    {
        errors.push((
            "passwordConfirm".into(),
            FieldError::new("validation_values_mismatch", "Values don't match."),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::fields(format!("Failed to {action} record."), errors));
    }
    Ok(out)
}

/// Turns plain passwords into hashes, just before writing.
async fn hash_passwords(app: &App, c: &Collection, values: &mut Record) -> Result<()> {
    for f in c.fields.iter().filter(|f| f.is_write_only()) {
        if let Some(Value::String(p)) = values.get(&f.name).cloned() {
            if !p.is_empty() {
                let h = app.hash_password(&p).await?;
                values.insert(f.name.clone(), Value::String(h));
            }
        }
    }
    Ok(())
}

/// Checks that every relation id exists in its target collection (inside the write).
async fn check_relations(
    txn: &dyn WriteTx,
    d: Dialect,
    reg: &super::registry::Registry,
    c: &Collection,
    values: &Record,
    action: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    for f in &c.fields {
        let FieldKind::Relation(rel) = &f.kind else {
            continue;
        };
        let Some(v) = values.get(&f.name) else {
            continue;
        };
        let ids: Vec<String> = match v {
            Value::String(s) if !s.is_empty() => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        };
        if ids.is_empty() {
            continue;
        }
        let Some(target) = reg.find(&rel.collection_id) else {
            errors.push((
                f.name.clone(),
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            ));
            continue;
        };
        let mut q = Query::select();
        q.from(Alias::new(target.name.as_str()))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .and_where(in_list(Expr::col(Alias::new("id")), ids.iter().cloned()));
        let n: i64 = txn
            .query_one(d.build(&q))
            .await?
            .map(|r| r.i64("n"))
            .transpose()?
            .unwrap_or(0);
        if n as usize != ids.len() {
            errors.push((
                f.name.clone(),
                FieldError::new(
                    "validation_missing_rel_records",
                    "Failed to find all relation records with the provided ids.",
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::fields(format!("Failed to {action} record."), errors))
    }
}

/// Maps a unique-index violation to the field(s) of that index.
fn unique_error(c: &Collection, err: Error, action: &str) -> Error {
    if !err.is_unique_violation() {
        return err;
    }
    let text = err.to_string();
    let mut fields: Vec<String> = c
        .indexes
        .iter()
        .filter_map(|s| super::schema::IndexDef::parse(s).ok())
        .filter(|i| {
            text.contains(&i.name)
                || i.columns
                    .iter()
                    .any(|(col, _)| text.contains(&format!("{}.{}", c.name, col)))
        })
        .flat_map(|i| i.columns.into_iter().map(|(col, _)| col))
        .collect();
    if fields.is_empty() && (text.contains(&format!("{}.id", c.name)) || text.contains("_pkey")) {
        fields.push("id".into());
    }
    if fields.is_empty() {
        return Error::BadRequest(format!(
            "Failed to {action} record: a value must be unique."
        ));
    }
    Error::fields(
        format!("Failed to {action} record."),
        fields
            .into_iter()
            .map(|f| {
                (
                    f,
                    FieldError::new("validation_not_unique", "Value must be unique."),
                )
            })
            .collect(),
    )
}

pub async fn create(
    app: &App,
    c: &Arc<Collection>,
    req: &RequestInfo,
    body: Map<String, Value>,
) -> Result<Record> {
    if c.is_view() {
        return Err(Error::BadRequest("Unsupported collection type.".into()));
    }
    let access = rule_access(app, c, &c.create_rule, req)?;
    let values = build_values(c, &body, None, req.is_superuser(), "create")?;
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: values,
        original: None,
    };
    let ev = app.hooks().run(HookPoint::BeforeCreate, ev).await?;
    let mut values = ev.record;
    let mut stored = values.clone();
    hash_passwords(app, c, &mut stored).await?;

    let d = app.dialect();
    let reg = app.registry();
    let cc = c.clone();
    let id = values
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let rule = match access {
        Access::All => None,
        Access::Where(e) => Some(e),
    };
    let result = app
        .db()
        .write(Box::new(move |txn| {
            let (reg, cc, stored, id, rule) = (
                reg.clone(),
                cc.clone(),
                stored.clone(),
                id.clone(),
                rule.clone(),
            );
            Box::pin(async move {
                check_relations(txn, d, &reg, &cc, &stored, "create").await?;
                let mut q = Query::insert();
                q.into_table(Alias::new(cc.name.as_str()));
                let mut cols = Vec::new();
                let mut vals: Vec<Expr> = Vec::new();
                for f in &cc.fields {
                    if let Some(v) = stored.get(&f.name) {
                        cols.push(Alias::new(f.name.as_str()));
                        vals.push(to_sql(f.storage(), v, d).into());
                    }
                }
                q.columns(cols);
                q.values(vals).map_err(|e| Error::Internal(e.to_string()))?;
                txn.execute(d.build(&q))
                    .await
                    .map_err(|e| unique_error(&cc, e.into(), "create"))?;
                if let Some(rule) = rule {
                    // The create rule sees the would-be record; failing it undoes the insert.
                    let mut check = Query::select();
                    check
                        .from_as(Alias::new(cc.name.as_str()), Alias::new(MAIN))
                        .expr(Expr::cust("1"))
                        .and_where(id_eq(&id))
                        .and_where(rule);
                    if txn.query_one(d.build(&check)).await?.is_none() {
                        return Err(Error::BadRequest("Failed to create record.".into()));
                    }
                }
                Ok(())
            })
        }))
        .await;
    result?;
    for f in c.fields.iter().filter(|f| f.is_write_only()) {
        values.shift_remove(&f.name);
    }
    let mut rec = Record::new();
    rec.insert("collectionId".into(), json!(c.id));
    rec.insert("collectionName".into(), json!(c.name));
    for f in c.fields.iter().filter(|f| !f.is_write_only()) {
        rec.insert(
            f.name.clone(),
            values.get(&f.name).cloned().unwrap_or_else(|| f.zero()),
        );
    }
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: rec.clone(),
        original: None,
    };
    app.hooks().run_after(HookPoint::AfterCreate, ev).await;
    super::realtime::record_changed(app, c, super::realtime::Action::Create, &rec);
    Ok(rec)
}

pub async fn update(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    req: &RequestInfo,
    body: Map<String, Value>,
) -> Result<Record> {
    if c.is_view() {
        return Err(Error::BadRequest("Unsupported collection type.".into()));
    }
    let existing = find_visible(app, c, id, &c.update_rule, req)
        .await?
        .ok_or_else(Error::not_found)?;
    let manager = c.is_auth() && can_manage(app, c, id, req).await?;
    if c.is_auth() && body.contains_key("password") && !manager {
        check_old_password(app, c, id, &body).await?;
    }
    let values = build_values(c, &body, Some(&existing), manager, "update")?;
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: values,
        original: Some(existing.clone()),
    };
    let ev = app.hooks().run(HookPoint::BeforeUpdate, ev).await?;
    let values = ev.record;
    let mut stored = values.clone();
    hash_passwords(app, c, &mut stored).await?;

    let d = app.dialect();
    let reg = app.registry();
    let cc = c.clone();
    let rid = id.to_string();
    app.db()
        .write(Box::new(move |txn| {
            let (reg, cc, stored, rid) = (reg.clone(), cc.clone(), stored.clone(), rid.clone());
            Box::pin(async move {
                check_relations(txn, d, &reg, &cc, &stored, "update").await?;
                let mut q = Query::update();
                q.table(Alias::new(cc.name.as_str()));
                let mut any = false;
                for f in &cc.fields {
                    if let Some(v) = stored.get(&f.name) {
                        q.value(Alias::new(f.name.as_str()), to_sql(f.storage(), v, d));
                        any = true;
                    }
                }
                if !any {
                    return Ok(());
                }
                q.and_where(in_list(Expr::col(Alias::new("id")), [rid.clone()]));
                let res = txn
                    .execute(d.build(&q))
                    .await
                    .map_err(|e| unique_error(&cc, e.into(), "update"))?;
                if res == 0 {
                    return Err(Error::not_found());
                }
                Ok(())
            })
        }))
        .await?;
    if c.is_auth() {
        app.auth_cache().forget(&c.id, id);
        if values.contains_key("tokenKey") {
            // Its tokens are revoked: realtime clients logged in as it become guests.
            app.realtime().forget_auth(&c.id, id);
        }
    }
    let mut rec = existing.clone();
    for (k, v) in values {
        if c.field(&k).is_some_and(|f| !f.is_write_only()) {
            rec.insert(k, v);
        }
    }
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: rec.clone(),
        original: Some(existing),
    };
    app.hooks().run_after(HookPoint::AfterUpdate, ev).await;
    super::realtime::record_changed(app, c, super::realtime::Action::Update, &rec);
    Ok(rec)
}

/// Whether the requester may manage this auth record: a superuser, or someone who
/// satisfies the collection's `manageRule` for it.
async fn can_manage(app: &App, c: &Arc<Collection>, id: &str, req: &RequestInfo) -> Result<bool> {
    if req.is_superuser() {
        return Ok(true);
    }
    let rule = c.auth.as_ref().and_then(|a| a.manage_rule.clone());
    if rule.is_none() {
        return Ok(false);
    }
    Ok(find_visible(app, c, id, &rule, req).await?.is_some())
}

/// A user changing their own password must also give the old one.
async fn check_old_password(
    app: &App,
    c: &Arc<Collection>,
    id: &str,
    body: &Map<String, Value>,
) -> Result<()> {
    let old = body
        .get("oldPassword")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if old.is_empty() {
        return Err(Error::field(
            "Failed to update record.",
            "oldPassword",
            FieldError::required(),
        ));
    }
    let row = super::auth::load_auth_row(app, c, id)
        .await?
        .ok_or_else(Error::not_found)?;
    let (hash, _) = super::record_io::auth_secrets(&row)?;
    if !app.verify_password(old, &hash).await {
        return Err(Error::field(
            "Failed to update record.",
            "oldPassword",
            FieldError::new(
                "validation_invalid_old_password",
                "Missing or invalid old password.",
            ),
        ));
    }
    Ok(())
}

pub async fn delete(app: &App, c: &Arc<Collection>, id: &str, req: &RequestInfo) -> Result<()> {
    if c.is_view() {
        return Err(Error::BadRequest("Unsupported collection type.".into()));
    }
    let existing = find_visible(app, c, id, &c.delete_rule, req)
        .await?
        .ok_or_else(Error::not_found)?;
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: existing.clone(),
        original: Some(existing.clone()),
    };
    app.hooks().run(HookPoint::BeforeDelete, ev).await?;
    // Who may hear of the delete is decided while the record is still there.
    let announce = super::realtime::before_delete(app, c, &existing).await;
    let d = app.dialect();
    let reg = app.registry();
    let cc = c.clone();
    let rid = id.to_string();
    app.db()
        .write(Box::new(move |txn| {
            let (reg, cc, rid) = (reg.clone(), cc.clone(), rid.clone());
            Box::pin(async move { delete_in_tx(txn, d, &reg, &cc, rid, 0).await })
        }))
        .await?;
    // Cascades may have removed auth records anywhere: start the token cache over.
    app.auth_cache().clear();
    let existing_for_realtime = existing.clone();
    let ev = RecordEvent {
        app: app.clone(),
        collection: c.clone(),
        record: existing.clone(),
        original: Some(existing),
    };
    app.hooks().run_after(HookPoint::AfterDelete, ev).await;
    super::realtime::record_deleted(app, c, &existing_for_realtime, announce);
    Ok(())
}

/// Deletes one record and resolves references to it: cascade, refuse, or unset.
fn delete_in_tx<'a>(
    txn: &'a dyn WriteTx,
    d: Dialect,
    reg: &'a super::registry::Registry,
    c: &'a Collection,
    id: String,
    depth: usize,
) -> futures::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if depth > MAX_CASCADE_DEPTH {
            return Err(Error::BadRequest("Cascade delete goes too deep.".into()));
        }
        for other in reg.all() {
            for f in &other.fields {
                let FieldKind::Relation(rel) = &f.kind else {
                    continue;
                };
                if rel.collection_id != c.id || other.is_view() {
                    continue;
                }
                let table = quote(&other.name);
                let col = quote(&f.name);
                let (ph, ph2) = match d {
                    Dialect::Sqlite => ("?", "?"),
                    Dialect::Postgres => ("$1", "$1"),
                };
                let matches = match (rel.is_multi(), d) {
                    (false, _) => format!("{col} = {ph}"),
                    (true, Dialect::Sqlite) => format!(
                        "EXISTS (SELECT 1 FROM json_each({col}) WHERE json_each.value = {ph})"
                    ),
                    (true, Dialect::Postgres) => {
                        format!("{col} @> jsonb_build_array(CAST({ph} AS TEXT))")
                    }
                };
                let rows = txn
                    .query_all(d.raw(
                        format!("SELECT \"id\" FROM {table} WHERE {matches}"),
                        vec![id.clone().into()],
                    ))
                    .await?;
                let ids: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.string("id").ok())
                    .filter(|x| !(other.id == c.id && *x == id))
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                if rel.cascade_delete {
                    for rid in ids {
                        delete_in_tx(txn, d, reg, other, rid, depth + 1).await?;
                    }
                    continue;
                }
                if f.required {
                    return Err(Error::BadRequest(format!(
                        "The record cannot be deleted because it is part of a required reference in '{}'.",
                        other.name
                    )));
                }
                let unset = match (rel.is_multi(), d) {
                    (false, _) => format!("UPDATE {table} SET {col} = '' WHERE {matches}"),
                    (true, Dialect::Sqlite) => format!(
                        "UPDATE {table} SET {col} = (SELECT COALESCE(json_group_array(value), '[]') FROM json_each({col}) WHERE value != {ph2}) WHERE {matches}"
                    ),
                    (true, Dialect::Postgres) => format!("UPDATE {table} SET {col} = {col} - CAST({ph2} AS TEXT) WHERE {matches}"),
                };
                let values: Vec<SqlValue> = match d {
                    Dialect::Sqlite if rel.is_multi() => vec![id.clone().into(), id.clone().into()],
                    _ => vec![id.clone().into()],
                };
                txn.execute(d.raw(unset, values)).await?;
            }
        }
        let res = txn
            .execute(d.raw(
                format!(
                    "DELETE FROM {} WHERE \"id\" = {}",
                    quote(&c.name),
                    if d == Dialect::Sqlite { "?" } else { "$1" }
                ),
                vec![id.into()],
            ))
            .await?;
        if res == 0 && depth == 0 {
            return Err(Error::not_found());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_over_a_record_given_as_values() {
        let c = Collection::base("notes");
        let mut r = Record::new();
        r.insert("id".into(), json!("abc"));
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
            st.sql.contains("FROM (SELECT CAST(? AS TEXT) AS \"id\""),
            "{}",
            st.sql
        );
    }
}
