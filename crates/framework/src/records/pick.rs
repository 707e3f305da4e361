//! The `fields` query parameter: keep only the listed (dot-path) keys of a JSON
//! response, with `*` wildcards and `:excerpt(maxLen[, withEllipsis])` on strings.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Default, Debug)]
struct Node {
    /// `Some` when this key is picked itself (with an optional excerpt).
    leaf: Option<Option<(usize, bool)>>,
    children: BTreeMap<String, Node>,
}

fn parse(fields: &str) -> Node {
    let mut root = Node::default();
    for raw in split_top(fields) {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (path, modifier) = match raw.split_once(':') {
            Some((p, m)) => (p, parse_excerpt(m)),
            None => (raw, None),
        };
        let mut node = &mut root;
        for seg in path.split('.') {
            node = node.children.entry(seg.to_string()).or_default();
        }
        node.leaf = Some(modifier);
    }
    root
}

/// Splits on commas that are not inside `(...)`.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_excerpt(m: &str) -> Option<(usize, bool)> {
    let args = m.strip_prefix("excerpt(")?.strip_suffix(')')?;
    let mut it = args.split(',').map(str::trim);
    let max: usize = it.next()?.parse().ok()?;
    let ellipsis = it.next().is_some_and(|s| s == "true" || s == "1");
    Some((max, ellipsis))
}

fn excerpt(s: &str, max: usize, ellipsis: bool) -> String {
    // Tags are dropped and whitespace collapsed, so HTML from editor fields reads as text.
    let mut plain = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain.chars().count() <= max {
        return plain;
    }
    let mut out: String = plain.chars().take(max).collect();
    if ellipsis {
        out.push_str("...");
    }
    out
}

fn apply(v: Value, node: &Node) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            let star = node.children.get("*");
            for (k, val) in map {
                let child = node.children.get(&k).or(star);
                let Some(child) = child else { continue };
                let val = match child.leaf {
                    Some(Some((max, ell))) => match val {
                        Value::String(s) => Value::String(excerpt(&s, max, ell)),
                        other => other,
                    },
                    Some(None) if child.children.is_empty() => val,
                    _ => apply(val, child),
                };
                out.insert(k, val);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|i| apply(i, node)).collect()),
        other => other,
    }
}

/// Applies `fields` to a response body; `None` or empty leaves it as is.
pub fn pick(v: Value, fields: Option<&str>) -> Value {
    match fields.map(str::trim).filter(|f| !f.is_empty()) {
        None => v,
        Some(f) => apply(v, &parse(f)),
    }
}

/// For list responses: the picker applies to each item, the envelope stays.
pub fn pick_items(mut v: Value, fields: Option<&str>) -> Value {
    if let Some(Value::Array(items)) = v.get_mut("items") {
        let taken = std::mem::take(items);
        *items = taken.into_iter().map(|i| pick(i, fields)).collect();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn picks() {
        let rec = json!({"id":"a","title":"<p>First post here</p>","views":3,"expand":{"author":{"id":"u","name":"Ann","email":"x"}}});
        assert_eq!(
            pick(rec.clone(), Some("id,views")),
            json!({"id":"a","views":3})
        );
        assert_eq!(
            pick(rec.clone(), Some("id,title:excerpt(5,true)")),
            json!({"id":"a","title":"First..."})
        );
        assert_eq!(
            pick(rec.clone(), Some("title:excerpt(100)")),
            json!({"title":"First post here"})
        );
        assert_eq!(
            pick(rec.clone(), Some("id,expand.author.name")),
            json!({"id":"a","expand":{"author":{"name":"Ann"}}})
        );
        assert_eq!(
            pick(rec.clone(), Some("*,expand.author.id"))["expand"],
            json!({"author":{"id":"u"}})
        );
        assert_eq!(pick(rec.clone(), Some("")), rec);
        let list = json!({"page":1,"items":[{"id":"a","x":1}]});
        assert_eq!(
            pick_items(list, Some("id")),
            json!({"page":1,"items":[{"id":"a"}]})
        );
    }
}
