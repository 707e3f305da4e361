//! Compiles a parsed filter against a collection into a bound-parameter SQL condition
//! for SQLite or PostgreSQL. Relations, back-relations and `@collection` become LEFT
//! JOINs inside one correlated `EXISTS`, so conditions on the same join see the same
//! row (as in PocketBase); plain operators on multi-valued operands mean "every value
//! matches", the `?` forms mean "at least one value matches".

use super::lexer::{Op, Params};
use super::macros::{self, MacroValue};
use super::parser::{parse, parse_with, Comparison, Expr, Operand};
use super::FilterError;
use crate::collections::model::Collection;
use crate::collections::registry::Registry;
use crate::db::{quote, Dialect};
use crate::fields::{Field, FieldKind, Storage};
use chrono::{DateTime, Utc};
use sea_orm::sea_query;
use sea_orm::Value as SqlValue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Stands for one bound value inside a fragment until the final numbering.
const MARK: char = '\u{1}';
/// Rules that reference relations apply the target's list rule, which may do the same.
const MAX_RULE_DEPTH: usize = 4;
const MAX_SORT_TERMS: usize = 8;

/// The authenticated record of a request.
#[derive(Debug, Clone)]
pub struct AuthRecord {
    pub collection: Arc<Collection>,
    /// The record's fields (no password hash, no token key).
    pub record: Map<String, Value>,
}

/// What `@request.*` refers to.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub auth: Option<AuthRecord>,
    pub method: String,
    pub context: String,
    pub query: BTreeMap<String, String>,
    /// Header names lower-cased with `-` turned into `_`.
    pub headers: BTreeMap<String, String>,
    pub body: Map<String, Value>,
}

impl AuthRecord {
    pub fn id(&self) -> &str {
        self.record
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

impl RequestInfo {
    pub fn is_superuser(&self) -> bool {
        self.auth
            .as_ref()
            .is_some_and(|a| a.collection.name == crate::auth::superusers::SUPERUSERS)
    }
    pub fn auth_id(&self) -> Option<&str> {
        self.auth.as_ref().map(AuthRecord::id)
    }
}

/// Where a filter is compiled: which collection, under which table alias, for whom.
pub struct Scope<'a> {
    pub registry: &'a Registry,
    pub collection: &'a Collection,
    pub alias: &'a str,
    pub request: &'a RequestInfo,
    pub dialect: Dialect,
    pub now: DateTime<Utc>,
    /// A client's `filter`/`sort` (hidden fields are off limits) rather than an API rule.
    pub client_filter: bool,
}

/// Prefixes a client's filter or sort may use only when a superuser sends it: they read
/// other collections past their rules, or values the client chose itself.
const SUPERUSER_ONLY_PREFIXES: [&str; 2] = ["@collection.", "@request."];

impl Scope<'_> {
    /// The one place the superuser-only policy for client filters is enforced: every path
    /// that compiles a client's filter or sort (lists, realtime options, ...) gets it.
    fn check_client_access(&self, ident: &str) -> Result<(), FilterError> {
        if !self.client_filter || self.request.is_superuser() {
            return Ok(());
        }
        match SUPERUSER_ONLY_PREFIXES
            .iter()
            .find(|p| ident.starts_with(**p))
        {
            Some(p) => Err(FilterError::superusers_only(p)),
            None => Ok(()),
        }
    }
}

/// A SQL condition with its bound values, placeholders already in the dialect's style.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub sql: String,
    pub values: Vec<SqlValue>,
}

impl Compiled {
    /// The condition as a sea-query expression.
    pub fn into_expr(self) -> sea_query::Expr {
        sea_query::Expr::cust_with_values(self.sql, self.values)
    }
}

/// Parses and compiles `filter` in `scope`.
pub fn compile_filter(filter: &str, scope: &Scope) -> Result<Compiled, FilterError> {
    compile_filter_with(filter, &Params::new(), scope)
}

/// [`compile_filter`] with values bound to `{:name}` placeholders: how server code puts
/// values into a filter (`nonce = {:nonce}`), never by writing them into its text.
pub fn compile_filter_with(
    filter: &str,
    params: &Params,
    scope: &Scope,
) -> Result<Compiled, FilterError> {
    let expr = parse_with(filter, params)?;
    let mut counter = 0;
    let frag = compile_expr_root(&expr, scope, &mut counter, 0)?;
    Ok(frag.finish(scope.dialect))
}

/// Compiles a `sort` parameter (`-created,title,@random`) into ORDER BY terms.
pub fn compile_sort(
    sort: &str,
    scope: &Scope,
) -> Result<Vec<(String, sea_query::Order)>, FilterError> {
    let mut out = Vec::new();
    for raw in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if out.len() >= MAX_SORT_TERMS {
            return Err(FilterError::resolve(format!(
                "at most {MAX_SORT_TERMS} sort fields"
            )));
        }
        let (order, name) = match raw.strip_prefix('-') {
            Some(n) => (sea_query::Order::Desc, n),
            None => (sea_query::Order::Asc, raw.strip_prefix('+').unwrap_or(raw)),
        };
        let sql = match name {
            "@random" => "RANDOM()".to_string(),
            "@rowid" => match scope.dialect {
                Dialect::Sqlite => format!("{}.\"_rowid_\"", quote(scope.alias)),
                Dialect::Postgres => format!("{}.\"id\"", quote(scope.alias)),
            },
            _ => {
                scope.check_client_access(name)?;
                let field = scope
                    .collection
                    .field(name)
                    .ok_or_else(|| FilterError::resolve(format!("unknown sort field '{name}'")))?;
                if field.hidden && scope.client_filter && !scope.request.is_superuser() {
                    return Err(FilterError::resolve(format!("unknown sort field '{name}'")));
                }
                format!("{}.{}", quote(scope.alias), quote(&field.name))
            }
        };
        out.push((sql, order));
    }
    Ok(out)
}

/// A SQL fragment with `MARK` placeholders and their values.
#[derive(Debug, Clone, Default)]
struct Frag {
    sql: String,
    params: Vec<SqlValue>,
}

impl Frag {
    fn raw(sql: impl Into<String>) -> Frag {
        Frag {
            sql: sql.into(),
            params: vec![],
        }
    }
    fn param(v: SqlValue) -> Frag {
        Frag {
            sql: MARK.to_string(),
            params: vec![v],
        }
    }
    fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }
    fn append(&mut self, other: &Frag) -> &mut Self {
        self.sql.push_str(&other.sql);
        self.params.extend(other.params.iter().cloned());
        self
    }
    /// `template` with each `{}` replaced by the next fragment.
    fn fill(template: &str, parts: &[&Frag]) -> Frag {
        let mut out = Frag::default();
        let mut it = parts.iter();
        let mut rest = template;
        while let Some(i) = rest.find("{}") {
            out.push(&rest[..i]);
            if let Some(p) = it.next() {
                out.append(p);
            }
            rest = &rest[i + 2..];
        }
        out.push(rest);
        out
    }
    fn constant(b: bool) -> Frag {
        Frag::raw(if b { "(1=1)" } else { "(1=0)" })
    }
    fn finish(self, dialect: Dialect) -> Compiled {
        let mut sql = String::with_capacity(self.sql.len() + 8);
        let mut n = 0;
        for ch in self.sql.chars() {
            if ch == MARK {
                n += 1;
                match dialect {
                    Dialect::Sqlite => sql.push('?'),
                    Dialect::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                }
            } else {
                sql.push(ch);
            }
        }
        Compiled {
            sql,
            values: self.params,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Bool,
    /// A value taken out of a JSON document (typed on SQLite, text on PostgreSQL).
    Json,
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Null,
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Lit {
    fn from_json(v: &Value) -> Lit {
        match v {
            Value::Null => Lit::Null,
            Value::Bool(b) => Lit::Bool(*b),
            Value::Number(n) => Lit::Number(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Lit::Text(s.clone()),
            other => Lit::Text(other.to_string()),
        }
    }
    fn as_text(&self) -> String {
        match self {
            Lit::Null => String::new(),
            Lit::Text(s) => s.clone(),
            Lit::Number(n) => format_number(*n),
            Lit::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        }
    }
    fn as_number(&self) -> Option<f64> {
        match self {
            Lit::Null => None,
            Lit::Text(s) => s.trim().parse().ok(),
            Lit::Number(n) => Some(*n),
            Lit::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[derive(Debug, Clone)]
enum Term {
    Lit(Lit),
    /// A multi-valued literal (a body array or `:each` of one).
    List(Vec<Lit>),
    Sql(SqlTerm),
}

#[derive(Debug, Clone)]
struct SqlTerm {
    frag: Frag,
    kind: Kind,
    nullable: bool,
    /// Set when the value comes from a multi-valued join; re-resolved for "every value" checks.
    multi: bool,
    /// The values of a multi-valued field named bare (no modifier, no relation path),
    /// where `~` reads as "some value contains".
    bare_list: bool,
    /// PostgreSQL JSON values: the numeric reading of the same value.
    json_number: Option<Frag>,
}

impl SqlTerm {
    fn new(frag: Frag, kind: Kind, nullable: bool) -> SqlTerm {
        SqlTerm {
            frag,
            kind,
            nullable,
            multi: false,
            bare_list: false,
            json_number: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JoinKind {
    /// Shared by the whole filter, inside its one `EXISTS`.
    Left,
    /// A private chain of a "every value matches" subquery.
    Inner,
}

struct Compiler<'s, 'a> {
    scope: &'s Scope<'a>,
    counter: &'s mut usize,
    depth: usize,
    joins: Vec<Frag>,
    join_aliases: HashMap<String, String>,
}

fn compile_expr_root(
    expr: &Expr,
    scope: &Scope,
    counter: &mut usize,
    depth: usize,
) -> Result<Frag, FilterError> {
    let mut c = Compiler {
        scope,
        counter,
        depth,
        joins: vec![],
        join_aliases: HashMap::new(),
    };
    let cond = c.expr(expr)?;
    if c.joins.is_empty() {
        return Ok(cond);
    }
    let d = c.alias("d");
    let mut out = Frag::raw(format!(
        "EXISTS (SELECT 1 FROM (SELECT 1) AS {} ",
        quote(&d)
    ));
    for j in &c.joins {
        out.append(j).push(" ");
    }
    out.push("WHERE ").append(&cond).push(")");
    Ok(out)
}

impl<'s, 'a> Compiler<'s, 'a> {
    fn alias(&mut self, hint: &str) -> String {
        *self.counter += 1;
        format!("__{hint}{}", self.counter)
    }

    fn dialect(&self) -> Dialect {
        self.scope.dialect
    }

    fn expr(&mut self, e: &Expr) -> Result<Frag, FilterError> {
        match e {
            Expr::And(parts) | Expr::Or(parts) => {
                let sep = if matches!(e, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let mut out = Frag::raw("(");
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push(sep);
                    }
                    let f = self.expr(p)?;
                    out.append(&f);
                }
                out.push(")");
                Ok(out)
            }
            Expr::Cmp(c) => self.comparison(c),
        }
    }

    fn comparison(&mut self, c: &Comparison) -> Result<Frag, FilterError> {
        let left = self.operand(&c.left, JoinKind::Left, &mut Vec::new())?;
        let right = self.operand(&c.right, JoinKind::Left, &mut Vec::new())?;
        let is_multi = |t: &Term| matches!(t, Term::Sql(s) if s.multi);
        let is_bare_list = |t: &Term| matches!(t, Term::Sql(s) if s.bare_list);
        let shared = self.compare(&left, c.sign.op, c.sign.any, &right)?;
        if c.sign.any || !(is_multi(&left) || is_multi(&right)) {
            return Ok(shared);
        }
        // `tags ~ 'c'` is "tags contains c": some value matches, as users read it (and
        // as PocketBase's text match over the stored list gives). `!~` stays "no value
        // contains", which is what "every value does not contain" already means.
        if c.sign.op == Op::Like && (is_bare_list(&left) || is_bare_list(&right)) {
            return Ok(shared);
        }
        // "Every value matches": no value of a private copy of the join chain fails.
        let mut chain = Vec::new();
        let l2 = if is_multi(&left) {
            self.operand(&c.left, JoinKind::Inner, &mut chain)?
        } else {
            left.clone()
        };
        let r2 = if is_multi(&right) {
            self.operand(&c.right, JoinKind::Inner, &mut chain)?
        } else {
            right.clone()
        };
        let cond = self.compare(&l2, c.sign.op, false, &r2)?;
        let d = self.alias("d");
        let mut out = Frag::raw("(");
        out.append(&shared);
        out.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM (SELECT 1) AS {} ",
            quote(&d)
        ));
        for j in &chain {
            out.append(j).push(" ");
        }
        out.push("WHERE NOT (").append(&cond).push(")))");
        Ok(out)
    }

    // ----- operands -------------------------------------------------------------------

    fn operand(
        &mut self,
        op: &Operand,
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        match op {
            Operand::Text(s) => Ok(Term::Lit(Lit::Text(s.clone()))),
            Operand::Number(n) => Ok(Term::Lit(Lit::Number(*n))),
            Operand::Func { name, args } => self.function(name, args, jk, chain),
            Operand::Ident(id) => self.identifier(id, jk, chain),
        }
    }

    fn identifier(
        &mut self,
        ident: &str,
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        let (path, modifier) = split_modifier(ident)?;
        self.scope.check_client_access(path)?;
        if let Some(rest) = path.strip_prefix("@request.") {
            return self.request_value(rest, modifier);
        }
        if let Some(rest) = path.strip_prefix("@collection.") {
            let mut parts = rest.splitn(2, '.');
            let head = parts.next().unwrap_or_default();
            let field_path = parts
                .next()
                .ok_or_else(|| FilterError::resolve(format!("missing field in '{ident}'")))?;
            let name = head.split(':').next().unwrap_or(head);
            let target = self
                .scope
                .registry
                .find(name)
                .ok_or_else(|| FilterError::resolve(format!("unknown collection '{name}'")))?;
            let key = format!("@collection.{head}");
            let alias = self.join(jk, chain, &key, |_, a| {
                Ok(Frag::raw(format!(
                    "{} {} ON TRUE",
                    quote(&target.name),
                    quote(a)
                )))
            })?;
            let segs: Vec<&str> = field_path.split('.').collect();
            let mut t = self.path(&target, &alias, &segs, modifier, jk, chain)?;
            if let Term::Sql(s) = &mut t {
                s.multi = true;
                s.nullable = true;
            }
            return Ok(t);
        }
        if path.starts_with('@') {
            if modifier.is_some() {
                return Err(FilterError::resolve(format!(
                    "modifiers are not allowed on '{path}'"
                )));
            }
            return match macros::eval(path, self.scope.now) {
                Some(MacroValue::Text(s)) => Ok(Term::Lit(Lit::Text(s))),
                Some(MacroValue::Number(n)) => Ok(Term::Lit(Lit::Number(n))),
                None => Err(FilterError::resolve(format!("unknown identifier '{path}'"))),
            };
        }
        let segs: Vec<&str> = path.split('.').collect();
        if segs.len() == 1 && modifier.is_none() && self.scope.collection.field(path).is_none() {
            match path {
                "null" => return Ok(Term::Lit(Lit::Null)),
                "true" => return Ok(Term::Lit(Lit::Bool(true))),
                "false" => return Ok(Term::Lit(Lit::Bool(false))),
                _ => {}
            }
        }
        let coll = self.scope.collection;
        let alias = self.scope.alias.to_string();
        self.path(coll, &alias, &segs, modifier, jk, chain)
    }

    /// Registers (or reuses, for shared joins) a join and returns its alias.
    fn join(
        &mut self,
        jk: JoinKind,
        chain: &mut Vec<Frag>,
        key: &str,
        build: impl FnOnce(&mut Self, &str) -> Result<Frag, FilterError>,
    ) -> Result<String, FilterError> {
        if jk == JoinKind::Left {
            if let Some(a) = self.join_aliases.get(key) {
                return Ok(a.clone());
            }
        }
        let alias = self.alias("j");
        let body = build(self, &alias)?;
        let mut j = Frag::raw(if jk == JoinKind::Left {
            "LEFT JOIN "
        } else {
            "JOIN "
        });
        j.append(&body);
        match jk {
            JoinKind::Left => {
                self.joins.push(j);
                self.join_aliases.insert(key.to_string(), alias.clone());
            }
            JoinKind::Inner => chain.push(j),
        }
        Ok(alias)
    }

    /// `ON` condition restricting a joined collection to what its list rule lets the requester see.
    fn target_rule(
        &mut self,
        target: &Collection,
        alias: &str,
    ) -> Result<Option<Frag>, FilterError> {
        if self.scope.request.is_superuser() {
            return Ok(None);
        }
        match &target.list_rule {
            None => Err(FilterError::resolve(format!(
                "the collection '{}' can only be queried by superusers",
                target.name
            ))),
            Some(r) if r.trim().is_empty() => Ok(None),
            Some(r) => {
                if self.depth >= MAX_RULE_DEPTH {
                    return Err(FilterError::resolve(
                        "API rules reference each other too deeply",
                    ));
                }
                let expr = parse(r)?;
                let scope = Scope {
                    registry: self.scope.registry,
                    collection: target,
                    alias,
                    request: self.scope.request,
                    dialect: self.scope.dialect,
                    now: self.scope.now,
                    client_filter: false,
                };
                let depth = self.depth + 1;
                Ok(Some(compile_expr_root(&expr, &scope, self.counter, depth)?))
            }
        }
    }

    /// A field path starting at `coll` (table alias `alias`).
    fn path(
        &mut self,
        coll: &Collection,
        alias: &str,
        segs: &[&str],
        modifier: Option<&str>,
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        let name = segs[0];
        let rest = &segs[1..];
        let d = self.dialect();
        if let Some((back_coll, back_field)) = name.split_once("_via_") {
            return self.back_relation(
                coll, alias, back_coll, back_field, rest, modifier, jk, chain,
            );
        }
        let field = coll
            .field(name)
            .ok_or_else(|| {
                FilterError::resolve(format!(
                    "unknown field '{name}' in collection '{}'",
                    coll.name
                ))
            })?
            .clone();
        if field.hidden && self.scope.client_filter && !self.scope.request.is_superuser() {
            return Err(FilterError::resolve(format!(
                "unknown field '{name}' in collection '{}'",
                coll.name
            )));
        }
        let col = format!("{}.{}", quote(alias), quote(&field.name));
        match (&field.kind, rest.is_empty()) {
            (FieldKind::Relation(rel), false) => {
                let target = self
                    .scope
                    .registry
                    .find(&rel.collection_id)
                    .ok_or_else(|| {
                        FilterError::resolve(format!("missing relation target of '{name}'"))
                    })?;
                let multi = rel.is_multi();
                let value_expr = if multi {
                    let key = format!("{alias}.{name}[]");
                    let je = self.join(jk, chain, &key, |_, a| Ok(json_each(d, &col, a)))?;
                    format!("{}.\"value\"", quote(&je))
                } else {
                    col.clone()
                };
                let key = format!("{alias}.{name}");
                let tname = target.name.clone();
                let t_alias = self.join(jk, chain, &key, |c, a| {
                    let mut on = Frag::raw(format!(
                        "{} {} ON {}.\"id\" = {}",
                        quote(&tname),
                        quote(a),
                        quote(a),
                        value_expr
                    ));
                    if let Some(rule) = c.target_rule(&target, a)? {
                        on.push(" AND ").append(&rule);
                    }
                    Ok(on)
                })?;
                let target = self
                    .scope
                    .registry
                    .find(&rel.collection_id)
                    .ok_or_else(|| FilterError::resolve("relation target vanished"))?;
                let mut t = self.path(&target, &t_alias, rest, modifier, jk, chain)?;
                if let Term::Sql(s) = &mut t {
                    s.nullable = true;
                    s.multi |= multi;
                    s.bare_list = false;
                }
                Ok(t)
            }
            (FieldKind::Json(_), _) | (FieldKind::GeoPoint(_), _) if !rest.is_empty() => {
                self.json_path(&field, &col, rest, modifier)
            }
            (_, false) => Err(FilterError::resolve(format!("'{name}' has no sub-fields"))),
            (_, true) => self.column(&field, &col, alias, modifier, jk, chain),
        }
    }

    fn column(
        &mut self,
        field: &Field,
        col: &str,
        alias: &str,
        modifier: Option<&str>,
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        let d = self.dialect();
        let storage = field.storage();
        match (storage, modifier) {
            (Storage::JsonArray, Some("length")) => {
                let f = match d {
                    Dialect::Sqlite => format!("json_array_length({col})"),
                    Dialect::Postgres => format!("jsonb_array_length({col})"),
                };
                Ok(Term::Sql(SqlTerm::new(Frag::raw(f), Kind::Number, false)))
            }
            (Storage::JsonArray, None | Some("each") | Some("lower")) => {
                let key = format!("{alias}.{}[]", field.name);
                let je = self.join(jk, chain, &key, |_, a| Ok(json_each(d, col, a)))?;
                let mut v = format!("{}.\"value\"", quote(&je));
                if modifier == Some("lower") {
                    v = format!("LOWER({v})");
                }
                let mut t = SqlTerm::new(Frag::raw(v), Kind::Text, true);
                t.multi = true;
                t.bare_list = modifier.is_none();
                Ok(Term::Sql(t))
            }
            (_, Some("each") | Some("length")) => Err(FilterError::resolve(format!(
                "':{}' needs a multi-valued field",
                modifier.unwrap_or_default()
            ))),
            (_, Some("lower")) => Ok(Term::Sql(SqlTerm::new(
                Frag::raw(format!("LOWER({})", text_cast(col))),
                Kind::Text,
                false,
            ))),
            (_, Some(m)) => Err(FilterError::resolve(format!("unknown modifier ':{m}'"))),
            (Storage::Text, None) => Ok(Term::Sql(SqlTerm::new(Frag::raw(col), Kind::Text, false))),
            (Storage::Number, None) => {
                Ok(Term::Sql(SqlTerm::new(Frag::raw(col), Kind::Number, false)))
            }
            (Storage::Bool, None) => Ok(Term::Sql(SqlTerm::new(Frag::raw(col), Kind::Bool, false))),
            (Storage::Json | Storage::GeoPoint, None) => Ok(Term::Sql(match d {
                // SQLite compares the stored value as it is (views hold plain SQL values).
                Dialect::Sqlite => SqlTerm::new(Frag::raw(col), Kind::Json, true),
                Dialect::Postgres => {
                    let mut t =
                        SqlTerm::new(Frag::raw(format!("CAST({col} AS TEXT)")), Kind::Json, true);
                    t.json_number = Some(Frag::raw(format!(
                        "(CASE WHEN jsonb_typeof({col}) = 'number' THEN CAST({col} #>> '{{}}' AS DOUBLE PRECISION) END)"
                    )));
                    t
                }
            })),
        }
    }

    fn json_path(
        &mut self,
        field: &Field,
        col: &str,
        rest: &[&str],
        modifier: Option<&str>,
    ) -> Result<Term, FilterError> {
        if modifier.is_some_and(|m| m != "lower") {
            return Err(FilterError::resolve(
                "only ':lower' is allowed on JSON paths",
            ));
        }
        let d = self.dialect();
        if matches!(field.kind, FieldKind::GeoPoint(_))
            && !(rest.len() == 1 && matches!(rest[0], "lon" | "lat"))
        {
            return Err(FilterError::resolve("a geoPoint has only 'lon' and 'lat'"));
        }
        let mut term = match d {
            Dialect::Sqlite => {
                let mut p = String::from("$");
                for s in rest {
                    if s.chars().all(|c| c.is_ascii_digit()) {
                        p.push_str(&format!("[{s}]"));
                    } else {
                        p.push_str(&format!(".\"{}\"", s.replace('"', "")));
                    }
                }
                let mut f = Frag::raw(format!("json_extract({col}, "));
                f.append(&Frag::param(SqlValue::String(Some(p)))).push(")");
                SqlTerm::new(f, Kind::Json, true)
            }
            Dialect::Postgres => {
                let p = format!(
                    "{{{}}}",
                    rest.iter()
                        .map(|s| format!("\"{}\"", s.replace('"', "")))
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let param = Frag::param(SqlValue::String(Some(p)));
                let text = Frag::fill(&format!("({col} #>> CAST({{}} AS TEXT[]))"), &[&param]);
                let num = Frag::fill(
                    &format!("(CASE WHEN jsonb_typeof({col} #> CAST({{}} AS TEXT[])) = 'number' THEN CAST({col} #>> CAST({{}} AS TEXT[]) AS DOUBLE PRECISION) END)"),
                    &[&param, &param],
                );
                let mut t = SqlTerm::new(text, Kind::Json, true);
                t.json_number = Some(num);
                t
            }
        };
        if matches!(field.kind, FieldKind::GeoPoint(_)) {
            // lon/lat are always numbers.
            if let Some(num) = term.json_number.take() {
                term.frag = num;
            }
            term.kind = Kind::Number;
        }
        if modifier == Some("lower") {
            term = SqlTerm::new(
                Frag::fill(&format!("LOWER({})", text_cast("{}")), &[&term.frag]),
                Kind::Text,
                true,
            );
        }
        Ok(Term::Sql(term))
    }

    #[allow(clippy::too_many_arguments)]
    fn back_relation(
        &mut self,
        coll: &Collection,
        alias: &str,
        back_coll: &str,
        back_field: &str,
        rest: &[&str],
        modifier: Option<&str>,
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        let d = self.dialect();
        let target = self
            .scope
            .registry
            .find(back_coll)
            .ok_or_else(|| FilterError::resolve(format!("unknown collection '{back_coll}'")))?;
        let Some(FieldKind::Relation(rel)) = target.field(back_field).map(|f| f.kind.clone())
        else {
            return Err(FilterError::resolve(format!(
                "'{back_field}' is not a relation field of '{back_coll}'"
            )));
        };
        if rel.collection_id != coll.id {
            return Err(FilterError::resolve(format!(
                "'{back_coll}.{back_field}' does not point to '{}'",
                coll.name
            )));
        }
        let link = |a: &str| {
            let fk = format!("{}.{}", quote(a), quote(back_field));
            let id = format!("{}.\"id\"", quote(alias));
            match (rel.is_multi(), d) {
                (false, _) => format!("{fk} = {id}"),
                (true, Dialect::Sqlite) => {
                    format!("EXISTS (SELECT 1 FROM json_each({fk}) WHERE json_each.value = {id})")
                }
                (true, Dialect::Postgres) => format!("{fk} @> jsonb_build_array({id})"),
            }
        };
        if rest.is_empty() && modifier == Some("length") {
            let a = self.alias("c");
            let mut f = Frag::raw(format!(
                "(SELECT COUNT(*) FROM {} {} WHERE {}",
                quote(&target.name),
                quote(&a),
                link(&a)
            ));
            if let Some(rule) = self.target_rule(&target, &a)? {
                f.push(" AND ").append(&rule);
            }
            f.push(")");
            return Ok(Term::Sql(SqlTerm::new(f, Kind::Number, false)));
        }
        let key = format!("{alias}.{back_coll}_via_{back_field}");
        let tname = target.name.clone();
        let t2 = target.clone();
        let t_alias = self.join(jk, chain, &key, |c, a| {
            let mut on = Frag::raw(format!("{} {} ON {}", quote(&tname), quote(a), link(a)));
            if let Some(rule) = c.target_rule(&t2, a)? {
                on.push(" AND ").append(&rule);
            }
            Ok(on)
        })?;
        let segs: Vec<&str> = if rest.is_empty() {
            vec!["id"]
        } else {
            rest.to_vec()
        };
        let mut t = self.path(&target, &t_alias, &segs, modifier, jk, chain)?;
        if let Term::Sql(s) = &mut t {
            s.multi = true;
            s.nullable = true;
        }
        Ok(t)
    }

    /// `@request.*` values, known before the query runs.
    fn request_value(&mut self, rest: &str, modifier: Option<&str>) -> Result<Term, FilterError> {
        let req = self.scope.request;
        let (head, tail) = rest.split_once('.').unwrap_or((rest, ""));
        let lit =
            |v: Option<&str>| Term::Lit(v.map(|s| Lit::Text(s.to_string())).unwrap_or(Lit::Null));
        let term = match head {
            "method" if tail.is_empty() => lit(Some(&req.method)),
            "context" if tail.is_empty() => lit(Some(&req.context)),
            "query" if !tail.is_empty() => {
                if modifier == Some("isset") {
                    return Ok(Term::Lit(Lit::Bool(req.query.contains_key(tail))));
                }
                lit(req.query.get(tail).map(String::as_str))
            }
            "headers" if !tail.is_empty() => {
                if modifier == Some("isset") {
                    return Ok(Term::Lit(Lit::Bool(req.headers.contains_key(tail))));
                }
                lit(req.headers.get(tail).map(String::as_str))
            }
            "auth" if !tail.is_empty() => return self.auth_value(tail, modifier),
            "body" if !tail.is_empty() => return self.body_value(tail, modifier),
            _ => {
                return Err(FilterError::resolve(format!(
                    "unknown identifier '@request.{rest}'"
                )))
            }
        };
        apply_lit_modifier(term, modifier)
    }

    fn auth_value(&mut self, path: &str, modifier: Option<&str>) -> Result<Term, FilterError> {
        let Some(auth) = &self.scope.request.auth else {
            return match modifier {
                Some("isset") => Ok(Term::Lit(Lit::Bool(false))),
                _ => Ok(Term::Lit(Lit::Null)),
            };
        };
        let segs: Vec<&str> = path.split('.').collect();
        match segs[0] {
            "collectionId" if segs.len() == 1 => {
                return apply_lit_modifier(
                    Term::Lit(Lit::Text(auth.collection.id.clone())),
                    modifier,
                )
            }
            "collectionName" if segs.len() == 1 => {
                return apply_lit_modifier(
                    Term::Lit(Lit::Text(auth.collection.name.clone())),
                    modifier,
                )
            }
            _ => {}
        }
        if segs.len() == 1 {
            let v = auth.record.get(segs[0]).cloned().unwrap_or(Value::Null);
            return apply_lit_modifier(json_to_term(&v), modifier);
        }
        // Deeper paths go through the auth record's relations in SQL.
        let coll = auth.collection.clone();
        let id = auth.id().to_string();
        let key = "@request.auth".to_string();
        let mut chain = Vec::new();
        let a = self.join(JoinKind::Left, &mut chain, &key, |_, a| {
            let mut f = Frag::raw(format!(
                "{} {} ON {}.\"id\" = ",
                quote(&coll.name),
                quote(a),
                quote(a)
            ));
            f.append(&Frag::param(SqlValue::String(Some(id))));
            Ok(f)
        })?;
        let mut t = self.path(&coll, &a, &segs, modifier, JoinKind::Left, &mut chain)?;
        if let Term::Sql(s) = &mut t {
            s.nullable = true;
        }
        Ok(t)
    }

    fn body_value(&mut self, path: &str, modifier: Option<&str>) -> Result<Term, FilterError> {
        let body = &self.scope.request.body;
        let segs: Vec<&str> = path.split('.').collect();
        let mut cur = body.get(segs[0]);
        for s in &segs[1..] {
            cur = match cur {
                Some(Value::Object(o)) => o.get(*s),
                Some(Value::Array(a)) => s.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
        }
        match modifier {
            Some("isset") => Ok(Term::Lit(Lit::Bool(cur.is_some()))),
            Some("length") => Ok(Term::Lit(Lit::Number(match cur {
                Some(Value::Array(a)) => a.len() as f64,
                Some(Value::Null) | None => 0.0,
                Some(_) => 1.0,
            }))),
            Some("each") => Ok(match cur {
                Some(Value::Array(a)) => Term::List(a.iter().map(Lit::from_json).collect()),
                Some(v) => Term::List(vec![Lit::from_json(v)]),
                None => Term::List(vec![]),
            }),
            Some("changed") => {
                let Some(v) = cur else {
                    return Ok(Term::Lit(Lit::Bool(false)));
                };
                let new = json_to_term(v);
                let coll = self.scope.collection;
                let field = coll
                    .field(segs[0])
                    .ok_or_else(|| FilterError::resolve(format!("unknown field '{}'", segs[0])))?
                    .clone();
                let col = format!("{}.{}", quote(self.scope.alias), quote(&field.name));
                let alias = self.scope.alias.to_string();
                let stored =
                    self.column(&field, &col, &alias, None, JoinKind::Left, &mut Vec::new())?;
                self.compare(&new, Op::Neq, false, &stored)
                    .map(|f| Term::Sql(SqlTerm::new(f, Kind::Bool, false)))
            }
            m => apply_lit_modifier(cur.map(json_to_term).unwrap_or(Term::Lit(Lit::Null)), m),
        }
    }

    fn function(
        &mut self,
        name: &str,
        args: &[Operand],
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        match name {
            "geoDistance" => {
                if args.len() != 4 {
                    return Err(FilterError::resolve("geoDistance() takes 4 arguments"));
                }
                let mut nums = Vec::new();
                let mut multi = false;
                for a in args {
                    let t = self.operand(a, jk, chain)?;
                    multi |= matches!(&t, Term::Sql(s) if s.multi);
                    nums.push(self.as_number_frag(t)?);
                }
                let r = |i: usize| Frag::fill("RADIANS({})", &[&nums[i]]);
                let (lon_a, lat_a, lon_b, lat_b) = (r(0), r(1), r(2), r(3));
                let f = Frag::fill(
                    "(6371.0 * 2 * ASIN(SQRT(POWER(SIN(({} - {}) / 2), 2) + COS({}) * COS({}) * POWER(SIN(({} - {}) / 2), 2))))",
                    &[&lat_b, &lat_a, &lat_a, &lat_b, &lon_b, &lon_a],
                );
                let mut t = SqlTerm::new(f, Kind::Number, true);
                t.multi = multi;
                Ok(Term::Sql(t))
            }
            "strftime" => self.strftime(args, jk, chain),
            _ => Err(FilterError::resolve(format!("unknown function '{name}'"))),
        }
    }

    fn strftime(
        &mut self,
        args: &[Operand],
        jk: JoinKind,
        chain: &mut Vec<Frag>,
    ) -> Result<Term, FilterError> {
        let Some(Operand::Text(format)) = args.first() else {
            return Err(FilterError::resolve(
                "strftime() needs a text format as its first argument",
            ));
        };
        if args.len() > 10 {
            return Err(FilterError::resolve(
                "strftime() takes at most 10 arguments",
            ));
        }
        let time = match args.get(1) {
            Some(a) => self.operand(a, jk, chain)?,
            None => Term::Lit(Lit::Text("now".into())),
        };
        let multi = matches!(&time, Term::Sql(s) if s.multi);
        let time = self.as_text_frag(time);
        let f = match self.dialect() {
            Dialect::Sqlite => {
                let mut f = Frag::raw("COALESCE(strftime(");
                f.append(&Frag::param(SqlValue::String(Some(format.clone()))))
                    .push(", ")
                    .append(&time);
                for m in &args[2..] {
                    let t = self.operand(m, jk, chain)?;
                    let tf = self.as_text_frag(t);
                    f.push(", ").append(&tf);
                }
                f.push("), '')");
                f
            }
            Dialect::Postgres => {
                if args.len() > 2 {
                    return Err(FilterError::resolve(
                        "strftime() modifiers are not supported on PostgreSQL",
                    ));
                }
                let pg_format = strftime_to_pg(format)?;
                let ts = Frag::fill(
                    "CAST(NULLIF(CASE WHEN {} = 'now' THEN CAST(NOW() AS TEXT) ELSE {} END, '') AS TIMESTAMPTZ)",
                    &[&time, &time],
                );
                let mut f = Frag::raw("COALESCE(to_char(");
                f.append(&ts).push(" AT TIME ZONE 'UTC', ");
                f.append(&Frag::param(SqlValue::String(Some(pg_format))))
                    .push("), '')");
                f
            }
        };
        let mut t = SqlTerm::new(f, Kind::Text, false);
        t.multi = multi;
        Ok(Term::Sql(t))
    }

    fn as_number_frag(&self, t: Term) -> Result<Frag, FilterError> {
        Ok(match t {
            Term::Lit(l) => match l.as_number() {
                Some(n) => Frag::param(SqlValue::Double(Some(n))),
                None => Frag::raw("NULL"),
            },
            Term::List(_) => return Err(FilterError::resolve("a list cannot be used as a number")),
            Term::Sql(s) => match (s.kind, s.json_number) {
                (_, Some(n)) => n,
                (Kind::Number, _) => s.frag,
                _ => Frag::fill(&format!("CAST({{}} AS {})", self.number_type()), &[&s.frag]),
            },
        })
    }

    fn as_text_frag(&self, t: Term) -> Frag {
        match t {
            Term::Lit(Lit::Null) => Frag::raw("NULL"),
            Term::Lit(l) => Frag::param(SqlValue::String(Some(l.as_text()))),
            Term::List(items) => Frag::param(SqlValue::String(Some(
                items.first().map(Lit::as_text).unwrap_or_default(),
            ))),
            Term::Sql(s) if s.kind == Kind::Text => s.frag,
            Term::Sql(s) => Frag::fill(&text_cast("{}"), &[&s.frag]),
        }
    }

    fn number_type(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "REAL",
            Dialect::Postgres => "DOUBLE PRECISION",
        }
    }

    // ----- comparisons ---------------------------------------------------------------

    fn compare(&mut self, l: &Term, op: Op, any: bool, r: &Term) -> Result<Frag, FilterError> {
        match (l, r) {
            (Term::Sql(a), Term::Sql(b)) => Ok(self.compare_sql(a, op, b)),
            (Term::Sql(a), Term::Lit(b)) => Ok(self.compare_lit(a, op, b, false)),
            (Term::Lit(a), Term::Sql(b)) => Ok(self.compare_lit(b, op, a, true)),
            (Term::Sql(_), Term::List(items)) | (Term::List(items), Term::Sql(_)) => {
                if items.is_empty() {
                    let null = Term::Lit(Lit::Null);
                    return if matches!(l, Term::List(_)) {
                        self.compare(&null, op, any, r)
                    } else {
                        self.compare(l, op, any, &null)
                    };
                }
                let mut parts = Vec::new();
                for it in items {
                    let one = Term::Lit(it.clone());
                    let f = if matches!(l, Term::List(_)) {
                        self.compare(&one, op, any, r)?
                    } else {
                        self.compare(l, op, any, &one)?
                    };
                    parts.push(f);
                }
                let sep = if any { " OR " } else { " AND " };
                let mut out = Frag::raw("(");
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push(sep);
                    }
                    out.append(p);
                }
                out.push(")");
                Ok(out)
            }
            _ => Ok(Frag::constant(eval_literals(l, op, any, r))),
        }
    }

    fn compare_lit(&self, s: &SqlTerm, op: Op, lit: &Lit, lit_on_left: bool) -> Frag {
        let d = self.dialect();
        // Pick how the column side is read and how the literal is bound.
        let (col, val, kind): (Frag, Option<Frag>, Kind) = match (s.kind, lit) {
            (_, Lit::Null) => (s.frag.clone(), None, s.kind),
            (Kind::Number, l) => match l.as_number() {
                Some(n) => (
                    s.frag.clone(),
                    Some(Frag::param(SqlValue::Double(Some(n)))),
                    Kind::Number,
                ),
                None => (
                    Frag::fill(&text_cast("{}"), &[&s.frag]),
                    Some(text_param(l.as_text())),
                    Kind::Text,
                ),
            },
            (Kind::Bool, l) => match bool_of(l) {
                Some(b) => (
                    s.frag.clone(),
                    Some(Frag::param(SqlValue::Bool(Some(b)))),
                    Kind::Bool,
                ),
                None => (
                    Frag::fill(&text_cast("{}"), &[&s.frag]),
                    Some(text_param(l.as_text())),
                    Kind::Text,
                ),
            },
            (Kind::Text, l) => (s.frag.clone(), Some(text_param(l.as_text())), Kind::Text),
            (Kind::Json, l) => match (d, l) {
                (Dialect::Sqlite, Lit::Number(n)) => (
                    s.frag.clone(),
                    Some(Frag::param(SqlValue::Double(Some(*n)))),
                    Kind::Json,
                ),
                (Dialect::Sqlite, Lit::Bool(b)) => (
                    s.frag.clone(),
                    Some(Frag::param(SqlValue::Int(Some(*b as i32)))),
                    Kind::Json,
                ),
                (Dialect::Postgres, Lit::Number(n)) => (
                    s.json_number.clone().unwrap_or_else(|| s.frag.clone()),
                    Some(Frag::param(SqlValue::Double(Some(*n)))),
                    Kind::Number,
                ),
                (Dialect::Postgres, Lit::Bool(b)) => {
                    (s.frag.clone(), Some(text_param(b.to_string())), Kind::Text)
                }
                (_, l) => (s.frag.clone(), Some(text_param(l.as_text())), Kind::Text),
            },
        };
        let nullable = s.nullable;
        let Some(val) = val else {
            // Comparing with null: "" and NULL are the same for text.
            let is_empty = match kind {
                Kind::Text | Kind::Json => Frag::fill("({} IS NULL OR {} = '')", &[&col, &col]),
                _ => Frag::fill("({} IS NULL)", &[&col]),
            };
            return match op {
                Op::Eq => is_empty,
                Op::Neq => Frag::fill("(NOT {})", &[&is_empty]),
                _ => Frag::constant(false),
            };
        };
        let (a, b, an, bn) = if lit_on_left {
            (val, col, false, nullable)
        } else {
            (col, val, nullable, false)
        };
        self.render(&a, an, op, &b, bn, kind, lit_on_left.then_some(lit))
    }

    fn compare_sql(&self, l: &SqlTerm, op: Op, r: &SqlTerm) -> Frag {
        let d = self.dialect();
        let (a, b, kind) = if l.kind == r.kind {
            (l.frag.clone(), r.frag.clone(), l.kind)
        } else if d == Dialect::Sqlite && (l.kind == Kind::Json || r.kind == Kind::Json) {
            (l.frag.clone(), r.frag.clone(), Kind::Json)
        } else {
            (
                Frag::fill(&text_cast("{}"), &[&l.frag]),
                Frag::fill(&text_cast("{}"), &[&r.frag]),
                Kind::Text,
            )
        };
        self.render(&a, l.nullable, op, &b, r.nullable, kind, None)
    }

    /// Renders `a <op> b` with PocketBase's null handling.
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        a: &Frag,
        an: bool,
        op: Op,
        b: &Frag,
        bn: bool,
        kind: Kind,
        left_lit: Option<&Lit>,
    ) -> Frag {
        let d = self.dialect();
        let text_like = matches!(kind, Kind::Text | Kind::Json);
        let coalesce = |f: &Frag, n: bool| {
            if n && text_like {
                Frag::fill("COALESCE({}, '')", &[f])
            } else {
                f.clone()
            }
        };
        match op {
            Op::Eq | Op::Neq => {
                let (ca, cb) = (coalesce(a, an), coalesce(b, bn));
                let nullsafe = (an || bn) && !text_like;
                let tpl = match (op, nullsafe, d) {
                    (Op::Eq, false, _) => "({} = {})",
                    (Op::Neq, false, _) => "({} <> {})",
                    (Op::Eq, true, Dialect::Sqlite) => "({} IS {})",
                    (Op::Neq, true, Dialect::Sqlite) => "({} IS NOT {})",
                    (Op::Eq, true, Dialect::Postgres) => "({} IS NOT DISTINCT FROM {})",
                    _ => "({} IS DISTINCT FROM {})",
                };
                Frag::fill(tpl, &[&ca, &cb])
            }
            Op::Gt => Frag::fill("({} > {})", &[a, b]),
            Op::Gte => Frag::fill("({} >= {})", &[a, b]),
            Op::Lt => Frag::fill("({} < {})", &[a, b]),
            Op::Lte => Frag::fill("({} <= {})", &[a, b]),
            Op::Like | Op::NotLike => {
                let as_text = if kind == Kind::Text {
                    a.clone()
                } else {
                    Frag::fill(&text_cast("{}"), &[a])
                };
                let subject = coalesce(&as_text, an);
                // A literal pattern is matched as a substring unless it has its own `%`.
                let pattern = match (left_lit, b.params.as_slice()) {
                    (None, [SqlValue::String(Some(s))]) if b.sql == MARK.to_string() => {
                        Frag::param(SqlValue::String(Some(like_pattern(s))))
                    }
                    _ => Frag::fill(&format!("('%' || {} || '%')", text_cast("{}")), &[b]),
                };
                let like = match d {
                    Dialect::Sqlite => {
                        Frag::fill("({} LIKE {} ESCAPE '\\')", &[&subject, &pattern])
                    }
                    Dialect::Postgres => Frag::fill("({} ILIKE {})", &[&subject, &pattern]),
                };
                if op == Op::Like {
                    like
                } else {
                    Frag::fill("(NOT {})", &[&like])
                }
            }
        }
    }
}

fn text_param(s: String) -> Frag {
    Frag::param(SqlValue::String(Some(s)))
}

/// `expr` as text; the same SQL in both dialects.
fn text_cast(expr: &str) -> String {
    format!("CAST({expr} AS TEXT)")
}

fn json_each(d: Dialect, col: &str, alias: &str) -> Frag {
    match d {
        Dialect::Sqlite => Frag::raw(format!("json_each({col}) {} ON TRUE", quote(alias))),
        Dialect::Postgres => Frag::raw(format!(
            "LATERAL jsonb_array_elements_text({col}) AS {}(\"value\") ON TRUE",
            quote(alias)
        )),
    }
}

fn bool_of(l: &Lit) -> Option<bool> {
    match l {
        Lit::Bool(b) => Some(*b),
        Lit::Number(n) => Some(*n != 0.0),
        Lit::Text(s) => match s.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        Lit::Null => None,
    }
}

/// `%` and `_` and `\` escaped, wrapped in `%...%`, unless the text has its own `%`.
fn like_pattern(s: &str) -> String {
    if s.contains('%') {
        return s.to_string();
    }
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn json_to_term(v: &Value) -> Term {
    match v {
        Value::Array(items) => Term::List(items.iter().map(Lit::from_json).collect()),
        other => Term::Lit(Lit::from_json(other)),
    }
}

fn apply_lit_modifier(t: Term, modifier: Option<&str>) -> Result<Term, FilterError> {
    match (modifier, t) {
        (None, t) => Ok(t),
        (Some("lower"), Term::Lit(l)) => Ok(Term::Lit(match l {
            Lit::Text(s) => Lit::Text(s.to_lowercase()),
            other => other,
        })),
        (Some("lower"), Term::List(items)) => Ok(Term::List(
            items
                .into_iter()
                .map(|l| {
                    if let Lit::Text(s) = l {
                        Lit::Text(s.to_lowercase())
                    } else {
                        l
                    }
                })
                .collect(),
        )),
        (Some("isset"), Term::Lit(l)) => Ok(Term::Lit(Lit::Bool(l != Lit::Null))),
        (Some("length"), Term::List(items)) => Ok(Term::Lit(Lit::Number(items.len() as f64))),
        (Some("each"), Term::List(items)) => Ok(Term::List(items)),
        (Some("each"), Term::Lit(l)) => Ok(Term::List(vec![l])),
        (Some(m), t) => match t {
            Term::Sql(_) => Ok(t),
            _ => Err(FilterError::resolve(format!(
                "modifier ':{m}' is not allowed here"
            ))),
        },
    }
}

/// Splits `a.b:lower` into (`a.b`, `lower`). Only the last segment may carry a modifier;
/// the only other `:` allowed is an `@collection.name:alias` alias.
fn split_modifier(ident: &str) -> Result<(&str, Option<&str>), FilterError> {
    let last = ident.rsplit_once('.').map_or(ident, |(_, l)| l);
    let head_len = ident.len() - last.len();
    let (path, modifier) = match last.split_once(':') {
        Some((name, m)) if !m.contains(':') => (&ident[..head_len + name.len()], Some(m)),
        Some(_) => {
            return Err(FilterError::resolve(format!(
                "invalid modifier in '{ident}'"
            )))
        }
        None => (ident, None),
    };
    let alias_ok = |i: usize, seg: &str| {
        i == 1 && ident.starts_with("@collection.") && seg.matches(':').count() == 1
    };
    let head = &ident[..head_len];
    if head
        .split('.')
        .enumerate()
        .any(|(i, seg)| seg.contains(':') && !alias_ok(i, seg))
    {
        return Err(FilterError::resolve(format!(
            "invalid modifier in '{ident}'"
        )));
    }
    Ok((path, modifier))
}

/// Compares two literals in Rust (both sides known before the query runs).
fn eval_literals(l: &Term, op: Op, any: bool, r: &Term) -> bool {
    let items = |t: &Term| match t {
        Term::Lit(l) => vec![l.clone()],
        Term::List(v) => v.clone(),
        Term::Sql(_) => vec![],
    };
    let (ls, rs) = (items(l), items(r));
    let lists = matches!(l, Term::List(_)) || matches!(r, Term::List(_));
    let ls = if ls.is_empty() { vec![Lit::Null] } else { ls };
    let rs = if rs.is_empty() { vec![Lit::Null] } else { rs };
    let mut results = ls
        .iter()
        .flat_map(|a| rs.iter().map(move |b| eval_pair(a, op, b)));
    if any && lists {
        results.any(|x| x)
    } else {
        results.all(|x| x)
    }
}

fn eval_pair(a: &Lit, op: Op, b: &Lit) -> bool {
    use std::cmp::Ordering;
    let text_eq = |a: &Lit, b: &Lit| match (a.as_number(), b.as_number(), a, b) {
        (Some(x), Some(y), Lit::Number(_) | Lit::Bool(_), _)
        | (Some(x), Some(y), _, Lit::Number(_) | Lit::Bool(_)) => x == y,
        _ => a.as_text() == b.as_text(),
    };
    let ord = || -> Option<Ordering> {
        match (a.as_number(), b.as_number(), a, b) {
            (_, _, Lit::Null, _) | (_, _, _, Lit::Null) => None,
            (Some(x), Some(y), Lit::Number(_), _) | (Some(x), Some(y), _, Lit::Number(_)) => {
                x.partial_cmp(&y)
            }
            _ => Some(a.as_text().cmp(&b.as_text())),
        }
    };
    match op {
        Op::Eq => text_eq(a, b),
        Op::Neq => !text_eq(a, b),
        Op::Gt => ord() == Some(Ordering::Greater),
        Op::Gte => matches!(ord(), Some(Ordering::Greater | Ordering::Equal)),
        Op::Lt => ord() == Some(Ordering::Less),
        Op::Lte => matches!(ord(), Some(Ordering::Less | Ordering::Equal)),
        Op::Like | Op::NotLike => {
            let hay = a.as_text().to_lowercase();
            let pat = b.as_text().to_lowercase();
            let m = if pat.contains('%') {
                like_match(&hay, &pat)
            } else {
                hay.contains(&pat)
            };
            (op == Op::Like) == m
        }
    }
}

/// SQL LIKE with `%` and `_` wildcards (no escapes), for literal-only comparisons.
fn like_match(s: &str, p: &str) -> bool {
    let (s, p): (Vec<char>, Vec<char>) = (s.chars().collect(), p.chars().collect());
    let (mut si, mut pi, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

fn strftime_to_pg(format: &str) -> Result<String, FilterError> {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            if c.is_ascii_alphabetic() {
                out.push('"');
                out.push(c);
                out.push('"');
            } else {
                out.push(c);
            }
            continue;
        }
        let spec = chars
            .next()
            .ok_or_else(|| FilterError::resolve("strftime(): dangling '%'"))?;
        out.push_str(match spec {
            'Y' => "YYYY",
            'm' => "MM",
            'd' => "DD",
            'H' => "HH24",
            'M' => "MI",
            'S' => "SS",
            'j' => "DDD",
            'f' => "SS.MS",
            '%' => "%",
            other => {
                return Err(FilterError::resolve(format!(
                    "strftime(): '%{other}' is not supported on PostgreSQL"
                )))
            }
        });
    }
    Ok(out)
}
