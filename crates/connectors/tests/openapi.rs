//! The OpenAPI document generated from the Gmail definition: every operation is in it, with the
//! parts of a multipart send, the paging header, ferry's error body, references that resolve and
//! the structure OpenAPI 3.1 asks for; and the whole document is locked by a snapshot.
//!
//! The snapshot is `tests/snapshots/gmail.openapi.json`; after an intended change, rewrite it with
//! `FERRY_UPDATE_SNAPSHOTS=1 cargo test -p ferry-connectors --test openapi` and review the diff.

use ferry_connectors::{Catalog, DocsTarget, EndpointRewrites, connector_openapi};
use ferry_model::connector::ConnectorDef;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

const SERVER: &str = "http://127.0.0.1:8080/elements/api-v2";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn gmail() -> ConnectorDef {
    Catalog::embedded(&EndpointRewrites::new())
        .unwrap()
        .get("gmail")
        .unwrap()
        .def
        .clone()
}

fn document() -> Value {
    connector_openapi(
        &gmail(),
        &DocsTarget {
            server_url: SERVER.into(),
            instance: None,
        },
    )
}

/// Every operation of the document: (path, method, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            found.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    found
}

fn operation(document: &Value, operation_id: &str) -> Value {
    operations(document)
        .into_iter()
        .find(|(_, _, operation)| operation["operationId"] == json!(operation_id))
        .unwrap_or_else(|| panic!("no operation {operation_id}"))
        .2
}

#[test]
fn every_gmail_resource_is_an_operation_at_its_path() {
    let def = gmail();
    let document = document();
    let found = operations(&document);
    assert_eq!(found.len(), def.resources.len());
    for resource in &def.resources {
        let method = resource.method.as_str().to_ascii_lowercase();
        let operation = &document["paths"][&resource.path][&method];
        assert_eq!(
            operation["operationId"],
            json!(resource.operation),
            "{} {}",
            resource.method.as_str(),
            resource.path
        );
        assert_eq!(operation["summary"], json!(resource.summary));
        assert_eq!(operation["tags"], json!([resource.tag]));
    }
    let tags: Vec<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "general", "messages", "threads", "labels", "drafts", "history"
        ]
    );
    assert_eq!(document["servers"][0]["url"], json!(SERVER));
    assert_eq!(document["info"]["title"], json!("Gmail"));
}

#[test]
fn a_multipart_send_has_a_json_body_part_and_binary_file_parts() {
    let document = document();
    for operation_id in ["sendMessage", "importMessage", "createDraft", "updateDraft"] {
        let body = &operation(&document, operation_id)["requestBody"];
        assert_eq!(body["required"], json!(true));
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            json!("#/components/schemas/OutgoingMessage")
        );
        let form = &body["content"]["multipart/form-data"];
        let parts = &form["schema"]["properties"];
        assert_eq!(
            parts["body"]["$ref"],
            json!("#/components/schemas/OutgoingMessage"),
            "{operation_id}"
        );
        assert_eq!(
            form["encoding"]["body"]["contentType"],
            json!("application/json")
        );
        assert_eq!(parts["file"]["type"], json!("array"), "attachments repeat");
        assert_eq!(
            parts["file"]["items"],
            json!({"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"})
        );
    }
}

#[test]
fn paging_operations_declare_the_next_page_header() {
    let def = gmail();
    let document = document();
    let mut paging = Vec::new();
    for resource in &def.resources {
        let ok = &operation(&document, &resource.operation)["responses"]["200"];
        let header = &ok["headers"]["Elements-Next-Page-Token"];
        assert_eq!(
            header.is_object(),
            resource.response.next_page_token.is_some(),
            "{}",
            resource.operation
        );
        assert_eq!(
            ok["headers"]["Elements-Element-Instance-Id"]["$ref"],
            json!("#/components/headers/Elements-Element-Instance-Id")
        );
        if header.is_object() {
            paging.push(resource.operation.as_str());
            assert!(
                header["description"]
                    .as_str()
                    .unwrap()
                    .contains("`nextPage`")
            );
        }
    }
    assert_eq!(
        paging,
        ["listMessages", "listThreads", "listDrafts", "listHistory"]
    );
}

/// Every `$ref` in `value`, with the JSON pointer of where it is.
fn references(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => {
                        out.push((at.to_owned(), reference.clone()))
                    }
                    // Data, not schemas: what looks like a reference there is not one.
                    ("const" | "default" | "enum" | "example" | "examples", _) => {}
                    _ => references(child, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                references(item, &format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_reference_resolves_inside_the_document() {
    let document = document();
    let mut found = Vec::new();
    references(&document, "", &mut found);
    assert!(found.len() > 100, "only {} references", found.len());
    for (at, reference) in found {
        let fragment = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {reference} leaves the document"));
        assert!(
            document
                .pointer(&percent_decode_str(fragment).decode_utf8().unwrap())
                .is_some(),
            "{at}: {reference} names nothing"
        );
        assert!(
            !reference.starts_with("#/schemas/"),
            "{at}: {reference} is the definition's form"
        );
    }
}

#[test]
fn error_responses_carry_the_one_error_body() {
    let document = document();
    let error = &document["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["requestId", "message", "code"]));
    for field in [
        "requestId",
        "message",
        "code",
        "providerMessage",
        "field",
        "problems",
    ] {
        assert!(error["properties"][field].is_object(), "{field}");
    }
    let mut statuses = BTreeSet::new();
    for (path, method, operation) in operations(&document) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.starts_with('2') {
                continue;
            }
            statuses.insert(status.clone());
            // Errors are shared: each operation refers to one of `components.responses`.
            let reference = response["$ref"].as_str().unwrap();
            let response = document
                .pointer(reference.strip_prefix('#').unwrap())
                .unwrap_or_else(|| panic!("{method} {path} {status}: {reference} names nothing"));
            assert!(response["description"].is_string());
            assert_eq!(
                response["content"]["application/json"]["schema"],
                json!({"$ref": "#/components/schemas/Error"}),
                "{method} {path} {status}"
            );
            assert_eq!(
                response["headers"]["Retry-After"].is_object(),
                status == "429",
                "{method} {path} {status}"
            );
        }
        let responses = &operation["responses"];
        // The provider's 400 and 404 pass through for any operation (decision 0003).
        for always in [
            "400", "401", "403", "404", "409", "429", "502", "503", "504",
        ] {
            assert!(
                responses[always].is_object(),
                "{method} {path} lacks {always}"
            );
        }
        assert_eq!(
            responses["415"].is_object(),
            operation["requestBody"].is_object(),
            "{method} {path}: 415"
        );
    }
    let expected: BTreeSet<String> = [
        "400", "401", "403", "404", "409", "413", "415", "429", "500", "502", "503", "504",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(statuses, expected);
}

#[test]
fn path_parameters_are_declared_required_and_anchored() {
    let def = gmail();
    let document = document();
    for (path, method, operation) in operations(&document) {
        let resource = def
            .resources
            .iter()
            .find(|r| json!(r.operation) == operation["operationId"])
            .unwrap();
        let placeholders: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let declared: BTreeSet<&str> = parameters
            .iter()
            .filter(|p| p["in"] == json!("path"))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(placeholders, declared, "{method} {path}");
        for parameter in &parameters {
            let name = parameter["name"].as_str().unwrap();
            assert!(
                ["query", "header", "path", "cookie"].contains(&parameter["in"].as_str().unwrap()),
                "{method} {path} {name}"
            );
            if parameter["in"] == json!("path") {
                assert_eq!(parameter["required"], json!(true), "{method} {path} {name}");
                let pattern = parameter["schema"]["pattern"].as_str().unwrap_or_else(|| {
                    panic!("{method} {path}: path parameter {name} has no pattern")
                });
                assert!(
                    pattern.starts_with("^(?:") && pattern.ends_with(")$"),
                    "{method} {path} {name}: {pattern}"
                );
            }
        }
        assert_eq!(
            parameters.len(),
            resource.parameters.len(),
            "{method} {path}"
        );
    }
}

/// What OpenAPI 3.1 asks of a document's shape (the official JSON Schema of it is not vendored
/// here): the required fields of each object, unique operation ids, declared tags, and schemas
/// that are JSON Schema 2020-12.
#[test]
fn the_document_has_the_shape_openapi_3_1_asks_for() {
    let document = document();
    assert_eq!(document["openapi"], json!("3.1.0"));
    assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());
    let declared_tags: BTreeSet<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    for requirement in document["security"].as_array().unwrap() {
        for name in requirement.as_object().unwrap().keys() {
            assert!(schemes.contains_key(name), "security names {name}");
        }
    }
    let scheme = &schemes["userOrganizationElement"];
    assert_eq!(scheme["type"], json!("apiKey"));
    assert_eq!(scheme["in"], json!("header"));
    assert_eq!(scheme["name"], json!("Authorization"));
    assert!(scheme["description"].as_str().unwrap().contains(
        "User <user secret>, Organization <organization secret>, Element <instance token>"
    ));
    let mut ids = BTreeSet::new();
    for (path, _, operation) in operations(&document) {
        assert!(path.starts_with('/'), "{path}");
        let id = operation["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "{id} appears twice");
        for tag in operation["tags"].as_array().into_iter().flatten() {
            assert!(declared_tags.contains(tag.as_str().unwrap()), "{id}: {tag}");
        }
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            assert!(parameter["name"].is_string() && parameter["schema"].is_object());
        }
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{id}");
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{id}: {status}"
            );
            let response = match response["$ref"].as_str() {
                Some(reference) => document.pointer(&reference[1..]).unwrap(),
                None => response,
            };
            assert!(response["description"].is_string(), "{id} {status}");
            for header in response["headers"].as_object().into_iter().flatten() {
                assert!(header.1["schema"].is_object() || header.1["$ref"].is_string());
            }
        }
    }
    let mut schemas = Vec::new();
    collect_schemas(&document, &mut schemas);
    assert!(schemas.len() > 40, "only {} schemas", schemas.len());
    for (at, schema) in schemas {
        if let Err(error) = jsonschema::draft202012::meta::validate(&schema) {
            panic!("{at} is not a JSON Schema 2020-12: {error}");
        }
    }
}

/// The schemas of the document: components, parameters, bodies and responses.
fn collect_schemas(document: &Value, out: &mut Vec<(String, Value)>) {
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        out.push((format!("components.schemas.{name}"), schema.clone()));
    }
    for (path, method, operation) in operations(document) {
        let at = format!("{method} {path}");
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            out.push((
                format!("{at} parameter {}", parameter["name"]),
                parameter["schema"].clone(),
            ));
        }
        let bodies = operation["requestBody"]["content"].as_object().cloned();
        let responses = operation["responses"].as_object().cloned();
        for (what, media) in bodies
            .into_iter()
            .flatten()
            .map(|(t, m)| (format!("{at} body {t}"), m))
            .chain(
                responses
                    .into_iter()
                    .flatten()
                    .flat_map(|(status, r)| {
                        r["content"]
                            .as_object()
                            .cloned()
                            .into_iter()
                            .flatten()
                            .map(move |(t, m)| (format!("{status} {t}"), m))
                    })
                    .map(|(what, m)| (format!("{at} response {what}"), m)),
            )
        {
            if media["schema"].is_object() {
                out.push((what, media["schema"].clone()));
            }
        }
    }
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/gmail.openapi.json")
}

/// Where two documents differ, as JSON pointers (at most `limit`).
fn differences(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || expected == actual {
        return;
    }
    match (expected, actual) {
        (Value::Object(old), Value::Object(new)) => {
            let before = out.len();
            for (key, value) in old {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                match new.get(key) {
                    Some(other) => differences(value, other, &here, out, limit),
                    None => out.push(format!("removed {here}")),
                }
            }
            for key in new.keys().filter(|key| !old.contains_key(*key)) {
                out.push(format!(
                    "added {at}/{}",
                    key.replace('~', "~0").replace('/', "~1")
                ));
            }
            if out.len() == before {
                out.push(format!("{at}: the same members in another order"));
            }
        }
        (Value::Array(old), Value::Array(new)) if old.len() == new.len() => {
            for (index, (value, other)) in old.iter().zip(new).enumerate() {
                differences(value, other, &format!("{at}/{index}"), out, limit);
            }
        }
        _ => out.push(format!("changed {at}: {expected} → {actual}")),
    }
}

#[test]
fn the_gmail_document_matches_its_snapshot() {
    let generated = format!(
        "{}\n",
        serde_json::to_string_pretty(&document()).expect("a document serializes")
    );
    let path = snapshot_path();
    if std::env::var("FERRY_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with FERRY_UPDATE_SNAPSHOTS=1 cargo test -p ferry-connectors --test openapi",
            path.display()
        )
    });
    if stored == generated {
        return;
    }
    let mut found = Vec::new();
    match serde_json::from_str::<Value>(&stored) {
        Ok(expected) => {
            let actual: Value = serde_json::from_str(&generated).unwrap();
            differences(&expected, &actual, "", &mut found, 20);
        }
        Err(e) => found.push(format!("the snapshot is not JSON: {e}")),
    }
    if found.is_empty() {
        found.push("the same document, written differently".into());
    }
    panic!(
        "the generated Gmail OpenAPI document differs from {}:\n  {}\nIf the change is intended, \
         rewrite the snapshot with FERRY_UPDATE_SNAPSHOTS=1 cargo test -p ferry-connectors --test \
         openapi and review its diff.",
        path.display(),
        found.join("\n  ")
    );
}
