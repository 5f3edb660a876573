//! The errors a hub call can answer, per operation, and ferry's one error body: what the document
//! promises a client must be what `crates/api` (hub.rs, error.rs), the application's mapping of
//! connector errors and docs/decisions/0003 really produce, and nothing more.

use super::{ERROR_CODE, INSTANCE_ID, REQUEST_ID, RETRY_AFTER, header_ref};
use ferry_model::connector::{AuthDef, ConnectorDef, ParameterLocation, QuotaScope, ResourceDef};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The error responses a document refers to, by (status, name), with their descriptions.
pub(super) type Failures = BTreeMap<(&'static str, &'static str), String>;

/// `Error`, unless the connector has a schema of that name (ferry's then gives way).
pub(super) fn error_schema_name(def: &ConnectorDef) -> String {
    ["Error", "FerryError"]
        .into_iter()
        .map(str::to_owned)
        .chain((2..).map(|n| format!("FerryError{n}")))
        .find(|name| !def.schemas.contains_key(name))
        .expect("an unused name exists")
}

/// ferry's one error body, as `crates/api/src/error.rs` writes it.
pub(super) fn error_body_schema() -> Value {
    json!({
        "type": "object",
        "description": "The body of every failure: Cloud Elements' shape plus a stable `code`.",
        "required": ["requestId", "message", "code"],
        "properties": {
            "requestId": {
                "type": "string",
                "description": "Names the request in ferry's log (also the `Elements-Request-Id` header).",
            },
            "message": { "type": "string", "description": "What went wrong, for a person." },
            "code": {
                "type": "string",
                "description": "What went wrong, for a program: `invalid_input`, `unauthenticated`, \
                    `needs_reauthentication`, `forbidden`, `not_found`, `conflict`, \
                    `payload_too_large`, `unsupported_media_type`, `rate_limited`, \
                    `provider_error`, `unavailable`, `internal`.",
            },
            "providerMessage": {
                "type": "string",
                "description": "The provider's own words, when the provider refused.",
            },
            "field": {
                "type": "string",
                "description": "The field or parameter at fault, when there is one.",
            },
            "problems": {
                "type": "array",
                "description": "Every problem of an invalid flow (flow calls only; hub calls never set it).",
                "items": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "step": { "type": "string" },
                        "property": { "type": "string" },
                        "message": { "type": "string" },
                        "line": { "type": "integer", "minimum": 0 },
                        "column": { "type": "integer", "minimum": 0 },
                    },
                },
            },
        },
    })
}

/// An error a hub call can answer: its status, its name under `components.responses` (shared by
/// every operation that can meet it), and when it happens.
pub(super) struct Failure {
    pub status: &'static str,
    pub name: &'static str,
    pub description: String,
}

/// The error statuses a hub call of `resource` can answer — ferry's own checks, the instance's
/// state, and the provider's refusals as docs/decisions/0003 maps them — and no others.
pub(super) fn error_statuses(def: &ConnectorDef, resource: &ResourceDef) -> Vec<Failure> {
    let oauth2 = matches!(def.auth, AuthDef::Oauth2(_));
    let has_body = resource.request_body.is_some();
    let has_query = resource
        .parameters
        .iter()
        .any(|p| p.location == ParameterLocation::Query);
    let has_path = resource
        .parameters
        .iter()
        .any(|p| p.location == ParameterLocation::Path);
    // A required query parameter names what the call is about (Gmail's `startHistoryId`): the
    // provider may have nothing for it.
    let names_by_query = resource
        .parameters
        .iter()
        .any(|p| p.location == ParameterLocation::Query && p.required);
    let mut failures = Vec::new();
    let mut add = |status: &'static str, name: &'static str, description: String| {
        failures.push(Failure {
            status,
            name,
            description,
        })
    };
    // The provider's 4xx pass through (decision 0003), so every operation can meet its 400:
    // deleting a system label, reading an attachment of a message that has none.
    add(
        "400",
        "BadRequest",
        if has_body || has_query || !resource.hooks.before.is_empty() {
            "The request is invalid (`code: invalid_input`; `field` names what is wrong), or the \
             provider refused it as invalid (`code: provider_error`, its words in \
             `providerMessage`)."
        } else {
            "The provider refused the request as invalid (`code: provider_error`, its words in \
             `providerMessage`)."
        }
        .into(),
    );
    let mut unauthenticated = String::from(
        "The Authorization header is missing, unreadable, or names no user, organization or \
         instance of theirs (`code: unauthenticated`)",
    );
    if oauth2 {
        unauthenticated.push_str(
            "; or the provider revoked the instance's grant (`code: needs_reauthentication`: the \
             instance needs a new consent) or refused its credentials (`code: provider_error`)",
        );
    }
    unauthenticated.push('.');
    add("401", "Unauthenticated", unauthenticated);
    add(
        "403",
        "Forbidden",
        "The instance is disabled (`code: forbidden`), or the provider refused access \
         (`code: provider_error`)."
            .into(),
    );
    if has_path {
        add(
            "404",
            "NotFound",
            "No such object: a path value that cannot be an id (`code: not_found`), or one the \
             provider does not have (`code: provider_error`)."
                .into(),
        );
    } else if names_by_query {
        add(
            "404",
            "NotFoundForQuery",
            "The provider has nothing for what the query names (`code: provider_error`).".into(),
        );
    } else {
        add(
            "404",
            "ProviderNotFound",
            "The provider answered that it has no such object (`code: provider_error`).".into(),
        );
    }
    add(
        "409",
        "Conflict",
        if oauth2 {
            "The instance is waiting for its owner to finish the provider's consent \
             (`code: conflict`), or the provider reports a conflict (`code: provider_error`)."
        } else {
            "The provider reports a conflict (`code: provider_error`)."
        }
        .into(),
    );
    if has_body {
        add(
            "413",
            "PayloadTooLarge",
            "The request body is larger than ferry or the provider accepts \
             (`code: payload_too_large`)."
                .into(),
        );
        add(
            "415",
            "UnsupportedMediaType",
            "The body is neither `application/json` nor `multipart/form-data` \
             (`code: unsupported_media_type`)."
                .into(),
        );
    }
    let mut rate_limited =
        String::from("The provider's rate limit was reached (`code: provider_error`)");
    if let Some(quota) = &def.quota {
        let whose = match quota.per {
            QuotaScope::Account => "the connected account's",
            QuotaScope::Instance => "the instance's",
        };
        rate_limited.push_str(&format!(
            ", or {whose} share of the provider's quota ({} units per minute) is spent for longer \
             than ferry waits (`code: rate_limited`)",
            quota.units_per_minute
        ));
    }
    rate_limited.push_str(". `Retry-After` says when to call again.");
    add("429", "RateLimited", rate_limited);
    add(
        "500",
        "Internal",
        "ferry failed (its database is unreachable, say; `code: internal`); the request id names \
         the failure in ferry's log."
            .into(),
    );
    add(
        "502",
        "BadGateway",
        "The provider failed, could not be reached, or answered something that is not JSON \
         (`code: provider_error`)."
            .into(),
    );
    if oauth2 {
        add(
            "503",
            "Unavailable",
            "No access token could be obtained: the provider's token endpoint failed or could not \
             be reached (`code: unavailable`)."
                .into(),
        );
    }
    add(
        "504",
        "GatewayTimeout",
        "The provider did not answer in time (`code: provider_error`).".into(),
    );
    failures
}

pub(super) fn error_response(name: &str, description: &str, error_schema: &str) -> Value {
    let mut headers = Map::new();
    headers.insert(REQUEST_ID.into(), header_ref(REQUEST_ID));
    headers.insert(ERROR_CODE.into(), header_ref(ERROR_CODE));
    headers.insert(INSTANCE_ID.into(), header_ref(INSTANCE_ID));
    if name == "RateLimited" {
        headers.insert(RETRY_AFTER.into(), header_ref(RETRY_AFTER));
    }
    json!({
        "description": description,
        "headers": headers,
        "content": {
            "application/json": {
                "schema": { "$ref": format!("#/components/schemas/{error_schema}") },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::tests::{definition, thing_resource};
    use crate::{Catalog, EndpointRewrites};

    #[test]
    fn error_statuses_follow_what_the_operation_can_meet() {
        let def = definition(json!([thing_resource()]), json!({"Part": {}}));
        let statuses = |resource: &ResourceDef| {
            error_statuses(&def, resource)
                .into_iter()
                .map(|f| f.status)
                .collect::<Vec<_>>()
        };
        // No OAuth2: no pending consent, no token to fail to get.
        assert_eq!(
            statuses(&def.resources[0]),
            [
                "400", "401", "403", "404", "409", "429", "500", "502", "504"
            ]
        );
        let catalog = Catalog::embedded(&EndpointRewrites::new()).unwrap();
        let gmail = &catalog.get("gmail").unwrap().def;
        let of = |operation: &str| {
            error_statuses(
                gmail,
                gmail
                    .resources
                    .iter()
                    .find(|r| r.operation == operation)
                    .unwrap(),
            )
            .into_iter()
            .map(|f| f.status)
            .collect::<Vec<_>>()
        };
        assert_eq!(
            of("ping"),
            [
                "400", "401", "403", "404", "409", "429", "500", "502", "503", "504"
            ]
        );
        assert_eq!(
            of("sendMessage"),
            [
                "400", "401", "403", "404", "409", "413", "415", "429", "500", "502", "503", "504"
            ]
        );
        assert!(of("listHistory").contains(&"404"), "a history id too old");
        assert!(of("deleteLabel").contains(&"404"));
    }
}
