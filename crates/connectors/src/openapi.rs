//! The OpenAPI 3.1 document of a connector's hub API, generated from its definition alone, so the
//! documentation cannot drift from what the runtime enforces: every operation with its parameters
//! (kinds, ranges, allowed values and patterns as the runtime checks them), its request body (JSON
//! and `multipart/form-data` parts), its reply, its headers, and the error statuses a hub call of
//! that operation can really answer, each with ferry's one error body.
//!
//! The document is built in a fixed order from the definition (paths in the order of
//! `resources`, named schemas by name), so the same definition always gives the same text.

use ferry_model::connector::{
    ConnectorDef, FormPartDef, ParameterDef, ParameterKind, ParameterLocation, RequestBodyDef,
    ResourceDef,
};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value, json};

mod hub_errors;

use hub_errors::{Failures, error_body_schema, error_response, error_schema_name, error_statuses};

/// What a generated document points at: where hub calls go, and which instance, if any, it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsTarget {
    /// The base URL of hub calls, e.g. `http://127.0.0.1:8080/elements/api-v2`.
    pub server_url: String,
    /// The instance the document is for; `None` documents the connector itself.
    pub instance: Option<DocumentedInstance>,
}

/// The instance a document is for (its Element token chooses it on every call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentedInstance {
    pub id: i64,
    pub name: String,
}

/// The name of the security scheme of hub calls in the document.
pub const HUB_SECURITY_SCHEME: &str = "userOrganizationElement";

const REQUEST_ID: &str = "Elements-Request-Id";
const INSTANCE_ID: &str = "Elements-Element-Instance-Id";
const ERROR_CODE: &str = "Elements-Error";
const RETRY_AFTER: &str = "Retry-After";
const NEXT_PAGE_TOKEN: &str = "Elements-Next-Page-Token";

/// What a JSON pointer must escape to sit in a URI fragment (`/messages/{id}` has braces).
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The OpenAPI 3.1 document of `def`'s hub API, served at `target.server_url`.
pub fn connector_openapi(def: &ConnectorDef, target: &DocsTarget) -> Value {
    let error_schema = error_schema_name(def);
    let mut failures = Failures::new();
    let mut paths = Map::new();
    for resource in &def.resources {
        let method = resource.method.as_str().to_ascii_lowercase();
        let home = Pointer::root()
            .then("paths")
            .then(&resource.path)
            .then(&method);
        let operation = operation(def, resource, &home, &mut failures);
        let item = paths
            .entry(resource.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(method, operation);
        }
    }
    let mut tags: Vec<&str> = Vec::new();
    for tag in def.resources.iter().map(|r| r.tag.as_str()) {
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let mut schemas = Map::new();
    for (name, schema) in &def.schemas {
        let home = Pointer::root()
            .then("components")
            .then("schemas")
            .then(name);
        schemas.insert(name.clone(), relocate_refs(schema, &home));
    }
    let responses: Map<String, Value> = failures
        .into_iter()
        .map(|((_, name), description)| {
            let response = error_response(name, &description, &error_schema);
            (name.to_owned(), response)
        })
        .collect();
    schemas.insert(error_schema, error_body_schema());
    json!({
        "openapi": "3.1.0",
        "info": info(def, target),
        "servers": [{
            "url": target.server_url,
            "description": format!(
                "ferry's hub API; paths may also be written under /hubs/{}",
                def.hub
            ),
        }],
        "security": [{ HUB_SECURITY_SCHEME: [] }],
        "tags": tags.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "headers": shared_headers(),
            "securitySchemes": {
                HUB_SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The whole header value: `User <user secret>, Organization \
                        <organization secret>, Element <instance token>`. The Element token names \
                        the instance a call reaches.",
                },
            },
        },
    })
}

fn info(def: &ConnectorDef, target: &DocsTarget) -> Value {
    let mut description = format!(
        "{}\n\nCalls to the {} connector (Cloud Elements element `{}`, id {}, hub `{}`) through \
         ferry. Every call carries `Authorization: User <user secret>, Organization <organization \
         secret>, Element <instance token>`; the Element token chooses the instance.",
        def.description, def.name, def.key, def.id, def.hub
    );
    let title = match &target.instance {
        Some(instance) => {
            description.push_str(&format!(
                "\n\nThis document is for instance {} ({:?}): send its Element token.",
                instance.id, instance.name
            ));
            format!("{} — {}", def.name, instance.name)
        }
        None => def.name.clone(),
    };
    json!({
        "title": title,
        "version": env!("CARGO_PKG_VERSION"),
        "description": description,
    })
}

/// Headers that mean the same on every operation, referenced from `components.headers`.
fn shared_headers() -> Value {
    json!({
        REQUEST_ID: {
            "description": "Names the request in ferry's log.",
            "required": true,
            "schema": { "type": "string" },
        },
        INSTANCE_ID: {
            "description": "The id of the instance that answered: the one the Element token names. \
                Absent when the call was refused before an instance was known.",
            "schema": { "type": "integer" },
        },
        ERROR_CODE: {
            "description": "The error's `code`, as in the body.",
            "required": true,
            "schema": { "type": "string" },
        },
        RETRY_AFTER: {
            "description": "Seconds to wait before calling again (present when ferry's pacing or \
                the provider said how long).",
            "schema": { "type": "integer", "minimum": 1 },
        },
    })
}

fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

fn operation(
    def: &ConnectorDef,
    resource: &ResourceDef,
    home: &Pointer,
    failures: &mut Failures,
) -> Value {
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(resource.operation));
    operation.insert("summary".into(), json!(resource.summary));
    if !resource.description.is_empty() {
        operation.insert("description".into(), json!(resource.description));
    }
    if !resource.tag.is_empty() {
        operation.insert("tags".into(), json!([resource.tag]));
    }
    let mut parameters: Vec<Value> = resource.parameters.iter().map(parameter).collect();
    if resource.response.pagination.is_some() {
        // ferry's own paging parameters, whatever the vendor's style.
        parameters.push(json!({
            "name": "pageSize", "in": "query",
            "description": "Results per page.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 10000}
        }));
        parameters.push(json!({
            "name": "nextPage", "in": "query",
            "description": "The `Elements-Next-Page-Token` of the previous page.",
            "schema": {"type": "string"}
        }));
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = &resource.request_body {
        operation.insert(
            "requestBody".into(),
            request_body(body, &home.then("requestBody")),
        );
    }
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        success_response(resource, &home.then("responses").then("200")),
    );
    for failure in error_statuses(def, resource) {
        responses.insert(
            failure.status.into(),
            json!({ "$ref": format!("#/components/responses/{}", failure.name) }),
        );
        failures.insert((failure.status, failure.name), failure.description);
    }
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
}

fn parameter(def: &ParameterDef) -> Value {
    let location = match def.location {
        ParameterLocation::Query => "query",
        ParameterLocation::Path => "path",
        ParameterLocation::Header => "header",
    };
    let mut parameter = Map::new();
    parameter.insert("name".into(), json!(def.name));
    parameter.insert("in".into(), json!(location));
    let mut description = def.description.clone();
    if def.kind == ParameterKind::Ceql {
        let fields = def
            .ceql_fields
            .keys()
            .map(|field| format!("`{field}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!(
            "A CEQL expression: conditions `field = 'value'` joined by `AND`, a quote inside a \
             value doubled (`'it''s'`). Fields: {fields}."
        ));
    }
    if !description.is_empty() {
        parameter.insert("description".into(), json!(description));
    }
    // The runtime refuses a missing path value by not matching the route: path values are always
    // required, whatever the definition says.
    if def.required || def.location == ParameterLocation::Path {
        parameter.insert("required".into(), json!(true));
    }
    parameter.insert("schema".into(), parameter_schema(def));
    Value::Object(parameter)
}

/// An optional query parameter sent empty counts as absent (Cloud Elements clients send
/// `nextPage=`), so its schema lets the empty value through.
fn empty_means_absent(def: &ParameterDef) -> bool {
    def.location == ParameterLocation::Query && !def.required
}

/// The JSON Schema of a parameter's value: what the runtime checks, and nothing it does not.
fn parameter_schema(def: &ParameterDef) -> Value {
    let mut schema = Map::new();
    match def.kind {
        ParameterKind::String | ParameterKind::Ceql => {
            schema.insert("type".into(), json!("string"));
            if def.kind == ParameterKind::String {
                add_string_checks(def, &mut schema);
            }
        }
        ParameterKind::Integer => {
            schema.insert("type".into(), json!("integer"));
            if let Some(minimum) = def.minimum {
                schema.insert("minimum".into(), json!(minimum));
            }
            if let Some(maximum) = def.maximum {
                schema.insert("maximum".into(), json!(maximum));
            }
        }
        ParameterKind::Boolean => {
            schema.insert("type".into(), json!("boolean"));
        }
        ParameterKind::Array => {
            let mut items = Map::new();
            items.insert("type".into(), json!("string"));
            add_string_checks(def, &mut items);
            schema.insert("type".into(), json!("array"));
            schema.insert("items".into(), Value::Object(items));
        }
    }
    if let Some(default) = &def.default {
        let default = match (def.kind, default) {
            (ParameterKind::Array, Value::Array(_)) => default.clone(),
            (ParameterKind::Array, one) => json!([one]),
            _ => default.clone(),
        };
        schema.insert("default".into(), default);
    }
    if matches!(def.kind, ParameterKind::Integer | ParameterKind::Boolean)
        && empty_means_absent(def)
    {
        return or_empty(schema);
    }
    Value::Object(schema)
}

/// `schema`, or the empty value.
fn or_empty(mut schema: Map<String, Value>) -> Value {
    let default = schema.remove("default");
    let mut either = Map::new();
    either.insert(
        "anyOf".into(),
        json!([Value::Object(schema), {"type": "string", "maxLength": 0}]),
    );
    if let Some(default) = default {
        either.insert("default".into(), default);
    }
    Value::Object(either)
}

fn add_string_checks(def: &ParameterDef, schema: &mut Map<String, Value>) {
    let empty_allowed = empty_means_absent(def);
    if !def.values.is_empty() {
        let mut values = def.values.clone();
        if empty_allowed {
            values.push(String::new());
        }
        schema.insert("enum".into(), json!(values));
    }
    if let Some(pattern) = &def.pattern {
        let anchored = if empty_allowed {
            format!("^(?:{pattern})?$")
        } else {
            whole_value_pattern(pattern)
        };
        schema.insert("pattern".into(), json!(anchored));
    }
}

/// ferry matches a parameter's pattern against the whole value (the catalog compiles
/// `^(?:…)$`); a JSON Schema `pattern` matches anywhere, so the document anchors it the same way.
fn whole_value_pattern(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

fn is_json(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
}

fn is_form(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
}

fn request_body(def: &RequestBodyDef, home: &Pointer) -> Value {
    let mut content = Map::new();
    for media_type in &def.content {
        let home = home.then("content").then(media_type).then("schema");
        let media = if is_form(media_type) {
            form_media(&def.form_parts, &home)
        } else {
            // The schema is the JSON body's; the hub reads no other kind of body.
            match &def.schema {
                Some(schema) if is_json(media_type) => {
                    json!({ "schema": relocate_refs(schema, &home) })
                }
                _ => json!({}),
            }
        };
        content.insert(media_type.clone(), media);
    }
    let mut body = Map::new();
    if !def.description.is_empty() {
        body.insert("description".into(), json!(def.description));
    }
    body.insert("required".into(), json!(def.required));
    body.insert("content".into(), Value::Object(content));
    Value::Object(body)
}

/// A `multipart/form-data` body: one property per part. File parts are binary strings, which
/// Swagger UI shows as a file picker; parts that hold JSON say so in `encoding`.
fn form_media(parts: &[FormPartDef], home: &Pointer) -> Value {
    let mut properties = Map::new();
    let mut encoding = Map::new();
    for part in parts {
        let home = home.then("properties").then(&part.name);
        let value_home = if part.repeated {
            home.then("items")
        } else {
            home
        };
        let value = if part.file {
            json!({
                "type": "string",
                "format": "binary",
                "contentMediaType": "application/octet-stream",
            })
        } else if let Some(schema) = &part.schema {
            encoding.insert(
                part.name.clone(),
                json!({ "contentType": "application/json" }),
            );
            relocate_refs(schema, &value_home)
        } else {
            json!({ "type": "string" })
        };
        let mut property = if part.repeated {
            let mut array = Map::new();
            array.insert("type".into(), json!("array"));
            array.insert("items".into(), value);
            array
        } else {
            match value {
                Value::Object(fields) => fields,
                other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
            }
        };
        if !part.description.is_empty() {
            property.insert("description".into(), json!(part.description));
        }
        properties.insert(part.name.clone(), Value::Object(property));
    }
    let mut media = Map::new();
    media.insert(
        "schema".into(),
        json!({ "type": "object", "properties": properties }),
    );
    if !encoding.is_empty() {
        media.insert("encoding".into(), Value::Object(encoding));
    }
    Value::Object(media)
}

fn success_response(resource: &ResourceDef, home: &Pointer) -> Value {
    let pages =
        resource.response.next_page_token.is_some() || resource.response.pagination.is_some();
    let mut headers = Map::new();
    headers.insert(REQUEST_ID.into(), header_ref(REQUEST_ID));
    headers.insert(INSTANCE_ID.into(), header_ref(INSTANCE_ID));
    if pages {
        let takes_next_page = resource.response.pagination.is_some()
            || resource
                .parameters
                .iter()
                .any(|p| p.location == ParameterLocation::Query && p.name == "nextPage");
        let description = if takes_next_page {
            "Present when more results exist: pass it back as `nextPage` for the next page."
        } else {
            "Present when more results exist: the token of the next page."
        };
        headers.insert(
            NEXT_PAGE_TOKEN.into(),
            json!({ "description": description, "schema": { "type": "string" } }),
        );
    }
    let (description, schema) = match &resource.response.schema {
        Some(schema) => (
            if pages {
                "One page of results"
            } else {
                "The result"
            },
            relocate_refs(
                schema,
                &home.then("content").then("application/json").then("schema"),
            ),
        ),
        None => (
            "Done; the provider's reply as it is (`{}` when it is empty)",
            json!({}),
        ),
    };
    json!({
        "description": description,
        "headers": headers,
        "content": { "application/json": { "schema": schema } },
    })
}

/// Where a value sits in the document, as a JSON pointer.
#[derive(Debug, Clone)]
struct Pointer(String);

impl Pointer {
    fn root() -> Pointer {
        Pointer(String::new())
    }

    fn then(&self, token: &str) -> Pointer {
        Pointer(format!(
            "{}/{}",
            self.0,
            token.replace('~', "~0").replace('/', "~1")
        ))
    }

    /// The pointer as a URI fragment (`#/paths/~1messages~1%7Bid%7D/…`).
    fn fragment(&self) -> String {
        format!("#{}", utf8_percent_encode(&self.0, FRAGMENT))
    }
}

/// Keywords whose values are data, not schemas: a `$ref` key inside them is not a reference.
const DATA_KEYWORDS: [&str; 5] = ["const", "default", "enum", "example", "examples"];

/// A connector schema moved into the document at `home`: `#/schemas/<Name>` becomes
/// `#/components/schemas/<Name>`, and any other local reference (`#/$defs/…`), which the
/// definition resolves against the schema it is written in, points into that schema's new place.
fn relocate_refs(schema: &Value, home: &Pointer) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("$ref", Value::String(reference)) => {
                            Value::String(relocate_ref(reference, home))
                        }
                        (keyword, _) if DATA_KEYWORDS.contains(&keyword) => value.clone(),
                        _ => relocate_refs(value, home),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| relocate_refs(v, home)).collect()),
        other => other.clone(),
    }
}

fn relocate_ref(reference: &str, home: &Pointer) -> String {
    if let Some(rest) = reference.strip_prefix("#/schemas/") {
        format!("#/components/schemas/{rest}")
    } else if let Some(rest) = reference.strip_prefix('#')
        && (rest.is_empty() || rest.starts_with('/'))
    {
        format!("{}{rest}", home.fragment())
    } else {
        reference.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, EndpointRewrites};

    fn target() -> DocsTarget {
        DocsTarget {
            server_url: "http://127.0.0.1:8080/elements/api-v2".into(),
            instance: None,
        }
    }

    pub(super) fn definition(resources: Value, schemas: Value) -> ConnectorDef {
        serde_json::from_value(json!({
            "key": "acme", "id": 7, "name": "Acme", "description": "Things.", "hub": "general",
            "base_url": "https://api.acme.test",
            "auth": {"type": "none"},
            "resources": resources,
            "schemas": schemas,
        }))
        .unwrap()
    }

    pub(super) fn thing_resource() -> Value {
        json!({
            "operation": "listThings", "method": "GET", "path": "/things/{id}/parts",
            "summary": "List parts", "tag": "things",
            "parameters": [
                {"name": "id", "in": "path", "required": true, "pattern": "a|b"},
                {"name": "size", "in": "query", "kind": "integer", "minimum": 1, "maximum": 9},
                {"name": "kinds", "in": "query", "kind": "array", "values": ["x", "y"], "default": "x"},
                {"name": "flag", "in": "query", "kind": "boolean", "required": true},
                {"name": "where", "in": "query", "kind": "ceql", "ceql_fields": {"q": "q", "owner": "o"}},
                {"name": "X-Trace", "in": "header"},
            ],
            "vendor": {"method": "GET", "path": "/v1/things/{id}/parts"},
            "response": {"schema": {"$ref": "#/schemas/Part"}, "next_page_token": "/next"},
        })
    }

    #[test]
    fn parameters_say_what_the_runtime_checks() {
        let def = definition(
            json!([thing_resource()]),
            json!({"Part": {"type": "object"}}),
        );
        let document = connector_openapi(&def, &target());
        let parameters = &document["paths"]["/things/{id}/parts"]["get"]["parameters"];
        assert_eq!(
            parameters[0],
            json!({"name": "id", "in": "path", "required": true,
                   "schema": {"type": "string", "pattern": "^(?:a|b)$"}})
        );
        // An optional query value sent empty counts as absent, so the empty value is allowed.
        assert_eq!(
            parameters[1]["schema"],
            json!({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 9},
                             {"type": "string", "maxLength": 0}]})
        );
        assert!(parameters[1].get("required").is_none());
        assert_eq!(
            parameters[2]["schema"],
            json!({"type": "array", "items": {"type": "string", "enum": ["x", "y", ""]}, "default": ["x"]})
        );
        assert_eq!(parameters[3]["schema"], json!({"type": "boolean"}));
        assert_eq!(parameters[3]["required"], json!(true));
        assert_eq!(parameters[4]["schema"], json!({"type": "string"}));
        let ceql = parameters[4]["description"].as_str().unwrap();
        assert!(ceql.contains("`owner`, `q`"), "{ceql}");
        assert_eq!(parameters[5]["in"], json!("header"));
    }

    #[test]
    fn an_anchored_pattern_means_the_whole_value_as_ferry_checks_it() {
        // Unanchored, `a|b` would let a JSON Schema validator accept "xa" and "bx", which ferry
        // answers 404: the alternation must sit inside the anchors.
        let schema = json!({"type": "string", "pattern": whole_value_pattern("a|b")});
        for (value, expected) in [
            ("a", true),
            ("b", true),
            ("xa", false),
            ("bx", false),
            ("", false),
        ] {
            assert_eq!(
                jsonschema::is_valid(&schema, &json!(value)),
                expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn references_are_relocated_into_the_document() {
        let def = definition(
            json!([{
                "operation": "makeThing", "method": "POST", "path": "/things",
                "summary": "Make a thing",
                "request_body": {
                    "content": ["application/json"],
                    "schema": {
                        "$defs": {"Id": {"type": "string"}},
                        "type": "object",
                        "properties": {"id": {"$ref": "#/$defs/Id"}, "part": {"$ref": "#/schemas/Part"}},
                        "default": {"$ref": "#/schemas/NotAReference"},
                    },
                },
                "vendor": {"method": "POST", "path": "/v1/things"},
            }]),
            json!({"Part": {"type": "object", "properties": {"self": {"$ref": "#"}}}}),
        );
        let document = connector_openapi(&def, &target());
        let schema = &document["paths"]["/things"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            schema["properties"]["id"]["$ref"],
            json!("#/paths/~1things/post/requestBody/content/application~1json/schema/$defs/Id")
        );
        assert_eq!(
            schema["properties"]["part"]["$ref"],
            json!("#/components/schemas/Part")
        );
        assert_eq!(
            schema["default"],
            json!({"$ref": "#/schemas/NotAReference"}),
            "data is not rewritten"
        );
        assert_eq!(
            document["components"]["schemas"]["Part"]["properties"]["self"]["$ref"],
            json!("#/components/schemas/Part")
        );
        assert_eq!(
            Pointer::root().then("paths").then("/a/{id}").fragment(),
            "#/paths/~1a~1%7Bid%7D"
        );
    }

    #[test]
    fn ferrys_error_schema_gives_way_to_a_connectors_own() {
        let def = definition(json!([thing_resource()]), json!({"Part": {}, "Error": {}}));
        let document = connector_openapi(&def, &target());
        assert_eq!(document["components"]["schemas"]["Error"], json!({}));
        assert_eq!(
            document["components"]["schemas"]["FerryError"]["required"],
            json!(["requestId", "message", "code"])
        );
        let not_found = &document["paths"]["/things/{id}/parts"]["get"]["responses"]["404"];
        assert_eq!(not_found["$ref"], json!("#/components/responses/NotFound"));
        assert_eq!(
            document["components"]["responses"]["NotFound"]["content"]["application/json"]["schema"]
                ["$ref"],
            json!("#/components/schemas/FerryError")
        );
    }

    #[test]
    fn gmail_patterns_accept_and_refuse_what_the_runtime_does() {
        let catalog = Catalog::embedded(&EndpointRewrites::new()).unwrap();
        let gmail = catalog.get("gmail").unwrap();
        let document = connector_openapi(&gmail.def, &target());
        let samples = [
            "18c5a6f2e3b4d5a6",
            "INBOX",
            "Label_12",
            "r-123_x",
            "ANGjdJ8.x=",
            "123",
            "",
            "a/b",
            "abc def",
            "abc\n",
            "\nabc",
            "ab%2F",
            "é",
            &"a".repeat(3000),
        ];
        let mut checked = 0;
        for (index, resource) in gmail.def.resources.iter().enumerate() {
            let method = resource.method.as_str().to_ascii_lowercase();
            for parameter in resource.parameters.iter().filter(|p| p.pattern.is_some()) {
                let regex = gmail.compiled[index].pattern(&parameter.name).unwrap();
                let documented = document["paths"][&resource.path][&method]["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == json!(parameter.name))
                    .unwrap()["schema"]
                    .clone();
                for sample in samples {
                    assert_eq!(
                        jsonschema::is_valid(&documented, &json!(sample)),
                        regex.is_match(sample),
                        "{} {}: {sample:?}",
                        resource.operation,
                        parameter.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} checks");
    }

    #[test]
    fn an_instance_document_names_the_instance() {
        let def = definition(json!([thing_resource()]), json!({"Part": {}}));
        let document = connector_openapi(
            &def,
            &DocsTarget {
                server_url: "http://ferry.test/elements/api-v2".into(),
                instance: Some(DocumentedInstance {
                    id: 42,
                    name: "Ada's mail".into(),
                }),
            },
        );
        assert_eq!(document["info"]["title"], json!("Acme — Ada's mail"));
        let description = document["info"]["description"].as_str().unwrap();
        assert!(description.contains("instance 42"), "{description}");
        assert_eq!(
            document["servers"][0]["url"],
            json!("http://ferry.test/elements/api-v2")
        );
    }
}
