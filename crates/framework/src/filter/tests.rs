//! Table-driven tests of the whole filter pipeline: parsing (valid and invalid, with
//! positions), precedence, escaping, and compiling against a schema in both dialects.

use super::lexer::Op;
use super::parser::{parse, Expr, Operand};
use super::{compile_filter, compile_sort, RequestInfo, Scope};
use crate::collections::model::Collection;
use crate::collections::registry::Registry;
use crate::db::Dialect;
use crate::fields::{
    Field, FieldKind, GeoPointField, JsonField, NumberField, RelationField, SelectField, TextField,
};
use sea_orm::Value as SqlValue;

const SIGNS: [(&str, Op, bool); 16] = [
    ("=", Op::Eq, false),
    ("!=", Op::Neq, false),
    (">", Op::Gt, false),
    (">=", Op::Gte, false),
    ("<", Op::Lt, false),
    ("<=", Op::Lte, false),
    ("~", Op::Like, false),
    ("!~", Op::NotLike, false),
    ("?=", Op::Eq, true),
    ("?!=", Op::Neq, true),
    ("?>", Op::Gt, true),
    ("?>=", Op::Gte, true),
    ("?<", Op::Lt, true),
    ("?<=", Op::Lte, true),
    ("?~", Op::Like, true),
    ("?!~", Op::NotLike, true),
];

const OPERANDS: [&str; 8] = [
    "title",
    "'text'",
    "\"dq\"",
    "12",
    "-3.5",
    "@now",
    "a.b.c:lower",
    "fn(x, 'y', 1)",
];

#[test]
fn every_sign_with_every_operand_kind() {
    let mut n = 0;
    for (s, op, any) in SIGNS {
        for l in OPERANDS {
            for r in OPERANDS {
                let src = format!("{l} {s} {r}");
                let e = parse(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
                let Expr::Cmp(c) = e else {
                    panic!("{src}: not a comparison")
                };
                assert_eq!((c.sign.op, c.sign.any), (op, any), "{src}");
                // Also without spaces.
                let tight = format!("{l}{s}{r}");
                if !(l.ends_with(|c: char| c.is_ascii_digit()) && r.starts_with('-')) {
                    assert!(parse(&tight).is_ok(), "{tight}");
                }
                n += 1;
            }
        }
    }
    assert_eq!(n, 16 * 8 * 8);
}

#[test]
fn operand_kinds() {
    let cases: &[(&str, Operand)] = &[
        ("a = 1", Operand::Number(1.0)),
        ("a = -0.25", Operand::Number(-0.25)),
        ("a = 'x y'", Operand::Text("x y".into())),
        ("a = \"x'y\"", Operand::Text("x'y".into())),
        ("a = 'x\"y'", Operand::Text("x\"y".into())),
        ("a = 'it\\'s'", Operand::Text("it's".into())),
        ("a = \"say \\\"hi\\\"\"", Operand::Text("say \"hi\"".into())),
        ("a = 'back\\slash'", Operand::Text("back\\slash".into())),
        ("a = ''", Operand::Text(String::new())),
        ("a = 'multi\nline'", Operand::Text("multi\nline".into())),
        ("a = b", Operand::Ident("b".into())),
        (
            "a = @request.auth.id",
            Operand::Ident("@request.auth.id".into()),
        ),
        ("a = #hash", Operand::Ident("#hash".into())),
        ("a = _x", Operand::Ident("_x".into())),
        ("a = b.c:each", Operand::Ident("b.c:each".into())),
        (
            "a = f()",
            Operand::Func {
                name: "f".into(),
                args: vec![],
            },
        ),
        (
            "a = f(1,)",
            Operand::Func {
                name: "f".into(),
                args: vec![Operand::Number(1.0)],
            },
        ),
        (
            "a = f( 'x' , b )",
            Operand::Func {
                name: "f".into(),
                args: vec![Operand::Text("x".into()), Operand::Ident("b".into())],
            },
        ),
        (
            "a = f(g(1))",
            Operand::Func {
                name: "f".into(),
                args: vec![Operand::Func {
                    name: "g".into(),
                    args: vec![Operand::Number(1.0)],
                }],
            },
        ),
        (
            "a = f(1 // note\n, 2)",
            Operand::Func {
                name: "f".into(),
                args: vec![Operand::Number(1.0), Operand::Number(2.0)],
            },
        ),
    ];
    for (src, want) in cases {
        let Expr::Cmp(c) = parse(src).unwrap_or_else(|e| panic!("{src}: {e}")) else {
            panic!()
        };
        assert_eq!(&c.right, want, "{src}");
    }
}

/// Renders the tree with explicit parentheses, to check grouping.
fn shape(e: &Expr) -> String {
    match e {
        Expr::And(p) => format!(
            "({})",
            p.iter().map(shape).collect::<Vec<_>>().join(" AND ")
        ),
        Expr::Or(p) => format!("({})", p.iter().map(shape).collect::<Vec<_>>().join(" OR ")),
        Expr::Cmp(c) => match &c.left {
            Operand::Ident(i) => i.clone(),
            _ => "?".into(),
        },
    }
}

#[test]
fn precedence_and_grouping() {
    let cases = [
        ("a=1 && b=1", "(a AND b)"),
        ("a=1 || b=1", "(a OR b)"),
        ("a=1 || b=1 && c=1", "(a OR (b AND c))"),
        ("a=1 && b=1 || c=1", "((a AND b) OR c)"),
        ("a=1 && b=1 || c=1 && d=1", "((a AND b) OR (c AND d))"),
        ("(a=1 || b=1) && c=1", "((a OR b) AND c)"),
        ("a=1 && (b=1 || c=1)", "(a AND (b OR c))"),
        ("((a=1))", "a"),
        ("(a=1 || (b=1 && (c=1 || d=1)))", "(a OR (b AND (c OR d)))"),
        ("a=1 || b=1 || c=1", "(a OR b OR c)"),
        ("a=1 && b=1 && c=1", "(a AND b AND c)"),
        ("a=1 // c\n && b=1", "(a AND b)"),
        ("  a = 1  \t&&\n b = 1 ", "(a AND b)"),
    ];
    for (src, want) in cases {
        assert_eq!(
            shape(&parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))),
            want,
            "{src}"
        );
    }
}

#[test]
fn syntax_errors_with_positions() {
    let cases: &[(&str, usize)] = &[
        ("", 0),
        ("   ", 0),
        ("// c", 0),
        ("a", 1),
        ("a =", 3),
        ("= a", 0),
        ("a = = b", 4),
        ("a == b", 3),
        ("a => b", 3),
        ("a =< b", 3),
        ("a ! b", 2),
        ("a ? b", 2),
        ("a = 1 &", 6),
        ("a = 1 & b = 1", 6),
        ("a = 1 | b = 1", 6),
        ("a = 1 &&", 8),
        ("&& a = 1", 0),
        ("a = 1 && || b = 1", 9),
        ("(a = 1", 6),
        ("a = 1)", 5),
        ("()", 1),
        ("a = ()", 4),
        ("a = 'x", 4),
        ("a = \"x", 4),
        ("a = 'x\\'", 4),
        ("a = 1e3", 5),
        ("a = 1.", 4),
        ("a = .5", 4),
        ("a = 1.2.3", 7),
        ("a = 12abc", 6),
        ("a. = 1", 1),
        ("a: = 1", 1),
        ("@ = 1", 0),
        ("_ = 1", 0),
        ("a = $x", 4),
        ("a = `x`", 4),
        ("a = 1 b = 1", 6),
        ("a = f(", 6),
        ("a = f(1 2)", 8),
        ("a = f(,)", 6),
        ("a = f(g(h(i())))", 10),
        ("a = 1 && (b = 2", 15),
        ("a = [1]", 4),
        ("a = {1}", 4),
        ("a ~ 'x' ~ 'y'", 8),
    ];
    let mut wrong = Vec::new();
    for (src, pos) in cases {
        let e = parse(src).expect_err(src);
        if e.position != Some(*pos) {
            wrong.push(format!("{src:?} => {:?} ({e})", e.position));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn schema() -> (Registry, Collection) {
    let users = Collection::auth("users").with_rules(Some(""));
    let mut posts = Collection::base("posts")
        .with_field(Field::new("title", FieldKind::Text(TextField::default())))
        .with_field(Field::new(
            "views",
            FieldKind::Number(NumberField::default()),
        ))
        .with_field(Field::new(
            "tags",
            FieldKind::Select(SelectField {
                values: vec!["a".into()],
                max_select: 3,
            }),
        ))
        .with_field(Field::new("meta", FieldKind::Json(JsonField::default())))
        .with_field(Field::new(
            "loc",
            FieldKind::GeoPoint(GeoPointField::default()),
        ))
        .with_field(Field::new("secret", FieldKind::Text(TextField::default())).hidden())
        .with_field(Field::new(
            "author",
            FieldKind::Relation(RelationField {
                collection_id: users.id.clone(),
                max_select: 1,
                ..Default::default()
            }),
        ));
    posts.list_rule = Some(String::new());
    let comments = Collection::base("comments")
        .with_rules(Some(""))
        .with_field(Field::new(
            "post",
            FieldKind::Relation(RelationField {
                collection_id: posts.id.clone(),
                max_select: 1,
                ..Default::default()
            }),
        ));
    let locked = Collection::base("locked").with_field(Field::new(
        "post",
        FieldKind::Relation(RelationField {
            collection_id: posts.id.clone(),
            max_select: 1,
            ..Default::default()
        }),
    ));
    (
        Registry::new(vec![users, posts.clone(), comments, locked]),
        posts,
    )
}

fn compile(
    src: &str,
    d: Dialect,
    client: bool,
) -> Result<super::compile::Compiled, super::FilterError> {
    let (reg, posts) = schema();
    let req = RequestInfo::default();
    let scope = Scope {
        registry: &reg,
        collection: &posts,
        alias: "m",
        request: &req,
        dialect: d,
        now: chrono::Utc::now(),
        client_filter: client,
    };
    compile_filter(src, &scope)
}

#[test]
fn compiles_in_both_dialects() {
    let ok = [
        "title = 'x'",
        "title != null",
        "views > 1 && views <= 2.5",
        "title ~ 'a%b_c'",
        "title !~ views",
        "tags ?= 'a'",
        "tags = 'a'",
        "tags:each != 'a'",
        "tags:length > 1",
        "tags:lower ?= 'a'",
        "meta.a.0 = 1",
        "meta.a = 'x'",
        "meta = null",
        "loc.lon > 1",
        "author.email ~ 'x'",
        "author.email:lower = 'x'",
        "comments_via_post.id ?= 'x'",
        "comments_via_post:length = 0",
        "@collection.users.email ?= 'x'",
        "@collection.users:u.email ?= title",
        "@request.auth.id = ''",
        "@request.auth.collectionName = 'users'",
        "@request.body.title:isset = true",
        "@request.body.tags:each ?= 'a'",
        "@request.body.tags:length > 1",
        "@request.body.title:changed = false",
        "@request.query.page = 1",
        "@request.headers.x_token = 'abc'",
        "@request.method = 'GET'",
        "@request.context = 'default'",
        "created >= @todayStart && created <= @todayEnd",
        "@weekday >= 0",
        "geoDistance(loc.lon, loc.lat, 1, 2) < 10",
        "strftime('%Y-%m-%d', created) = '2024-01-01'",
        "true = true",
        "null = ''",
        "'a' ?= 'a'",
    ];
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        for src in ok {
            let c = compile(src, d, false).unwrap_or_else(|e| panic!("{d:?} {src}: {e}"));
            assert!(!c.sql.is_empty());
            let placeholders = match d {
                Dialect::Sqlite => c.sql.matches('?').count(),
                Dialect::Postgres => (1..=c.values.len())
                    .filter(|i| c.sql.contains(&format!("${i}")))
                    .count(),
            };
            assert_eq!(placeholders, c.values.len(), "{d:?} {src}: {}", c.sql);
        }
    }
}

#[test]
fn resolve_errors() {
    let bad = [
        ("nope = 1", "unknown field"),
        ("title.x = 1", "no sub-fields"),
        ("title:each = 1", "multi-valued"),
        ("title:nope = 1", "unknown modifier"),
        ("tags:length:lower = 1", "invalid modifier"),
        ("a:b.c = 1", "invalid modifier"),
        ("@nope = 1", "unknown identifier"),
        ("@request.nope = 1", "unknown identifier"),
        ("@collection.nope.x = 1", "unknown collection"),
        ("@collection.users = 1", "missing field"),
        ("loc.alt = 1", "lon"),
        ("nope_via_post = 1", "unknown collection"),
        ("users_via_email = 1", "not a relation"),
        ("locked_via_post.id ?= 'x'", "superusers"),
        ("unknown(title) = 1", "unknown function"),
        ("geoDistance(1, 2) = 1", "4 arguments"),
        ("strftime(title) = 1", "text format"),
        ("@now:lower = 1", "modifiers are not allowed"),
    ];
    for (src, msg) in bad {
        let e = compile(src, Dialect::Sqlite, false).expect_err(src);
        assert!(e.message.contains(msg), "{src}: {e}");
    }
    // Hidden fields: rules may use them, client filters may not.
    assert!(compile("secret = 'x'", Dialect::Sqlite, false).is_ok());
    assert!(compile("secret = 'x'", Dialect::Sqlite, true).is_err());
}

#[test]
fn values_are_bound_never_inlined() {
    let evil = "x'); DROP TABLE posts; --";
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        let c = compile(
            &format!("title = \"{evil}\" || title ~ \"{evil}\""),
            d,
            false,
        )
        .unwrap();
        assert!(!c.sql.contains("DROP"), "{}", c.sql);
        assert!(c.values.contains(&SqlValue::String(Some(evil.into()))));
        // A LIKE literal without % is wrapped and its wildcards escaped.
        let c = compile("title ~ '50%_off'", d, false).unwrap();
        assert!(
            c.values.contains(&SqlValue::String(Some("50%_off".into()))),
            "{:?}",
            c.values
        );
        let c = compile("title ~ 'a_b'", d, false).unwrap();
        assert!(
            c.values.contains(&SqlValue::String(Some("%a\\_b%".into()))),
            "{:?}",
            c.values
        );
    }
}

#[test]
fn literal_only_comparisons_fold() {
    let cases = [
        ("1 = 1", true),
        ("1 != 1", false),
        ("'a' = 'a'", true),
        ("'a' < 'b'", true),
        ("2 > 10", false),
        ("'10' = 10", true),
        ("null = ''", true),
        ("null != ''", false),
        ("'Hello' ~ 'ell'", true),
        ("'Hello' ~ 'H%o'", true),
        ("'Hello' !~ 'xyz'", true),
        ("true = 1", true),
        ("@request.auth.id = ''", true),
        ("@request.auth.id != ''", false),
        ("@request.body.tags:each ?= 'a'", false),
    ];
    for (src, want) in cases {
        let c = compile(src, Dialect::Sqlite, false).unwrap();
        assert_eq!(c.sql, if want { "(1=1)" } else { "(1=0)" }, "{src}");
        assert_eq!(c.is_always_true(), want, "{src}");
    }
}

#[test]
fn sorts() {
    let (reg, posts) = schema();
    let req = RequestInfo::default();
    let scope = Scope {
        registry: &reg,
        collection: &posts,
        alias: "m",
        request: &req,
        dialect: Dialect::Sqlite,
        now: chrono::Utc::now(),
        client_filter: true,
    };
    let s = compile_sort("-views, +title,created,@random", &scope).unwrap();
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].0, "\"m\".\"views\"");
    assert!(compile_sort("nope", &scope).is_err());
    assert!(compile_sort("secret", &scope).is_err());
    assert!(compile_sort("a,b,c,d,e,f,g,h,i", &scope).is_err());
    assert!(compile_sort("", &scope).unwrap().is_empty());
}

#[test]
fn bound_placeholders_are_values_not_syntax() {
    use super::{parser::parse_with, Params};
    let mut p = Params::new();
    p.insert("t".into(), serde_json::json!("x' || id != '"));
    p.insert("n".into(), serde_json::json!(3));
    p.insert("b".into(), serde_json::json!(true));
    p.insert("z".into(), serde_json::Value::Null);
    p.insert("back".into(), serde_json::json!("ends\\"));
    let e = parse_with(
        "title = {:t} && views > {:n} && ok = {:b} && x = {:z} && y = {:back}",
        &p,
    )
    .unwrap();
    let text = format!("{e:?}");
    assert!(text.contains("Text(\"x' || id != '\")"), "{text}");
    assert!(text.contains("Text(\"ends\\\\\")"), "{text}");
    assert!(
        text.contains("Number(3.0)") && text.contains("Ident(\"true\")"),
        "{text}"
    );
    assert!(parse_with("a = {:missing}", &p).is_err());
    assert!(parse_with("a = {:}", &p).is_err());
    assert!(parse_with("a = {:t", &p).is_err());
    // Clients have no bound values: a placeholder in their filter is an error.
    assert!(super::parser::parse("a = {:t}").is_err());
}

#[test]
fn parts_that_share_no_join_get_exists_of_their_own() {
    let exists = |src: &str| {
        let sql = compile(src, Dialect::Sqlite, false).expect(src).sql;
        sql.matches("EXISTS (SELECT 1 FROM (SELECT 1)").count()
    };
    // Different joins: one EXISTS each, so the database never walks their product.
    assert_eq!(
        exists("@collection.users:a.email ?= 'x' && (@collection.comments:b.post ?= id || @collection.users:c.email ?= title)"),
        3
    );
    // The same join: one EXISTS, so both conditions are about the same joined row.
    assert_eq!(
        exists("@collection.users:a.email ?= 'x' && @collection.users:a.verified ?= true"),
        1
    );
    assert_eq!(exists("author.email ~ 'x' && author.verified = true"), 1);
    // Plain columns need none.
    assert_eq!(exists("title = 'x' || views > 1"), 0);
    // A multi-valued field keeps its conditions together, as before.
    assert_eq!(exists("tags ?= 'a' && tags ?= 'b' && title = 'x'"), 1);
}
