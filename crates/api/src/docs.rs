//! The OpenAPI documents of connectors and instances, as ferry serves and exports them: the
//! connector's definition made into a document by `ferry-connectors`, with ferry's API path as
//! its server. The server is relative so that "Try it out" calls whatever host served the page.

use ferry_model::connector::ConnectorDef;
use serde_json::Value;

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
