//! What a write body asks of one field: a plain set and the modifiers `field+` (append),
//! `+field` (prepend) and `field-` (remove), read as one change. Field types apply it
//! (`FieldType::apply`): lists add and remove items, single values are replaced or
//! cleared, numbers add and subtract.

use serde_json::{Map, Value};

/// The parts of a body that concern one field.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub set: Option<&'a Value>,
    pub prepend: Option<&'a Value>,
    pub append: Option<&'a Value>,
    pub remove: Option<&'a Value>,
}

impl<'a> Change<'a> {
    /// What `body` asks of the field `name`; `None` when it does not mention the field.
    pub fn of(name: &str, body: &'a Map<String, Value>) -> Option<Change<'a>> {
        let change = Change {
            set: body.get(name),
            prepend: body.get(&format!("+{name}")),
            append: body.get(&format!("{name}+")),
            remove: body.get(&format!("{name}-")),
        };
        let any = change.set.is_some()
            || change.prepend.is_some()
            || change.append.is_some()
            || change.remove.is_some();
        any.then_some(change)
    }

    /// The value the change makes of `current` before it is checked: a list gains and
    /// loses items (`multi`), a single value is replaced, or cleared by removing it.
    pub fn combine(&self, multi: bool, current: &Value) -> Value {
        let v = self.set.cloned().unwrap_or_else(|| current.clone());
        if multi {
            let mut items = as_list(&v);
            if let Some(p) = self.prepend {
                let mut front = as_list(p);
                front.extend(items);
                items = front;
            }
            if let Some(a) = self.append {
                items.extend(as_list(a));
            }
            if let Some(r) = self.remove {
                let gone = as_list(r);
                items.retain(|x| !gone.contains(x));
            }
            return Value::Array(items);
        }
        if let Some(r) = self.remove {
            if r == &v || as_single(r) == as_single(&v) {
                return Value::Null;
            }
            return v;
        }
        match self.append.or(self.prepend) {
            Some(a) => a.clone(),
            None => v,
        }
    }
}

fn as_list(x: &Value) -> Vec<Value> {
    match x {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        Value::String(s) if s.is_empty() => vec![],
        other => vec![other.clone()],
    }
}

fn as_single(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(a) if a.len() == 1 => a[0].as_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn lists_gain_and_lose_items_and_single_values_are_replaced_or_cleared() {
        let b = body(json!({"+tags": "a", "tags+": ["d"], "tags-": "b"}));
        let c = Change::of("tags", &b).expect("a change");
        assert_eq!(c.combine(true, &json!(["b", "c"])), json!(["a", "c", "d"]));
        let b = body(json!({"owner-": "x"}));
        let c = Change::of("owner", &b).expect("a change");
        assert_eq!(c.combine(false, &json!("x")), Value::Null);
        assert_eq!(c.combine(false, &json!("y")), json!("y"));
        let b = body(json!({"owner+": "z"}));
        let c = Change::of("owner", &b).expect("a change");
        assert_eq!(c.combine(false, &json!("y")), json!("z"));
        assert!(Change::of("other", &b).is_none());
    }
}
