//! The declarative half of a call: normalized path values, query and header parameters and JSON
//! body → the vendor's. Everything here follows the definition; what it cannot express is a
//! hook's job.

use crate::ConnectorError;
use crate::catalog::CompiledOperation;
use crate::ceql;
use crate::runtime::HubBody;
use bytes::Bytes;
use ferry_model::connector::{ParameterDef, ParameterKind, ParameterLocation, ResourceDef};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Path values must match their parameter's pattern: a value that cannot be an id names nothing.
pub(crate) fn check_path_values(
    resource: &ResourceDef,
    compiled: &CompiledOperation,
    path_values: &[(String, String)],
) -> Result<(), ConnectorError> {
    for (name, value) in path_values {
        if let Some(pattern) = compiled.pattern(name)
            && !pattern.is_match(value)
        {
            let what = resource
                .parameters
                .iter()
                .find(|p| &p.name == name)
                .map(|p| p.description.trim_end_matches('.'))
                .filter(|d| !d.is_empty())
                .unwrap_or(name);
            return Err(ConnectorError::NotFound {
                message: format!(
                    "{value:?} cannot be {}: no such object exists",
                    lower_first(what)
                ),
            });
        }
    }
    Ok(())
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The vendor's query parameters for the caller's, checked against the definition.
pub(crate) fn vendor_query(
    resource: &ResourceDef,
    compiled: &CompiledOperation,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, ConnectorError> {
    let mut query = declared_values(resource, compiled, ParameterLocation::Query, given)?;
    query.extend(
        resource
            .vendor
            .query
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    Ok(query)
}

/// The headers to send the vendor for the caller's: the values of the operation's header
/// parameters (names matched in any case, as HTTP does), checked like query parameters. Every
/// other header the caller sent stays with ferry.
pub(crate) fn vendor_headers(
    resource: &ResourceDef,
    compiled: &CompiledOperation,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, ConnectorError> {
    let headers = declared_values(resource, compiled, ParameterLocation::Header, given)?;
    for (vendor_name, value) in &headers {
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            let name = resource
                .parameters
                .iter()
                .find(|p| p.location == ParameterLocation::Header && p.vendor_name() == vendor_name)
                .map_or(vendor_name.as_str(), |p| p.name.as_str());
            return Err(ConnectorError::input(
                name,
                format!(
                    "header {name} holds a character a header cannot carry: only visible ASCII is sent (no line breaks, control characters or letters beyond ASCII)"
                ),
            ));
        }
    }
    Ok(headers)
}

/// The caller's value of each header parameter `resource` declares and the caller gave, with
/// the parameter: names matched in any case, empty values ignored (as when checking them), and a
/// repeated header joined with ", " as HTTP joins one.
pub(crate) fn given_header_parameters<'r>(
    resource: &'r ResourceDef,
    given: &[(String, String)],
) -> Vec<(&'r ParameterDef, String)> {
    resource
        .parameters
        .iter()
        .filter(|p| p.location == ParameterLocation::Header)
        .filter_map(|parameter| {
            let values: Vec<&str> = given
                .iter()
                .filter(|(name, value)| {
                    name.eq_ignore_ascii_case(&parameter.name) && !value.trim().is_empty()
                })
                .map(|(_, value)| value.as_str())
                .collect();
            (!values.is_empty()).then(|| (parameter, values.join(", ")))
        })
        .collect()
}

/// The value of each header parameter `resource` declares, under its declared name: the
/// caller's, or else its default; one with neither is left out.
pub(crate) fn header_values_with_defaults(
    resource: &ResourceDef,
    given: &[(String, String)],
) -> Map<String, Value> {
    let passed = given_header_parameters(resource, given);
    resource
        .parameters
        .iter()
        .filter(|p| p.location == ParameterLocation::Header)
        .filter_map(|parameter| {
            let value = passed
                .iter()
                .find(|(p, _)| p.name == parameter.name)
                .map(|(_, value)| value.clone())
                .or_else(|| default_text(parameter))?;
            Some((parameter.name.clone(), Value::String(value)))
        })
        .collect()
}

/// A parameter's default as the text a query or header carries.
fn default_text(parameter: &ParameterDef) -> Option<String> {
    parameter.default.as_ref().map(|default| match default {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The caller's values of the parameters declared at `location`, checked and under the vendor's
/// names; defaults fill in what the caller left out.
fn declared_values(
    resource: &ResourceDef,
    compiled: &CompiledOperation,
    location: ParameterLocation,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, ConnectorError> {
    let what = match location {
        ParameterLocation::Header => "header",
        ParameterLocation::Query | ParameterLocation::Path => "query parameter",
    };
    let mut mapped = Vec::new();
    for parameter in resource
        .parameters
        .iter()
        .filter(|p| p.location == location)
    {
        let named = |name: &str| match location {
            ParameterLocation::Header => name.eq_ignore_ascii_case(&parameter.name),
            ParameterLocation::Query | ParameterLocation::Path => name == parameter.name,
        };
        // An empty value is no value: clients send `nextPage=` for the first page.
        let values: Vec<&str> = given
            .iter()
            .filter(|(name, value)| named(name) && !value.trim().is_empty())
            .map(|(_, value)| value.as_str())
            .collect();
        if values.is_empty() {
            if let Some(text) = default_text(parameter) {
                mapped.push((parameter.vendor_name().to_owned(), text));
            } else if parameter.required {
                return Err(ConnectorError::input(
                    &parameter.name,
                    format!("{what} {} is required", parameter.name),
                ));
            }
            continue;
        }
        if values.len() > 1 && parameter.kind != ParameterKind::Array {
            return Err(ConnectorError::input(
                &parameter.name,
                format!("{what} {} may be given only once", parameter.name),
            ));
        }
        for value in values {
            map_value(parameter, compiled, value, &mut mapped)?;
        }
    }
    Ok(mapped)
}

fn map_value(
    parameter: &ParameterDef,
    compiled: &CompiledOperation,
    value: &str,
    mapped: &mut Vec<(String, String)>,
) -> Result<(), ConnectorError> {
    let name = &parameter.name;
    match parameter.kind {
        ParameterKind::Integer => {
            let number: i64 = value.trim().parse().map_err(|_| {
                ConnectorError::input(
                    name,
                    format!("{name} must be a whole number, not {value:?}"),
                )
            })?;
            if let Some(minimum) = parameter.minimum
                && number < minimum
            {
                return Err(ConnectorError::input(
                    name,
                    format!("{name} must be at least {minimum}"),
                ));
            }
            if let Some(maximum) = parameter.maximum
                && number > maximum
            {
                return Err(ConnectorError::input(
                    name,
                    format!("{name} must be at most {maximum}"),
                ));
            }
            mapped.push((parameter.vendor_name().to_owned(), number.to_string()));
        }
        ParameterKind::Boolean => {
            let flag = match value.trim().to_ascii_lowercase().as_str() {
                "true" => "true",
                "false" => "false",
                _ => {
                    return Err(ConnectorError::input(
                        name,
                        format!("{name} must be true or false, not {value:?}"),
                    ));
                }
            };
            mapped.push((parameter.vendor_name().to_owned(), flag.to_owned()));
        }
        ParameterKind::Array => {
            for item in value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
            {
                check_allowed(parameter, compiled, item)?;
                mapped.push((parameter.vendor_name().to_owned(), item.to_owned()));
            }
        }
        ParameterKind::Ceql => {
            let expected = parameter
                .ceql_fields
                .keys()
                .map(|field| format!("{field}='…'"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let conditions = ceql::parse(value).map_err(|problem| {
                ConnectorError::input(
                    name,
                    format!("{name}: {problem}; write it as {expected}, for example {name}=q='subject:invoice'"),
                )
            })?;
            for condition in conditions {
                let vendor = parameter.ceql_fields.get(&condition.field).ok_or_else(|| {
                    ConnectorError::input(
                        name,
                        format!(
                            "{name} cannot filter on {:?}; write it as {expected}",
                            condition.field
                        ),
                    )
                })?;
                mapped.push((vendor.clone(), condition.value));
            }
        }
        ParameterKind::String => {
            check_allowed(parameter, compiled, value)?;
            mapped.push((parameter.vendor_name().to_owned(), value.to_owned()));
        }
    }
    Ok(())
}

fn check_allowed(
    parameter: &ParameterDef,
    compiled: &CompiledOperation,
    value: &str,
) -> Result<(), ConnectorError> {
    if !parameter.values.is_empty() && !parameter.values.iter().any(|allowed| allowed == value) {
        return Err(ConnectorError::input(
            &parameter.name,
            format!(
                "{} must be one of {}, not {value:?}",
                parameter.name,
                parameter.values.join(", ")
            ),
        ));
    }
    if let Some(pattern) = compiled.pattern(&parameter.name)
        && !pattern.is_match(value)
    {
        return Err(ConnectorError::input(
            &parameter.name,
            format!(
                "{} {value:?} is not valid (expected {})",
                parameter.name,
                pattern.as_str()
            ),
        ));
    }
    Ok(())
}

/// The JSON bodies to send: the caller's body laid over the definition's template, split into
/// several when a list is longer than the vendor takes. `None` means no body.
pub(crate) fn json_bodies(
    resource: &ResourceDef,
    path_values: &[(String, String)],
    body: &HubBody,
) -> Result<Vec<Option<Value>>, ConnectorError> {
    let caller = match body {
        HubBody::Empty => None,
        HubBody::Json(value) => Some(value.clone()),
        HubBody::Form(_) => {
            return Err(ConnectorError::input(
                "body",
                format!(
                    "{} {} takes a JSON body, not multipart/form-data",
                    resource.method.as_str(),
                    resource.path
                ),
            ));
        }
    };
    let caller = match caller {
        Some(given) if !resource.vendor.body_fields.is_empty() => {
            Some(pick_fields(&resource.vendor.body_fields, &given))
        }
        other => other,
    };
    let body = match (&resource.vendor.body, caller) {
        (None, caller) => caller,
        (Some(template), caller) => {
            let mut filled = fill_template(template, path_values);
            if let (Value::Object(fields), Some(Value::Object(given))) = (&mut filled, caller) {
                for (key, value) in given {
                    fields.entry(key).or_insert(value);
                }
            }
            Some(filled)
        }
    };
    if let (Some(body_def), None) = (&resource.request_body, &body)
        && body_def.required
    {
        return Err(ConnectorError::input(
            "body",
            "this operation needs a request body",
        ));
    }
    let Some(split) = &resource.vendor.split else {
        return Ok(vec![body]);
    };
    let Some(Value::Object(fields)) = &body else {
        return Ok(vec![body]);
    };
    let Some(Value::Array(items)) = fields.get(&split.field) else {
        return Ok(vec![body]);
    };
    if items.len() <= split.max_items {
        return Ok(vec![body.clone()]);
    }
    Ok(items
        .chunks(split.max_items.max(1))
        .map(|chunk| {
            let mut part: Map<String, Value> = fields.clone();
            part.insert(split.field.clone(), Value::Array(chunk.to_vec()));
            Some(Value::Object(part))
        })
        .collect())
}

/// A new object of `fields` (name → JSON pointer into `from`); absent values are left out.
pub(crate) fn pick_fields(fields: &BTreeMap<String, String>, from: &Value) -> Value {
    Value::Object(
        fields
            .iter()
            .filter_map(|(name, pointer)| {
                let value = if pointer.is_empty() {
                    Some(from)
                } else {
                    from.pointer(pointer)
                };
                value.map(|value| (name.clone(), value.clone()))
            })
            .collect(),
    )
}

/// The reply with `response.fields` applied to the object, or to each object of a list.
pub(crate) fn map_reply_fields(fields: &BTreeMap<String, String>, reply: Value) -> Value {
    match reply {
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| pick_fields(fields, item)).collect())
        }
        Value::Object(_) => pick_fields(fields, &reply),
        other => other,
    }
}

/// Replaces string values that are exactly `"{name}"` by the path value `name`.
fn fill_template(template: &Value, path_values: &[(String, String)]) -> Value {
    match template {
        Value::String(text) => {
            let placeholder = text.strip_prefix('{').and_then(|t| t.strip_suffix('}'));
            match placeholder.and_then(|name| path_values.iter().find(|(n, _)| n == name)) {
                Some((_, value)) => Value::String(value.clone()),
                None => template.clone(),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| fill_template(item, path_values))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), fill_template(value, path_values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(crate) fn json_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("JSON values serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(yaml: &str) -> ResourceDef {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn templates_take_path_values_and_the_callers_fields() {
        let send_draft = resource(
            "operation: sendDraft\nmethod: POST\npath: /drafts/{id}/send\nsummary: s\nvendor: {method: POST, path: /drafts/send, body: {id: '{id}'}}\n",
        );
        let values = vec![("id".to_owned(), "r-42".to_owned())];
        assert_eq!(
            json_bodies(&send_draft, &values, &HubBody::Empty).unwrap(),
            vec![Some(json!({"id": "r-42"}))]
        );
        assert_eq!(
            json_bodies(
                &send_draft,
                &values,
                &HubBody::Json(json!({"id": "other", "message": {"threadId": "t"}}))
            )
            .unwrap(),
            vec![Some(json!({"id": "r-42", "message": {"threadId": "t"}}))]
        );
    }

    #[test]
    fn fields_are_renamed_both_ways() {
        let create = resource(
            "operation: c\nmethod: POST\npath: /contacts\nsummary: s\nvendor: {method: POST, path: /people, body_fields: {full_name: /name, mail: /email/address}}\n",
        );
        assert_eq!(
            json_bodies(
                &create,
                &[],
                &HubBody::Json(
                    json!({"name": "Ada", "email": {"address": "a@x.test"}, "extra": 1})
                )
            )
            .unwrap(),
            vec![Some(json!({"full_name": "Ada", "mail": "a@x.test"}))]
        );
        let fields = BTreeMap::from([
            ("id".to_owned(), "/uid".to_owned()),
            ("name".to_owned(), "/full_name".to_owned()),
        ]);
        assert_eq!(
            map_reply_fields(
                &fields,
                json!([{"uid": 1, "full_name": "Ada", "x": 0}, {"uid": 2}])
            ),
            json!([{"id": 1, "name": "Ada"}, {"id": 2}])
        );
    }

    #[test]
    fn long_lists_are_split_into_calls_the_vendor_takes() {
        let modify = resource(
            "operation: m\nmethod: PATCH\npath: /messages/multiple\nsummary: s\nvendor: {method: POST, path: /batchModify, split: {field: ids, max_items: 2}}\n",
        );
        let bodies = json_bodies(
            &modify,
            &[],
            &HubBody::Json(json!({"ids": ["a", "b", "c", "d", "e"], "addLabelIds": ["STARRED"]})),
        )
        .unwrap();
        assert_eq!(
            bodies,
            vec![
                Some(json!({"ids": ["a", "b"], "addLabelIds": ["STARRED"]})),
                Some(json!({"ids": ["c", "d"], "addLabelIds": ["STARRED"]})),
                Some(json!({"ids": ["e"], "addLabelIds": ["STARRED"]})),
            ]
        );
        assert_eq!(
            json_bodies(&modify, &[], &HubBody::Json(json!({"ids": ["a"]}))).unwrap(),
            vec![Some(json!({"ids": ["a"]}))]
        );
    }
}
