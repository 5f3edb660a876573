//! Cloud Elements' step execution values: `"<step>.<field>"` keys with string values (strings as
//! they are, anything else as JSON). Request steps go one level deeper for `request` and
//! `response` (`send.response.code`, `send.request.retry-attempt`), as Cloud Elements recorded them.

use serde_json::Value;

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The flattened values of one step's output (and its console lines, if any).
pub fn flatten(step: &str, output: &Value, console: &[String]) -> Vec<(String, String)> {
    let mut values = Vec::new();
    match output {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("request" | "response", Value::Object(inner)) => {
                        for (inner_key, inner_value) in inner {
                            values
                                .push((format!("{step}.{key}.{inner_key}"), as_text(inner_value)));
                        }
                    }
                    _ => values.push((format!("{step}.{key}"), as_text(value))),
                }
            }
        }
        Value::Null => {}
        other => values.push((step.to_owned(), as_text(other))),
    }
    if !console.is_empty() {
        values.push((
            format!("{step}.console"),
            Value::from(console.to_vec()).to_string(),
        ));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_flattened_to_text() {
        let values = flatten(
            "build",
            &json!({"id": 123, "name": "x", "nested": {"a": 1}}),
            &["hello".into()],
        );
        assert_eq!(
            values,
            vec![
                ("build.id".to_string(), "123".to_string()),
                ("build.name".into(), "x".into()),
                ("build.nested".into(), "{\"a\":1}".into()),
                ("build.console".into(), "[\"hello\"]".into()),
            ]
        );
        let request = flatten(
            "send",
            &json!({"request": {"retry-attempt": 3}, "response": {"code": 500}}),
            &[],
        );
        assert!(request.contains(&("send.request.retry-attempt".into(), "3".into())));
        assert!(request.contains(&("send.response.code".into(), "500".into())));
        assert_eq!(
            flatten("filter", &json!({"continue": false}), &[]),
            vec![("filter.continue".into(), "false".into())]
        );
    }
}
