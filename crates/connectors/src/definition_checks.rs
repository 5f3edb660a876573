//! The checks of a definition that serde cannot make: names that must be unique, placeholders
//! that must have parameters, hooks and scripts that must exist, base URL variables, auth fields,
//! JSON pointers of field mapping, pagination, error mapping, event polling and webhook events
//! (signature headers, the secret's field, what is signed, pointers into a delivery). Each error
//! names the file (or request) and the field.

use crate::ConnectorError;
use crate::base_url::BaseUrl;
use crate::catalog::invalid;
use crate::ceql;
use crate::hooks::{self, Stage};
use crate::routing::PathTemplate;
use ferry_model::connector::{
    ApiKeyPlacement, AuthDef, ConfigFieldKind, ConnectorDef, HttpMethod, OAuth2Grant,
    PaginationDef, ParameterDef, ParameterKind, ParameterLocation, WebhookDef,
};
use std::collections::BTreeSet;

pub(crate) fn validate(location: &str, def: &ConnectorDef) -> Result<(), ConnectorError> {
    validate_basics(location, def)?;
    let base = BaseUrl::parse(&def.base_url).map_err(|e| invalid(location, "base_url", &e))?;
    for name in base.variables() {
        if def.configuration_field(name).is_none() {
            return Err(invalid(
                location,
                "base_url",
                &format!("{{{name}}} is not the key of a configuration field"),
            ));
        }
    }
    check_url(location, "base_url", &base.example())?;
    for (field, key) in def.auth.configuration_keys() {
        let Some(declared) = def.configuration_field(key) else {
            return Err(invalid(
                location,
                field,
                &format!("{key:?} is not the key of a configuration field"),
            ));
        };
        let secret = field != "auth.username_field";
        if secret && declared.kind != ConfigFieldKind::Password {
            return Err(invalid(
                location,
                field,
                &format!("configuration field {key:?} holds a secret: give it kind: password"),
            ));
        }
    }
    if let AuthDef::ApiKey(api_key) = &def.auth
        && (api_key.name.is_empty()
            || !api_key
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    {
        return Err(invalid(
            location,
            "auth.name",
            &format!(
                "{:?} is not a header or parameter name (letters, digits, '-', '_', '.')",
                api_key.name
            ),
        ));
    }
    if let Some(pointer) = &def.errors.message {
        check_pointer(location, "errors.message", pointer)?;
    }
    if let Some(pointer) = &def.errors.code {
        check_pointer(location, "errors.code", pointer)?;
    }
    for (index, rule) in def.errors.rules.iter().enumerate() {
        let at = |field: &str| format!("errors.rules[{index}].{field}");
        if !(400..=599).contains(&rule.vendor_status) {
            return Err(invalid(location, &at("vendor_status"), "must be 400–599"));
        }
        if !(400..=599).contains(&rule.status) {
            return Err(invalid(location, &at("status"), "must be 400–599"));
        }
        if rule.code.is_some() && def.errors.code.is_none() {
            return Err(invalid(
                location,
                &at("code"),
                "matches a code, but errors.code does not say where the code is",
            ));
        }
    }
    if let Some(polling) = def.events.as_ref().and_then(|e| e.polling.as_ref()) {
        let Some(resource) = def
            .resources
            .iter()
            .find(|r| r.operation == polling.operation)
        else {
            return Err(invalid(
                location,
                "events.polling.operation",
                &format!(
                    "{:?} is not an operation of this connector",
                    polling.operation
                ),
            ));
        };
        if resource.method != HttpMethod::Get
            || resource
                .parameters
                .iter()
                .any(|p| p.location == ParameterLocation::Path)
        {
            return Err(invalid(
                location,
                "events.polling.operation",
                "must be a GET operation without path parameters (a list)",
            ));
        }
        if let Some(parameter) = &polling.parameter
            && !resource
                .parameters
                .iter()
                .any(|p| &p.name == parameter && p.location == ParameterLocation::Query)
        {
            return Err(invalid(
                location,
                "events.polling.parameter",
                &format!(
                    "{parameter:?} is not a query parameter of {}",
                    polling.operation
                ),
            ));
        }
        check_pointer(location, "events.polling.id", &polling.id)?;
        match (&polling.updated, &polling.cursor) {
            (Some(pointer), None) => check_pointer(location, "events.polling.updated", pointer)?,
            (None, Some(pointer)) => check_pointer(location, "events.polling.cursor", pointer)?,
            _ => {
                return Err(invalid(
                    location,
                    "events.polling",
                    "give exactly one of updated (timestamp style) and cursor (cursor style)",
                ));
            }
        }
        if let Some(pointer) = &polling.created {
            check_pointer(location, "events.polling.created", pointer)?;
        }
    }
    if let Some(webhook) = def.events.as_ref().and_then(|e| e.webhook.as_ref()) {
        validate_webhook(location, def, webhook)?;
    }
    for (name, source) in &def.scripts {
        crate::scripts::check(source)
            .map_err(|problem| invalid(location, &format!("scripts.{name}"), &problem))?;
    }
    for (index, resource) in def.resources.iter().enumerate() {
        let at = |field: &str| format!("resources[{index}].{field}");
        for (stage, script) in [
            ("pre_request", &resource.hooks.pre_request),
            ("post_request", &resource.hooks.post_request),
        ] {
            if let Some(script) = script
                && !def.scripts.contains_key(script)
            {
                return Err(invalid(
                    location,
                    &at(&format!("hooks.{stage}")),
                    &format!(
                        "names the script {script:?}, which the connector's scripts do not define (defined: {})",
                        if def.scripts.is_empty() {
                            "none".to_owned()
                        } else {
                            def.scripts.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                ));
            }
        }
        for (name, pointer) in &resource.response.fields {
            check_pointer(location, &at(&format!("response.fields.{name}")), pointer)?;
        }
        for (name, pointer) in &resource.vendor.body_fields {
            check_pointer(
                location,
                &at(&format!("vendor.body_fields.{name}")),
                pointer,
            )?;
        }
        for (position, parameter) in resource.parameters.iter().enumerate() {
            if parameter.location == ParameterLocation::Header {
                check_header_parameter(
                    location,
                    &at(&format!("parameters[{position}]")),
                    def,
                    parameter,
                )?;
            }
        }
        let Some(pagination) = &resource.response.pagination else {
            continue;
        };
        if resource.response.next_page_token.is_some() {
            return Err(invalid(
                location,
                &at("response.pagination"),
                "give either pagination or next_page_token, not both",
            ));
        }
        let (parameter, size) = match pagination {
            PaginationDef::Cursor {
                token,
                parameter,
                size_parameter,
            } => {
                check_pointer(location, &at("response.pagination.token"), token)?;
                (Some(parameter), size_parameter)
            }
            PaginationDef::Page {
                parameter,
                size_parameter,
                default_size,
                total,
                ..
            }
            | PaginationDef::Offset {
                parameter,
                size_parameter,
                default_size,
                total,
            } => {
                if *default_size == 0 {
                    return Err(invalid(
                        location,
                        &at("response.pagination.default_size"),
                        "must be at least 1",
                    ));
                }
                if let Some(total) = total {
                    check_pointer(location, &at("response.pagination.total"), total)?;
                }
                (Some(parameter), size_parameter)
            }
            PaginationDef::LinkHeader { size_parameter } => (None, size_parameter),
        };
        for name in parameter.into_iter().chain(size) {
            if name.is_empty() {
                return Err(invalid(
                    location,
                    &at("response.pagination"),
                    "a parameter name is empty",
                ));
            }
        }
        for reserved in ["nextPage", "pageSize"] {
            if resource.parameters.iter().any(|p| p.name == reserved) {
                return Err(invalid(
                    location,
                    &at("parameters"),
                    &format!("{reserved} is ferry's own with pagination; do not declare it"),
                ));
            }
        }
    }
    Ok(())
}

fn validate_webhook(
    location: &str,
    def: &ConnectorDef,
    webhook: &WebhookDef,
) -> Result<(), ConnectorError> {
    let signature = &webhook.signature;
    check_header_name(
        location,
        "events.webhook.signature.header",
        &signature.header,
    )?;
    if let Some(name) = &signature.timestamp_header {
        check_header_name(location, "events.webhook.signature.timestamp_header", name)?;
    }
    let field = "events.webhook.signature.secret_field";
    let Some(declared) = def.configuration_field(&signature.secret_field) else {
        return Err(invalid(
            location,
            field,
            &format!(
                "{:?} is not the key of a configuration field",
                signature.secret_field
            ),
        ));
    };
    if declared.kind != ConfigFieldKind::Password {
        return Err(invalid(
            location,
            field,
            &format!(
                "configuration field {:?} holds a secret: give it kind: password",
                signature.secret_field
            ),
        ));
    }
    if let Some(template) = &signature.signed_content {
        crate::webhooks::check_signed_content(template, signature.timestamp_header.is_some())
            .map_err(|problem| {
                invalid(
                    location,
                    "events.webhook.signature.signed_content",
                    &problem,
                )
            })?;
    } else if signature.timestamp_header.is_some() {
        return Err(invalid(
            location,
            "events.webhook.signature.signed_content",
            "is required with timestamp_header: say where the timestamp goes, e.g. \"{timestamp}.{body}\"",
        ));
    }
    match signature.tolerance_seconds {
        Some(_) if signature.timestamp_header.is_none() => {
            return Err(invalid(
                location,
                "events.webhook.signature.tolerance_seconds",
                "applies only with timestamp_header",
            ));
        }
        Some(0) => {
            return Err(invalid(
                location,
                "events.webhook.signature.tolerance_seconds",
                "must be at least 1",
            ));
        }
        _ => {}
    }
    check_pointer(location, "events.webhook.events", &webhook.events)?;
    check_pointer(location, "events.webhook.id", &webhook.id)?;
    for (name, pointer) in [
        ("object_id", &webhook.object_id),
        ("object_type", &webhook.object_type),
        ("event_type", &webhook.event_type),
    ] {
        if let Some(pointer) = pointer {
            check_pointer(location, &format!("events.webhook.{name}"), pointer)?;
        }
    }
    if !webhook.event_types.is_empty() && webhook.event_type.is_none() {
        return Err(invalid(
            location,
            "events.webhook.event_types",
            "maps event types, but events.webhook.event_type does not say where an event's type is",
        ));
    }
    Ok(())
}

/// Headers a caller can never set on a vendor call, whatever a definition declares: the
/// credentials ferry adds (and those a caller sent ferry), and those that describe the exchange
/// itself, which the HTTP client writes for the body it actually sends.
const HEADERS_FERRY_OWNS: [&str; 15] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "accept-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// A header parameter: a header name, under both its names, that is not one ferry sets itself
/// (nor the header an API key goes in), and a single value.
fn check_header_parameter(
    location: &str,
    at: &str,
    def: &ConnectorDef,
    parameter: &ParameterDef,
) -> Result<(), ConnectorError> {
    let api_key_header = match &def.auth {
        AuthDef::ApiKey(api_key) if api_key.placement == ApiKeyPlacement::Header => {
            Some(api_key.name.as_str())
        }
        _ => None,
    };
    for (field, name) in [
        ("name", parameter.name.as_str()),
        ("vendor", parameter.vendor_name()),
    ] {
        let field = format!("{at}.{field}");
        check_header_name(location, &field, name)?;
        if HEADERS_FERRY_OWNS
            .iter()
            .any(|owned| owned.eq_ignore_ascii_case(name))
        {
            return Err(invalid(
                location,
                &field,
                &format!(
                    "{name} is a header ferry sets on vendor calls itself; a caller cannot give it"
                ),
            ));
        }
        if api_key_header.is_some_and(|key| key.eq_ignore_ascii_case(name)) {
            return Err(invalid(
                location,
                &field,
                &format!(
                    "{name} carries the connector's API key (auth.name); a caller cannot give it"
                ),
            ));
        }
    }
    if parameter.kind == ParameterKind::Ceql {
        return Err(invalid(
            location,
            &format!("{at}.kind"),
            "a CEQL query is a query parameter (in: query), not a header",
        ));
    }
    Ok(())
}

/// An HTTP header name (RFC 9110 token characters).
fn check_header_name(location: &str, field: &str, name: &str) -> Result<(), ConnectorError> {
    if name.is_empty() {
        return Err(invalid(location, field, "a header name is required"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
    {
        return Err(invalid(
            location,
            field,
            &format!("{name:?} is not a header name"),
        ));
    }
    Ok(())
}

pub(crate) fn check_url(location: &str, field: &str, value: &str) -> Result<(), ConnectorError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(invalid(
            location,
            field,
            &format!("{value:?} is not an http(s) URL"),
        )),
        Err(e) => Err(invalid(
            location,
            field,
            &format!("{value:?} is not a URL: {e}"),
        )),
    }
}

pub(crate) fn check_pointer(
    location: &str,
    field: &str,
    pointer: &str,
) -> Result<(), ConnectorError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(invalid(
            location,
            field,
            &format!("{pointer:?} is not a JSON pointer (it must start with '/')"),
        ))
    }
}

/// The checks of identity, auth endpoints, configuration, resources, hooks, quota, events and
/// identity that every definition has had since the Gmail connector.
fn validate_basics(location: &str, def: &ConnectorDef) -> Result<(), ConnectorError> {
    let expected_key = location
        .rsplit('/')
        .nth(1)
        .filter(|_| location.ends_with("/connector.yaml"));
    if !def
        .key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        || def.key.is_empty()
    {
        return Err(invalid(
            location,
            "key",
            "use lowercase letters, digits, '-' and '_'",
        ));
    }
    if let Some(folder) = expected_key
        && folder != def.key
    {
        return Err(invalid(
            location,
            "key",
            &format!("{:?} differs from its folder name {folder:?}", def.key),
        ));
    }
    if let AuthDef::Oauth2(oauth) = &def.auth {
        if oauth.grant == OAuth2Grant::AuthorizationCode {
            if oauth.authorization_url.is_empty() {
                return Err(invalid(
                    location,
                    "auth.authorization_url",
                    "is required by the authorization_code grant",
                ));
            }
            check_url(location, "auth.authorization_url", &oauth.authorization_url)?;
        }
        check_url(location, "auth.token_url", &oauth.token_url)?;
        if let Some(revoke) = &oauth.revoke_url {
            check_url(location, "auth.revoke_url", revoke)?;
        }
    }
    let mut config_keys = BTreeSet::new();
    for (index, field) in def.configuration.iter().enumerate() {
        if !config_keys.insert(field.key.as_str()) {
            return Err(invalid(
                location,
                &format!("configuration[{index}].key"),
                &format!("{:?} appears twice", field.key),
            ));
        }
    }
    let mut operations = BTreeSet::new();
    let mut signatures = BTreeSet::new();
    for (index, resource) in def.resources.iter().enumerate() {
        let at = |field: &str| format!("resources[{index}].{field}");
        if !operations.insert(resource.operation.as_str()) {
            return Err(invalid(
                location,
                &at("operation"),
                &format!("{:?} appears twice", resource.operation),
            ));
        }
        if !signatures.insert((resource.method, resource.path.as_str())) {
            return Err(invalid(
                location,
                &at("path"),
                &format!(
                    "{} {} appears twice",
                    resource.method.as_str(),
                    resource.path
                ),
            ));
        }
        let template =
            PathTemplate::parse(&resource.path).map_err(|e| invalid(location, &at("path"), &e))?;
        let vendor = PathTemplate::parse(&resource.vendor.path)
            .map_err(|e| invalid(location, &at("vendor.path"), &e))?;
        let path_params: BTreeSet<&str> = resource
            .parameters
            .iter()
            .filter(|p| p.location == ParameterLocation::Path)
            .map(|p| p.name.as_str())
            .collect();
        for name in template.placeholders() {
            if !path_params.contains(name) {
                return Err(invalid(
                    location,
                    &at("parameters"),
                    &format!("path placeholder {{{name}}} has no parameter with in: path"),
                ));
            }
        }
        for name in &path_params {
            if !template.placeholders().any(|p| p == *name) {
                return Err(invalid(
                    location,
                    &at("parameters"),
                    &format!(
                        "path parameter {name:?} does not appear in {}",
                        resource.path
                    ),
                ));
            }
        }
        for name in vendor.placeholders() {
            if !path_params.contains(name) {
                return Err(invalid(
                    location,
                    &at("vendor.path"),
                    &format!("{{{name}}} is not a path parameter of this operation"),
                ));
            }
        }
        let mut names = BTreeSet::new();
        for (p_index, parameter) in resource.parameters.iter().enumerate() {
            let p_at = |field: &str| format!("resources[{index}].parameters[{p_index}].{field}");
            if !names.insert(parameter.name.as_str()) {
                return Err(invalid(
                    location,
                    &p_at("name"),
                    &format!("{:?} appears twice", parameter.name),
                ));
            }
            if parameter.kind == ParameterKind::Ceql {
                if parameter.ceql_fields.is_empty() {
                    return Err(invalid(
                        location,
                        &p_at("ceql_fields"),
                        "a ceql parameter needs at least one field",
                    ));
                }
                for field in parameter.ceql_fields.keys() {
                    if !ceql::is_identifier(field) {
                        return Err(invalid(
                            location,
                            &p_at("ceql_fields"),
                            &format!("{field:?} is not a field name"),
                        ));
                    }
                }
            }
            if parameter.location == ParameterLocation::Path && !parameter.required {
                return Err(invalid(
                    location,
                    &p_at("required"),
                    "path parameters are always required",
                ));
            }
        }
        for (stage_name, hook) in resource.hooks.named() {
            let stage = Stage::from_name(stage_name);
            if !hooks::exists(stage, hook) {
                return Err(invalid(
                    location,
                    &at(&format!("hooks.{stage_name}")),
                    &format!(
                        "unknown {stage_name} hook {hook:?} (known: {})",
                        hooks::names(stage).join(", ")
                    ),
                ));
            }
        }
        if let Some(split) = &resource.vendor.split
            && split.max_items == 0
        {
            return Err(invalid(
                location,
                &at("vendor.split.max_items"),
                "must be at least 1",
            ));
        }
        if let Some(root) = &resource.response.root {
            check_pointer(location, &at("response.root"), root)?;
        }
        if let Some(token) = &resource.response.next_page_token {
            check_pointer(location, &at("response.next_page_token"), token)?;
        }
    }
    if let Some(quota) = &def.quota
        && quota.units_per_minute == 0
    {
        return Err(invalid(
            location,
            "quota.units_per_minute",
            "must be at least 1",
        ));
    }
    if let Some(events) = &def.events {
        match (&events.polling_hook, &events.polling) {
            (Some(hook), None) => {
                if !hooks::exists(hooks::Stage::Events, hook) {
                    return Err(invalid(
                        location,
                        "events.polling_hook",
                        &format!(
                            "unknown hook {hook:?} (known: {})",
                            hooks::names(hooks::Stage::Events).join(", ")
                        ),
                    ));
                }
            }
            (None, Some(_)) => {}
            (None, None) if events.webhook.is_some() => {}
            _ => {
                return Err(invalid(
                    location,
                    "events",
                    "give polling (declared) or polling_hook (not both), or webhook, or webhook and one of the others",
                ));
            }
        }
        if events.interval_seconds == 0 {
            return Err(invalid(
                location,
                "events.interval_seconds",
                "must be at least 1",
            ));
        }
    }
    if let Some(identity) = &def.identity {
        if !operations.contains(identity.operation.as_str()) {
            return Err(invalid(
                location,
                "identity.operation",
                &format!(
                    "{:?} is not an operation of this connector",
                    identity.operation
                ),
            ));
        }
        check_pointer(location, "identity.account", &identity.account)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, EndpointRewrites};
    use serde_json::{Value, json};

    fn pushy() -> Value {
        json!({
            "key": "pushy", "id": 1, "name": "Pushy", "description": "d", "hub": "general",
            "base_url": "https://api.pushy.test",
            "auth": {"type": "none"},
            "configuration": [
                {"key": "pushy.region", "name": "Region"},
                {"key": "webhook_secret", "name": "Webhook secret", "kind": "password", "required": true}
            ],
            "resources": [{
                "operation": "listThings", "method": "GET", "path": "/things", "summary": "s",
                "vendor": {"method": "GET", "path": "/things"}
            }],
            "events": {
                "object_type": "things",
                "webhook": {
                    "signature": {
                        "header": "X-Pushy-Signature", "algorithm": "hmac_sha256", "encoding": "hex",
                        "prefix": "sha256=", "secret_field": "webhook_secret",
                        "timestamp_header": "X-Pushy-Timestamp", "signed_content": "{timestamp}.{body}",
                        "tolerance_seconds": 300
                    },
                    "events": "/events", "id": "/id", "object_id": "/thing/id",
                    "event_type": "/type", "event_types": {"thing.made": "CREATED"}
                }
            }
        })
    }

    fn load(definition: Value) -> Result<crate::Connector, crate::ConnectorError> {
        Catalog::embedded_providers(&EndpointRewrites::new())
            .unwrap()
            .load_definition("definition", definition)
    }

    #[test]
    fn a_connector_may_receive_webhook_events_instead_of_polling() {
        let connector = load(pushy()).unwrap();
        let events = connector.def.events.as_ref().unwrap();
        assert!(!events.polls());
        let webhook = events.webhook.as_ref().unwrap();
        assert_eq!(webhook.signature.tolerance_seconds(), 300);
        let mut minimal = pushy();
        minimal["events"]["webhook"] = json!({
            "signature": {"header": "X-Sig", "algorithm": "hmac_sha1", "encoding": "base64", "secret_field": "webhook_secret"},
            "id": "/id"
        });
        let connector = load(minimal).unwrap();
        let signature = &connector
            .def
            .events
            .as_ref()
            .unwrap()
            .webhook
            .as_ref()
            .unwrap()
            .signature;
        assert_eq!(signature.signed_content(), "{body}");
    }

    #[test]
    fn webhook_mistakes_are_named() {
        let with = |change: &dyn Fn(&mut Value)| {
            let mut definition = pushy();
            change(&mut definition);
            definition
        };
        let cases: Vec<(&str, Value, &str, &str)> = vec![
            (
                "an unknown field",
                with(&|d| d["events"]["webhook"]["signature"]["algoritm"] = json!("hmac_sha256")),
                "events.webhook.signature",
                "algoritm",
            ),
            (
                "an unknown algorithm",
                with(&|d| d["events"]["webhook"]["signature"]["algorithm"] = json!("hmac_md5")),
                "events.webhook.signature.algorithm",
                "hmac_md5",
            ),
            (
                "an unknown encoding",
                with(&|d| d["events"]["webhook"]["signature"]["encoding"] = json!("base32")),
                "events.webhook.signature.encoding",
                "base32",
            ),
            (
                "no signature header",
                with(&|d| {
                    d["events"]["webhook"]["signature"]
                        .as_object_mut()
                        .unwrap()
                        .remove("header");
                }),
                "events.webhook.signature",
                "header",
            ),
            (
                "an empty header name",
                with(&|d| d["events"]["webhook"]["signature"]["header"] = json!("")),
                "events.webhook.signature.header",
                "header name is required",
            ),
            (
                "a header name with a space",
                with(&|d| {
                    d["events"]["webhook"]["signature"]["timestamp_header"] = json!("X Time")
                }),
                "events.webhook.signature.timestamp_header",
                "not a header name",
            ),
            (
                "a secret field not declared",
                with(&|d| {
                    d["events"]["webhook"]["signature"]["secret_field"] = json!("hook.secret")
                }),
                "events.webhook.signature.secret_field",
                "\"hook.secret\" is not the key of a configuration field",
            ),
            (
                "a secret field that is not a password",
                with(&|d| {
                    d["events"]["webhook"]["signature"]["secret_field"] = json!("pushy.region")
                }),
                "events.webhook.signature.secret_field",
                "kind: password",
            ),
            (
                "a timestamp that is not signed",
                with(&|d| d["events"]["webhook"]["signature"]["signed_content"] = json!("{body}")),
                "events.webhook.signature.signed_content",
                "{timestamp} exactly once",
            ),
            (
                "a timestamp header without signed content",
                with(&|d| {
                    d["events"]["webhook"]["signature"]
                        .as_object_mut()
                        .unwrap()
                        .remove("signed_content");
                }),
                "events.webhook.signature.signed_content",
                "required with timestamp_header",
            ),
            (
                "a tolerance without a timestamp",
                with(&|d| {
                    let signature = d["events"]["webhook"]["signature"].as_object_mut().unwrap();
                    signature.remove("timestamp_header");
                    signature.remove("signed_content");
                }),
                "events.webhook.signature.tolerance_seconds",
                "only with timestamp_header",
            ),
            (
                "a bad pointer to the events",
                with(&|d| d["events"]["webhook"]["events"] = json!("events")),
                "events.webhook.events",
                "JSON pointer",
            ),
            (
                "a bad pointer to the id",
                with(&|d| d["events"]["webhook"]["id"] = json!("id")),
                "events.webhook.id",
                "JSON pointer",
            ),
            (
                "a bad pointer to the event type",
                with(&|d| d["events"]["webhook"]["event_type"] = json!("type")),
                "events.webhook.event_type",
                "JSON pointer",
            ),
            (
                "event types without the event type's place",
                with(&|d| {
                    d["events"]["webhook"]
                        .as_object_mut()
                        .unwrap()
                        .remove("event_type");
                }),
                "events.webhook.event_types",
                "event_type",
            ),
            (
                "an event type that is not Cloud Elements'",
                with(&|d| d["events"]["webhook"]["event_types"]["thing.made"] = json!("MADE")),
                "events.webhook.event_types",
                "MADE",
            ),
        ];
        for (what, definition, field, words) in cases {
            let message = match load(definition) {
                Ok(_) => panic!("{what}: loaded"),
                Err(error) => error.to_string(),
            };
            assert!(
                message.starts_with(&format!("definition: {field}")),
                "{what}: {message}"
            );
            assert!(
                message.contains(words),
                "{what}: {message:?} lacks {words:?}"
            );
        }
    }
}
