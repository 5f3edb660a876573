//! The OpenAPI documents of connectors and instances, as ferry serves and exports them: the
//! connector's definition made into a document by `ferry-connectors`, with ferry's API path as
//! its server. The server is relative so that "Try it out" calls whatever host served the page.

use ferry_model::connector::ConnectorDef;
use ferry_model::proxy::Proxy;
use serde_json::{Value, json};

/// Where hub calls go, relative to ferry's origin.
pub const HUB_SERVER: &str = "/elements/api-v2";

/// The document of `def`'s API, or of one instance of it (`(id, name)`).
pub fn connector_document(def: &ConnectorDef, instance: Option<(i64, &str)>) -> Value {
    connector_document_at(def, instance, HUB_SERVER)
}

/// The same, with an absolute server URL for client generators.
pub fn connector_document_at(
    def: &ConnectorDef,
    instance: Option<(i64, &str)>,
    server_url: &str,
) -> Value {
    ferry_connectors::connector_openapi(
        def,
        &ferry_connectors::DocsTarget {
            server_url: server_url.to_owned(),
            instance: instance.map(|(id, name)| ferry_connectors::DocumentedInstance {
                id,
                name: name.to_owned(),
            }),
        },
    )
}

/// ferry's platform document; `origin` (`https://ferry.example.com`) becomes its server.
pub fn platform_document(origin: Option<&str>) -> Value {
    let mut document = crate::routes::platform_openapi();
    if let Some(origin) = origin {
        document.servers = Some(vec![utoipa::openapi::Server::new(origin)]);
    }
    serde_json::to_value(&document).expect("an OpenAPI document serializes")
}

/// The document of a proxy: the operations it exposes, served at `server_url`, called with an
/// API key instead of ferry's secrets.
pub fn proxy_document(def: &ConnectorDef, proxy: &Proxy, server_url: &str) -> Value {
    let mut document = connector_document_at(def, None, server_url);
    document["info"]["title"] = Value::String(proxy.name.clone());
    document["info"]["description"] = Value::String(format!(
        "{}\n\nCalls go to `{server_url}` with an API key in the `X-API-Key` header or as \
         `Authorization: Bearer <key>`. Each key may make {} calls per {} s{}; answers carry \
         `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and a 429 carries \
         `Retry-After`.",
        def.description.trim(),
        proxy.rate_limit.requests,
        proxy.rate_limit.seconds,
        proxy
            .daily_quota
            .map(|quota| format!(" and {quota} calls per UTC day"))
            .unwrap_or_default()
    ));
    if let Some(paths) = document["paths"].as_object_mut() {
        for item in paths.values_mut() {
            if let Some(item) = item.as_object_mut() {
                item.retain(|_, operation| {
                    operation["operationId"]
                        .as_str()
                        .is_some_and(|id| proxy.exposes(id))
                });
                for operation in item.values_mut() {
                    let takes_body = operation.get("requestBody").is_some();
                    if let Some(responses) = operation["responses"].as_object_mut()
                        && takes_body
                    {
                        responses.entry("413").or_insert_with(
                            || json!({"$ref": "#/components/responses/PayloadTooLarge"}),
                        );
                    }
                }
            }
        }
        paths.retain(|_, item| item.as_object().is_some_and(|item| !item.is_empty()));
    }
    document["security"] = json!([{ PROXY_KEY_SCHEME: [] }, { "bearer": [] }]);
    document["components"]["securitySchemes"] = json!({
        PROXY_KEY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "The API key the proxy's owner gave your application."
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The same API key, as `Authorization: Bearer <key>`."
        }
    });
    let responses = &mut document["components"]["responses"];
    if responses.get("Unauthenticated").is_some() {
        responses["Unauthenticated"]["description"] =
            Value::String("The API key is missing, wrong, revoked or expired".into());
    }
    if responses.get("Forbidden").is_some() {
        responses["Forbidden"]["description"] =
            Value::String("The API key may not call this operation".into());
    }
    if responses.get("PayloadTooLarge").is_none() {
        let error = document["components"]["responses"]["BadRequest"].clone();
        document["components"]["responses"]["PayloadTooLarge"] = error;
        document["components"]["responses"]["PayloadTooLarge"]["description"] = Value::String(
            format!("The request body is over {} bytes", proxy.max_request_bytes),
        );
    }
    document
}

/// The name of the API-key scheme in proxy documents.
pub const PROXY_KEY_SCHEME: &str = "apiKey";
