//! `${…}` references in step and trigger properties. A property that is exactly one reference takes
//! the referenced value whatever its type (`"body": "${steps.build.message}"` passes an object);
//! references inside longer text are written as text (strings as they are, other values as JSON,
//! missing ones as nothing).

use crate::machine::StepContext;
use serde_json::{Map, Value};

/// Resolves every reference in `value` (strings, and strings inside arrays and objects).
pub fn resolve(value: &Value, scope: &StepContext<'_>) -> Value {
    match value {
        Value::String(text) => resolve_text(text, scope),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| resolve(item, scope)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), resolve(item, scope)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn resolve_text(text: &str, scope: &StepContext<'_>) -> Value {
    if !text.contains("${") {
        return Value::String(text.to_owned());
    }
    if let Some(inner) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}'))
        && !inner.contains("${")
        && !inner.contains('}')
    {
        return lookup(inner.trim(), scope).unwrap_or(Value::Null);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                match lookup(after[..end].trim(), scope) {
                    Some(Value::String(s)) => out.push_str(&s),
                    Some(Value::Null) | None => {}
                    Some(other) => out.push_str(&other.to_string()),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Value::String(out)
}

/// Splits `a.b[0].c` into `a`, `b`, `0`, `c`.
fn segments(path: &str) -> Vec<String> {
    path.replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn walk(value: &Value, path: &[String]) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value.clone());
    };
    match value {
        Value::Object(map) => walk(map.get(first)?, rest),
        Value::Array(items) => walk(items.get(first.parse::<usize>().ok()?)?, rest),
        // A JSON text (an HTTP body kept as text, a flattened value) can be walked into.
        Value::String(text) if text.starts_with('{') || text.starts_with('[') => {
            let parsed: Value = serde_json::from_str(text).ok()?;
            walk(&parsed, path)
        }
        _ => None,
    }
}

/// The longest key of `map` that `path` starts with (keys may contain dots: `config.max.count`).
fn longest_key(map: &Map<String, Value>, path: &[String]) -> Option<Value> {
    (1..=path.len()).rev().find_map(|take| {
        let key = path[..take].join(".");
        map.get(&key).and_then(|value| walk(value, &path[take..]))
    })
}

fn lookup(reference: &str, scope: &StepContext<'_>) -> Option<Value> {
    let path = segments(reference);
    let (namespace, rest) = path.split_first()?;
    match namespace.as_str() {
        "steps" => longest_key(scope.steps, rest),
        "config" => longest_key(scope.config, rest),
        "trigger" => walk(scope.trigger, rest),
        "info" => walk(scope.info, rest),
        // Triggers name variables without the namespace (`${trigger_instance}`).
        _ => longest_key(scope.config, &path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_scope(test: impl FnOnce(&StepContext<'_>)) {
        let trigger = json!({"args": {"to": "a@b.c", "count": 3}, "event": {"objectId": "m1"}});
        let steps = json!({
            "prepare": {"url": "/messages", "form": {"body": "{\"to\":\"x\"}"}},
            "list.with.dots": {"ids": [1, 2, 3]},
            "call": {"response": {"body": "{\"id\":\"abc\",\"n\":[4]}"}}
        });
        let config = json!({"gmail": 12, "max.count": 5, "greeting": "hi"});
        let info = json!({"formulaExecutionId": 99});
        let scope = StepContext {
            trigger: &trigger,
            steps: steps.as_object().unwrap(),
            info: &info,
            config: config.as_object().unwrap(),
        };
        test(&scope);
    }

    #[test]
    fn a_whole_reference_keeps_its_type() {
        with_scope(|scope| {
            assert_eq!(
                resolve(&json!("${steps.prepare.form}"), scope),
                json!({"body": "{\"to\":\"x\"}"})
            );
            assert_eq!(resolve(&json!("${config.gmail}"), scope), json!(12));
            assert_eq!(resolve(&json!("${config.max.count}"), scope), json!(5));
            assert_eq!(
                resolve(&json!("${steps.list.with.dots.ids[1]}"), scope),
                json!(2)
            );
            assert_eq!(resolve(&json!("${trigger.args.count}"), scope), json!(3));
            assert_eq!(
                resolve(&json!("${info.formulaExecutionId}"), scope),
                json!(99)
            );
            assert_eq!(
                resolve(&json!("${gmail}"), scope),
                json!(12),
                "trigger style without config."
            );
            assert_eq!(resolve(&json!("${steps.nope.x}"), scope), Value::Null);
        });
    }

    #[test]
    fn references_inside_text_become_text() {
        with_scope(|scope| {
            assert_eq!(
                resolve(&json!("/messages/${trigger.event.objectId}"), scope),
                json!("/messages/m1")
            );
            assert_eq!(
                resolve(&json!("${config.greeting}, ${trigger.args.to}!"), scope),
                json!("hi, a@b.c!")
            );
            assert_eq!(
                resolve(&json!("n=${config.gmail} x=${steps.nope}"), scope),
                json!("n=12 x=")
            );
            assert_eq!(
                resolve(&json!("open ${ without end"), scope),
                json!("open ${ without end")
            );
        });
    }

    #[test]
    fn json_text_bodies_can_be_walked_into() {
        with_scope(|scope| {
            assert_eq!(
                resolve(&json!("${steps.call.response.body.id}"), scope),
                json!("abc")
            );
            assert_eq!(
                resolve(&json!("${steps.call.response.body.n.0}"), scope),
                json!(4)
            );
        });
    }

    #[test]
    fn objects_and_arrays_are_resolved_inside() {
        with_scope(|scope| {
            let value = json!({"to": "${trigger.args.to}", "list": ["${config.gmail}", 1]});
            assert_eq!(
                resolve(&value, scope),
                json!({"to": "a@b.c", "list": [12, 1]})
            );
        });
    }
}
