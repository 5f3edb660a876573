//! The Gmail connector's definition against Google's own description of Gmail: every vendor call
//! it makes is a method of the discovery document (HTTP method, path, parameter names), its quota
//! costs are Google's published ones, and the schemas it documents are the document's schemas.

use ferry_connectors::{Catalog, EndpointRewrites};
use ferry_model::connector::{ConnectorDef, ParameterLocation};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const DISCOVERY: &str = include_str!("../../google-emulator/discovery/gmail.v1.json");
const SCHEMAS: &str = include_str!("../../../connectors/gmail/schemas.yaml");

fn gmail() -> ConnectorDef {
    Catalog::embedded(&EndpointRewrites::new())
        .unwrap()
        .get("gmail")
        .unwrap()
        .def
        .clone()
}

fn discovery() -> Value {
    serde_json::from_str(DISCOVERY).unwrap()
}

/// Every method of the document: (HTTP method, path as the definition writes it) → method.
fn methods(document: &Value) -> BTreeMap<(String, String), Value> {
    fn walk(node: &Value, out: &mut BTreeMap<(String, String), Value>) {
        for method in node["methods"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, m)| m)
        {
            let verb = method["httpMethod"].as_str().unwrap().to_owned();
            let path = format!("/{}", method["flatPath"].as_str().unwrap());
            out.insert((verb.clone(), shape(&path)), method.clone());
            if let Some(upload) = method["mediaUpload"]["protocols"]["simple"]["path"].as_str() {
                out.insert((verb, shape(upload)), method.clone());
            }
        }
        for resource in node["resources"].as_object().into_iter().flatten() {
            walk(resource.1, out);
        }
    }
    let mut out = BTreeMap::new();
    for resource in document["resources"].as_object().unwrap().values() {
        walk(resource, &mut out);
    }
    out
}

/// A path with its placeholders unnamed: `/a/{id}/b/{x}` → `/a/{}/b/{}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Google's published quota units per method (Gmail API "Usage limits").
const COSTS: &[(&str, u32)] = &[
    ("gmail.users.getProfile", 1),
    ("gmail.users.messages.list", 5),
    ("gmail.users.messages.get", 5),
    ("gmail.users.messages.send", 100),
    ("gmail.users.messages.import", 25),
    ("gmail.users.messages.modify", 5),
    ("gmail.users.messages.batchModify", 50),
    ("gmail.users.messages.batchDelete", 50),
    ("gmail.users.messages.delete", 10),
    ("gmail.users.messages.trash", 5),
    ("gmail.users.messages.untrash", 5),
    ("gmail.users.messages.attachments.get", 5),
    ("gmail.users.threads.list", 10),
    ("gmail.users.threads.get", 10),
    ("gmail.users.threads.modify", 10),
    ("gmail.users.threads.delete", 20),
    ("gmail.users.threads.trash", 10),
    ("gmail.users.threads.untrash", 10),
    ("gmail.users.labels.list", 1),
    ("gmail.users.labels.get", 1),
    ("gmail.users.labels.create", 5),
    ("gmail.users.labels.patch", 5),
    ("gmail.users.labels.update", 5),
    ("gmail.users.labels.delete", 5),
    ("gmail.users.drafts.list", 5),
    ("gmail.users.drafts.get", 5),
    ("gmail.users.drafts.create", 10),
    ("gmail.users.drafts.update", 15),
    ("gmail.users.drafts.delete", 10),
    ("gmail.users.drafts.send", 100),
    ("gmail.users.history.list", 2),
];

#[test]
fn every_vendor_call_is_a_method_of_the_discovery_document() {
    let document = discovery();
    let methods = methods(&document);
    let global: BTreeSet<&str> = document["parameters"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let costs: BTreeMap<&str, u32> = COSTS.iter().copied().collect();
    let def = gmail();
    for resource in &def.resources {
        let path = resource
            .vendor
            .path
            .replace("/users/me/", "/users/{userId}/");
        let key = (resource.vendor.method.as_str().to_owned(), shape(&path));
        let method = methods
            .get(&key)
            .unwrap_or_else(|| panic!("{}: {key:?} is not a Gmail method", resource.operation));
        let id = method["id"].as_str().unwrap();
        let documented: BTreeSet<&str> = method["parameters"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| p["location"] == "query")
            .map(|(name, _)| name.as_str())
            .collect();
        let sent = resource
            .parameters
            .iter()
            .filter(|p| p.location == ParameterLocation::Query)
            .flat_map(|p| {
                if p.ceql_fields.is_empty() {
                    vec![p.vendor_name().to_owned()]
                } else {
                    p.ceql_fields.values().cloned().collect()
                }
            })
            .chain(resource.vendor.query.keys().cloned());
        for name in sent {
            assert!(
                documented.contains(name.as_str()) || global.contains(name.as_str()),
                "{}: {id} has no query parameter {name:?}",
                resource.operation
            );
        }
        for parameter in resource
            .parameters
            .iter()
            .filter(|p| p.location == ParameterLocation::Query)
        {
            if let (Some(doc), false) = (
                method["parameters"].get(parameter.vendor_name()),
                parameter.values.is_empty(),
            ) && let Some(allowed) = doc["enum"].as_array()
            {
                let allowed: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                for value in &parameter.values {
                    assert!(
                        allowed.contains(&value.as_str()),
                        "{}: {value:?} is not one of {allowed:?}",
                        resource.operation
                    );
                }
            }
        }
        assert_eq!(
            Some(&resource.quota_cost),
            costs.get(id),
            "{}: quota cost of {id}",
            resource.operation
        );
    }
}

/// The document's schema as JSON Schema, the way `tools/gmail_schemas.py` writes it.
fn convert(node: &Value) -> Value {
    let mut out = Map::new();
    if let Some(reference) = node["$ref"].as_str() {
        out.insert("$ref".into(), json!(format!("#/schemas/{reference}")));
    }
    for key in ["type", "format", "enum", "readOnly", "description"] {
        if let Some(value) = node.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if let Some(items) = node.get("items") {
        out.insert("items".into(), convert(items));
    }
    if let Some(properties) = node["properties"].as_object() {
        out.insert(
            "properties".into(),
            Value::Object(
                properties
                    .iter()
                    .map(|(k, v)| (k.clone(), convert(v)))
                    .collect(),
            ),
        );
    }
    if let Some(additional) = node.get("additionalProperties") {
        out.insert("additionalProperties".into(), convert(additional));
    }
    Value::Object(out)
}

#[test]
fn the_documented_schemas_are_the_discovery_documents() {
    let document = discovery();
    let file: BTreeMap<String, Value> = yaml_serde::from_str(SCHEMAS).unwrap();
    assert!(file.contains_key("Message") && file.contains_key("ListHistoryResponse"));
    for (name, schema) in &file {
        let original = &document["schemas"][name];
        assert!(
            original.is_object(),
            "{name} is not a schema of the document"
        );
        assert_eq!(
            schema,
            &convert(original),
            "{name} differs from the document; rerun tools/gmail_schemas.py"
        );
    }
}

#[test]
fn every_reference_names_a_schema() {
    fn refs(node: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let def = gmail();
    let mut found = Vec::new();
    refs(&serde_json::to_value(&def).unwrap(), &mut found);
    assert!(found.len() > 30, "{found:?}");
    for reference in found {
        let name = reference
            .strip_prefix("#/schemas/")
            .unwrap_or_else(|| panic!("{reference}"));
        assert!(
            def.schemas.contains_key(name),
            "{reference} names no schema"
        );
    }
}
