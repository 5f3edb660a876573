//! The OpenAPI 3.1 document of ferry's platform API. Operations come from the handlers'
//! `#[utoipa::path]` attributes, collected by the router itself ([`crate::routes`]), so a route
//! cannot exist without its documentation. This module adds what is the same for every
//! operation: the `User …, Organization …` security scheme, and the error responses that the
//! shared extractors can produce (a bad body, a missing secret, an unknown id), each with the one
//! error body.

use crate::error::ErrorBody;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, ResponseBuilder, Server, Tag,
};
use utoipa::{PartialSchema, ToSchema};

/// The name of the security scheme of the platform API in the document.
pub(crate) const USER_ORGANIZATION: &str = "userOrganization";

/// Tags, in the order a reader meets them.
const TAGS: [(&str, &str); 6] = [
    (
        "elements",
        "The connector catalog and Cloud Elements' OAuth URL helper",
    ),
    (
        "instances",
        "Connector instances: created by OAuth2, re-authenticated, enabled, deleted",
    ),
    ("docs", "OpenAPI documents of connectors and instances"),
    (
        "formulas",
        "Flows (Cloud Elements formulas): triggers, steps and variables",
    ),
    (
        "formula instances",
        "Flow instances bound to connector instances, and their executions",
    ),
    ("hooks", "Webhook triggers of flow instances"),
];

/// The document before the router adds its operations.
pub(crate) fn base_document() -> OpenApi {
    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("ferry platform API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "ferry's platform API, wire-compatible with Cloud Elements v2. Every call under \
                     /elements/api-v2 carries `Authorization: User <user secret>, Organization \
                     <organization secret>`. Calls to an instance's own API (hub calls) are \
                     documented per instance at /elements/api-v2/instances/{id}/docs.",
                ))
                .build(),
        )
        .servers(Some([Server::new("/")]))
        .tags(Some(TAGS.map(|(name, description)| {
            let mut tag = Tag::new(name);
            tag.description = Some(description.to_owned());
            tag
        })))
        .build();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        USER_ORGANIZATION,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`User <user secret>, Organization <organization secret>` (Cloud Elements' header)",
        ))),
    );
    components
        .schemas
        .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
    document
}

/// Operations that take a body of any type (a webhook's caller decides), so never answer 415.
const ACCEPTS_ANY_BODY: [&str; 3] = [
    "create_webhook_call",
    "create_webhook_call_by_put",
    "create_instance_events",
];

/// Operations under `/elements/api-v2` that a vendor calls without the `Authorization` header:
/// a signature authenticates each call instead.
const SIGNED_BY_VENDOR: [&str; 1] = ["create_instance_events"];

/// Adds the error responses every operation shares, after the router has added the operations.
pub(crate) fn complete(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let under_api = path.starts_with("/elements/api-v2/");
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let secured = under_api
                && !operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| SIGNED_BY_VENDOR.contains(&id));
            if secured {
                operation.security = Some(vec![SecurityRequirement::new::<&str, [&str; 0], &str>(
                    USER_ORGANIZATION,
                    [],
                )]);
            }
            add_shared_errors(operation, secured);
        }
    }
}

fn add_shared_errors(operation: &mut Operation, secured: bool) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let located = |location: ParameterIn| {
        parameters
            .iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == location))
    };
    let has_path_parameter = located(ParameterIn::Path);
    let has_query = located(ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let mut shared = Vec::new();
    if has_body || has_query {
        shared.push(("400", "The request is invalid; `field` names what is wrong"));
    }
    if secured {
        shared.push((
            "401",
            "The Authorization header is missing, unreadable or names unknown secrets",
        ));
    }
    if has_path_parameter {
        shared.push(("404", "Nothing of that id or key belongs to the caller"));
    }
    if has_body {
        shared.push(("413", "The request body is larger than ferry accepts"));
        let any_body = operation
            .operation_id
            .as_deref()
            .is_some_and(|id| ACCEPTS_ANY_BODY.contains(&id));
        if !any_body {
            shared.push(("415", "The body is not sent as application/json"));
        }
    }
    shared.push((
        "500",
        "ferry failed (its database is unreachable, say); the request id names it in ferry's log",
    ));
    for (status, description) in shared {
        if !operation.responses.responses.contains_key(status) {
            operation
                .responses
                .responses
                .insert(status.to_owned(), error_response(description));
        }
    }
}

/// A response with the one error body.
pub(crate) fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                    .build(),
            )
            .build(),
    )
}
