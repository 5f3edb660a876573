//! ferry's platform OpenAPI document: locked by a snapshot so that every change to the API's
//! contract is deliberate, and checked for what client generators and Swagger UI rely on.
//! `FERRY_UPDATE_SNAPSHOTS=1 cargo test -p ferry-api --test openapi` rewrites the snapshot.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn document() -> Value {
    ferry_api::docs::platform_document(None)
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation));
            }
        }
    }
    found
}

#[test]
fn the_platform_document_matches_its_snapshot() {
    let snapshot =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/platform.openapi.json");
    let mut generated = serde_json::to_string_pretty(&document()).unwrap();
    generated.push('\n');
    if std::env::var("FERRY_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&snapshot, &generated).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        stored == generated,
        "the platform API document changed; if that is deliberate, run \
         FERRY_UPDATE_SNAPSHOTS=1 cargo test -p ferry-api --test openapi and commit {}",
        snapshot.display()
    );
}

#[test]
fn every_operation_is_named_once_tagged_and_answers_errors_with_the_one_error_body() {
    let document = document();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut names = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let name = operation["operationId"].as_str().unwrap_or_default();
        assert!(!name.is_empty(), "{method} {path} has no operationId");
        assert!(
            names.insert(name.to_owned()),
            "operationId {name} is used twice"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path} has no tag"
        );
        for (status, response) in operation["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} answers {status} with another body"
                );
            }
        }
        if path.starts_with("/elements/api-v2/") {
            if name == "create_instance_events" {
                // Vendors deliver events without the header: the signature is checked instead.
                assert!(
                    operation["security"].is_null(),
                    "{method} {path} asks vendors for the User/Organization header"
                );
            } else {
                assert_eq!(
                    operation["security"][0]["userOrganization"],
                    serde_json::json!([]),
                    "{method} {path} does not declare the User/Organization header"
                );
            }
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path} lacks 401"
            );
        }
        if path.contains('{') {
            assert!(
                operation["responses"]["404"].is_object() || path.starts_with("/hooks/"),
                "{method} {path} lacks 404"
            );
        }
    }
}

#[test]
fn every_reference_in_the_document_resolves() {
    fn walk(value: &Value, document: &Value, at: &str) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(target)) = object.get("$ref") {
                    let pointer = target
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("{at}: external $ref {target}"));
                    assert!(
                        document.pointer(pointer).is_some(),
                        "{at}: $ref {target} names nothing"
                    );
                }
                for (key, child) in object {
                    walk(child, document, &format!("{at}/{key}"));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    walk(child, document, &format!("{at}/{index}"));
                }
            }
            _ => {}
        }
    }
    let document = document();
    walk(&document, &document, "");
}

#[test]
fn the_platform_resources_are_all_in_the_document() {
    let document = document();
    for expected in [
        "/elements/api-v2/elements",
        "/elements/api-v2/elements/{key}/oauth/url",
        "/elements/api-v2/elements/{key}/docs",
        "/elements/api-v2/instances",
        "/elements/api-v2/instances/{id}",
        "/elements/api-v2/instances/{id}/docs",
        "/elements/api-v2/formulas",
        "/elements/api-v2/formulas/{id}/instances/{instance}/executions",
        "/elements/api-v2/formulas/instances/executions/{id}",
        "/hooks/{id}",
    ] {
        assert!(
            document["paths"][expected].is_object(),
            "{expected} is not documented"
        );
    }
}
