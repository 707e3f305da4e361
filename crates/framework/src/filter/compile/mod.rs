//! Compiles a parsed filter against a collection into a bound-parameter SQL condition
//! for SQLite or PostgreSQL. Relations, back-relations and `@collection` become LEFT
//! JOINs inside one correlated `EXISTS`, so conditions on the same join see the same
//! row (as in PocketBase); plain operators on multi-valued operands mean "every value
//! matches", the `?` forms mean "at least one value matches".

mod render;
mod resolve;
mod split;

use super::lexer::{Op, Params};
use super::macros::{self, MacroValue};
use super::parser::{parse, parse_with, Comparison, Expr, Operand};
use super::{FilterError, Table};
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
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub registry: &'a Registry,
    /// The table the filter's names start from (a collection, or a plain table).
    pub collection: &'a dyn Table,
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

impl<'a> Scope<'a> {
    /// An API rule's scope on `collection` (its table aliased `alias`), for `request`, now.
    pub fn new(
        registry: &'a Registry,
        collection: &'a dyn Table,
        alias: &'a str,
        request: &'a RequestInfo,
        dialect: Dialect,
    ) -> Scope<'a> {
        Scope {
            registry,
            collection,
            alias,
            request,
            dialect,
            now: Utc::now(),
            client_filter: false,
        }
    }

    /// The same scope for a client's `filter` or `sort` (see `check_client_access`).
    pub fn for_client(self) -> Scope<'a> {
        Scope {
            client_filter: true,
            ..self
        }
    }

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

/// What a condition that folded to a constant compiles to.
const ALWAYS: &str = "(1=1)";
const NEVER: &str = "(1=0)";

impl Compiled {
    /// True when the condition holds for every row (it folded to a constant: a rule
    /// such as `@request.auth.id != ""` for a signed-in requester), so checking it
    /// against the database would tell nothing.
    pub fn is_always_true(&self) -> bool {
        self.sql == ALWAYS
    }

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
        Frag::raw(if b { ALWAYS } else { NEVER })
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
    if split::joins_nothing(expr, scope.collection) {
        return compile_joined(expr, scope, counter, depth);
    }
    let (sep, groups): (&str, Vec<Vec<&Expr>>) = match expr {
        Expr::Cmp(_) => return compile_joined(expr, scope, counter, depth),
        // Every branch of an `||` is a root of its own.
        Expr::Or(parts) => (" OR ", parts.iter().map(|p| vec![p]).collect()),
        Expr::And(parts) => match split::independent_groups(parts, scope.collection) {
            groups if groups.len() > 1 => (" AND ", groups),
            _ => return compile_joined(expr, scope, counter, depth),
        },
    };
    let mut out = Frag::raw("(");
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        let f = match group.as_slice() {
            [one] => compile_expr_root(one, scope, counter, depth)?,
            many => {
                let joined = Expr::And(many.iter().map(|e| (*e).clone()).collect());
                compile_joined(&joined, scope, counter, depth)?
            }
        };
        out.append(&f);
    }
    out.push(")");
    Ok(out)
}

/// Compiles `expr` with all its joins in one `EXISTS` (they see the same rows).
fn compile_joined(
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
}
