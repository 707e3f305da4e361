//! Identifier resolution: a filter's names as SQL terms — the collection's fields and
//! JSON paths, relations and back-relations as joins (with the target's view rule),
//! `@request.*` values, `@collection.*` joins, and functions.

use super::render::{json_each, text_cast};
use super::*;

impl Compiler<'_, '_> {
    pub(super) fn identifier(
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
            let mut t = self.path(&*target, &alias, &segs, modifier, jk, chain)?;
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
    pub(super) fn join(
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
    pub(super) fn target_rule(
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
                // The target's own rule: no client policy, the same request and time.
                let scope = Scope {
                    collection: target,
                    alias,
                    client_filter: false,
                    ..*self.scope
                };
                let depth = self.depth + 1;
                Ok(Some(compile_expr_root(&expr, &scope, self.counter, depth)?))
            }
        }
    }

    /// A field path starting at `coll` (table alias `alias`).
    pub(super) fn path(
        &mut self,
        coll: &dyn Table,
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
                    coll.table_name()
                ))
            })?
            .clone();
        if field.hidden && self.scope.client_filter && !self.scope.request.is_superuser() {
            return Err(FilterError::resolve(format!(
                "unknown field '{name}' in collection '{}'",
                coll.table_name()
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
                let mut t = self.path(&*target, &t_alias, rest, modifier, jk, chain)?;
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

    pub(super) fn column(
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

    pub(super) fn json_path(
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
    pub(super) fn back_relation(
        &mut self,
        coll: &dyn Table,
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
        if rel.collection_id != coll.table_id() {
            return Err(FilterError::resolve(format!(
                "'{back_coll}.{back_field}' does not point to '{}'",
                coll.table_name()
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
        let mut t = self.path(&*target, &t_alias, &segs, modifier, jk, chain)?;
        if let Term::Sql(s) = &mut t {
            s.multi = true;
            s.nullable = true;
        }
        Ok(t)
    }

    /// `@request.*` values, known before the query runs.
    pub(super) fn request_value(
        &mut self,
        rest: &str,
        modifier: Option<&str>,
    ) -> Result<Term, FilterError> {
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

    pub(super) fn auth_value(
        &mut self,
        path: &str,
        modifier: Option<&str>,
    ) -> Result<Term, FilterError> {
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
        let mut t = self.path(&*coll, &a, &segs, modifier, JoinKind::Left, &mut chain)?;
        if let Term::Sql(s) = &mut t {
            s.nullable = true;
        }
        Ok(t)
    }

    pub(super) fn body_value(
        &mut self,
        path: &str,
        modifier: Option<&str>,
    ) -> Result<Term, FilterError> {
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

    pub(super) fn function(
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

    pub(super) fn strftime(
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
}

pub(super) fn apply_lit_modifier(t: Term, modifier: Option<&str>) -> Result<Term, FilterError> {
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
pub(super) fn split_modifier(ident: &str) -> Result<(&str, Option<&str>), FilterError> {
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

pub(super) fn json_to_term(v: &Value) -> Term {
    match v {
        Value::Array(items) => Term::List(items.iter().map(Lit::from_json).collect()),
        other => Term::Lit(Lit::from_json(other)),
    }
}

pub(super) fn strftime_to_pg(format: &str) -> Result<String, FilterError> {
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
