//! Rendering comparisons: two resolved terms and an operator as SQL (or as a constant
//! when both sides are literals), with PocketBase's meaning of multi-valued operands,
//! `~` patterns and type coercions, in either dialect.

use super::*;

impl Compiler<'_, '_> {
    pub(super) fn as_number_frag(&self, t: Term) -> Result<Frag, FilterError> {
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

    pub(super) fn as_text_frag(&self, t: Term) -> Frag {
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

    pub(super) fn number_type(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "REAL",
            Dialect::Postgres => "DOUBLE PRECISION",
        }
    }

    // ----- comparisons ---------------------------------------------------------------

    pub(super) fn compare(
        &mut self,
        l: &Term,
        op: Op,
        any: bool,
        r: &Term,
    ) -> Result<Frag, FilterError> {
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

    pub(super) fn compare_lit(&self, s: &SqlTerm, op: Op, lit: &Lit, lit_on_left: bool) -> Frag {
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

    pub(super) fn compare_sql(&self, l: &SqlTerm, op: Op, r: &SqlTerm) -> Frag {
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
    pub(super) fn render(
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

pub(super) fn text_param(s: String) -> Frag {
    Frag::param(SqlValue::String(Some(s)))
}

/// `expr` as text; the same SQL in both dialects.
pub(super) fn text_cast(expr: &str) -> String {
    format!("CAST({expr} AS TEXT)")
}

pub(super) fn json_each(d: Dialect, col: &str, alias: &str) -> Frag {
    match d {
        Dialect::Sqlite => Frag::raw(format!("json_each({col}) {} ON TRUE", quote(alias))),
        Dialect::Postgres => Frag::raw(format!(
            "LATERAL jsonb_array_elements_text({col}) AS {}(\"value\") ON TRUE",
            quote(alias)
        )),
    }
}

pub(super) fn bool_of(l: &Lit) -> Option<bool> {
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
pub(super) fn like_pattern(s: &str) -> String {
    if s.contains('%') {
        return s.to_string();
    }
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Compares two literals in Rust (both sides known before the query runs).
pub(super) fn eval_literals(l: &Term, op: Op, any: bool, r: &Term) -> bool {
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

pub(super) fn eval_pair(a: &Lit, op: Op, b: &Lit) -> bool {
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
pub(super) fn like_match(s: &str, p: &str) -> bool {
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
