//! Request bodies checked against the JSON Schema of their operation before anything is sent, so
//! a client's mistake is a 400 that names the field, not a vendor error or a half-done call.
//! Schemas may refer to the connector's named schemas as `#/schemas/<Name>`.

use crate::ConnectorError;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Validator};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A compiled body schema.
pub(crate) struct BodySchema {
    validator: Validator,
}

impl std::fmt::Debug for BodySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodySchema")
    }
}

impl BodySchema {
    /// Compiles `schema` with the connector's named schemas reachable as `#/schemas/<Name>`.
    pub(crate) fn compile(
        schema: &Value,
        named: &BTreeMap<String, Value>,
    ) -> Result<BodySchema, String> {
        let mut root = match schema {
            Value::Object(fields) => fields.clone(),
            Value::Bool(_) => {
                Map::from_iter([("allOf".to_owned(), Value::Array(vec![schema.clone()]))])
            }
            _ => return Err("a schema must be a mapping".into()),
        };
        if root.contains_key("schemas") {
            return Err("a body schema cannot have a property named `schemas`".into());
        }
        root.insert(
            "schemas".into(),
            Value::Object(named.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        );
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&Value::Object(root))
            .map_err(|e| e.to_string())?;
        Ok(BodySchema { validator })
    }

    /// The first problem of `body`, as an input error naming the field.
    pub(crate) fn check(&self, body: &Value) -> Result<(), ConnectorError> {
        // An unknown field is usually a misspelt one: name it before what it leaves missing.
        let errors: Vec<_> = self.validator.iter_errors(body).collect();
        let Some(error) = errors
            .iter()
            .find(|e| matches!(e.kind(), ValidationErrorKind::AdditionalProperties { .. }))
            .or(errors.first())
        else {
            return Ok(());
        };
        let at = field_name(error.instance_path().as_str());
        let (field, message) = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().cloned().unwrap_or_default();
                let field = join(&at, &name);
                let message = format!("unknown field {field:?}");
                (field, message)
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_owned();
                let field = join(&at, &name);
                let message = format!("{field} is required");
                (field, message)
            }
            _ => {
                let field = if at.is_empty() { "body".into() } else { at };
                let message = format!("{field}: {error}");
                (field, message)
            }
        };
        Err(ConnectorError::input(field, message))
    }
}

/// `/addLabelIds/0` → `addLabelIds[0]`; `/message/threadId` → `message.threadId`.
fn field_name(pointer: &str) -> String {
    let mut name = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) && !segment.is_empty() {
            name.push_str(&format!("[{segment}]"));
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&segment);
        }
    }
    name
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(schema: &BodySchema, body: Value) -> (String, String) {
        match schema.check(&body).unwrap_err() {
            ConnectorError::InvalidInput { field, message } => (field.unwrap(), message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mistakes_name_the_field() {
        let named = BTreeMap::from([(
            "Color".to_owned(),
            json!({"type": "object", "properties": {"textColor": {"type": "string"}}, "additionalProperties": false}),
        )]);
        let schema = BodySchema::compile(
            &json!({
                "type": "object",
                "required": ["name"],
                "additionalProperties": false,
                "properties": {
                    "name": {"type": "string"},
                    "ids": {"type": "array", "items": {"type": "string"}},
                    "color": {"$ref": "#/schemas/Color"}
                }
            }),
            &named,
        )
        .unwrap();
        assert!(schema.check(&json!({"name": "x", "ids": ["a"]})).is_ok());
        assert_eq!(field_of(&schema, json!({"ids": []})).0, "name");
        // The misspelt field is named, not the one it leaves missing.
        assert_eq!(field_of(&schema, json!({"nmae": "x"})).0, "nmae");
        let (field, message) = field_of(&schema, json!({"name": "x", "nmae": 1}));
        assert_eq!(field, "nmae");
        assert!(message.contains("unknown field"), "{message}");
        assert_eq!(
            field_of(&schema, json!({"name": "x", "ids": ["a", 2]})).0,
            "ids[1]"
        );
        assert_eq!(
            field_of(
                &schema,
                json!({"name": "x", "color": {"textColour": "#000"}})
            )
            .0,
            "color.textColour"
        );
        assert_eq!(field_of(&schema, json!([1])).0, "body");
    }
}
