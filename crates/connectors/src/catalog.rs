//! Loading connector definitions: YAML → provider deep merge → strict typed parse → semantic checks
//! → endpoint rewrites. Every error names the file and the field.

use crate::body_schema::BodySchema;
use crate::hooks::{self, Stage};
use crate::routing::PathTemplate;
use crate::{ConnectorError, ceql};
use ferry_model::connector::{
    AuthDef, ConnectorDef, ParameterKind, ParameterLocation, ProviderDef, ResourceDef,
};
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_definitions.rs"));
}

/// One definition file: where it came from (for error messages) and its text.
#[derive(Debug, Clone)]
pub struct DefinitionSource {
    pub location: String,
    pub text: String,
}

/// Origin rewrites applied to every URL of every definition at load time, so that configuration —
/// not the definitions — decides where a provider lives (the sandbox points Google at its emulator).
#[derive(Debug, Clone, Default)]
pub struct EndpointRewrites {
    rules: Vec<(String, String)>,
}

impl EndpointRewrites {
    pub fn new() -> Self {
        EndpointRewrites::default()
    }

    /// Sends everything addressed to `from` (an origin such as `https://gmail.googleapis.com`) to `to`.
    pub fn add(&mut self, from: &str, to: &str) {
        self.rules.push((
            from.trim_end_matches('/').to_owned(),
            to.trim_end_matches('/').to_owned(),
        ));
    }

    /// Parses `FROM=TO` pairs separated by commas.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut rewrites = EndpointRewrites::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((from, to)) = pair.split_once('=') else {
                return Err(format!(
                    "endpoint rewrite {pair:?} is not of the form FROM=TO"
                ));
            };
            for origin in [from, to] {
                let url = url::Url::parse(origin).map_err(|e| {
                    format!("endpoint rewrite {pair:?}: {origin:?} is not a URL ({e})")
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!(
                        "endpoint rewrite {pair:?}: {origin:?} is not http(s)"
                    ));
                }
            }
            rewrites.add(from, to);
        }
        Ok(rewrites)
    }

    pub fn apply(&self, url: &str) -> String {
        for (from, to) in &self.rules {
            if let Some(rest) = url.strip_prefix(from.as_str())
                && (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
            {
                return format!("{to}{rest}");
            }
        }
        url.to_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A loaded connector: its definition plus what its operations need compiled once.
#[derive(Debug)]
pub struct Connector {
    pub def: ConnectorDef,
    pub(crate) routes: Vec<(PathTemplate, usize)>,
    /// One per resource, in the order of `def.resources`.
    pub(crate) compiled: Vec<CompiledOperation>,
}

impl Connector {
    pub fn key(&self) -> &str {
        &self.def.key
    }

    pub fn operation(&self, operation: &str) -> Option<&ResourceDef> {
        self.def.resources.iter().find(|r| r.operation == operation)
    }

    pub(crate) fn operation_index(&self, operation: &str) -> Option<usize> {
        self.def
            .resources
            .iter()
            .position(|r| r.operation == operation)
    }
}

/// An operation's vendor path, parameter patterns and body schema, compiled at load time.
#[derive(Debug)]
pub(crate) struct CompiledOperation {
    pub vendor_path: PathTemplate,
    patterns: Vec<(String, Regex)>,
    pub body_schema: Option<BodySchema>,
}

impl CompiledOperation {
    pub(crate) fn pattern(&self, parameter: &str) -> Option<&Regex> {
        self.patterns
            .iter()
            .find(|(name, _)| name == parameter)
            .map(|(_, regex)| regex)
    }
}

/// Every connector ferry knows, by key and by numeric id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    by_key: BTreeMap<String, Arc<Connector>>,
}

impl Catalog {
    /// The definitions compiled into this binary.
    pub fn embedded(rewrites: &EndpointRewrites) -> Result<Catalog, ConnectorError> {
        let providers = embedded::PROVIDERS
            .iter()
            .map(|(location, text)| DefinitionSource {
                location: (*location).to_owned(),
                text: (*text).to_owned(),
            })
            .collect::<Vec<_>>();
        let connectors = embedded::CONNECTORS
            .iter()
            .map(|(location, text)| DefinitionSource {
                location: (*location).to_owned(),
                text: (*text).to_owned(),
            })
            .collect::<Vec<_>>();
        Catalog::from_sources(&providers, &connectors, rewrites)
    }

    pub fn from_sources(
        providers: &[DefinitionSource],
        connectors: &[DefinitionSource],
        rewrites: &EndpointRewrites,
    ) -> Result<Catalog, ConnectorError> {
        let mut provider_defs = BTreeMap::new();
        for source in providers {
            let value = parse_yaml(source)?;
            let def: ProviderDef = typed(&source.location, value)?;
            if !def.auth.is_object() {
                return Err(invalid(&source.location, "auth", "must be a mapping"));
            }
            provider_defs.insert(def.key.clone(), def);
        }
        let mut catalog = Catalog::default();
        let mut ids = BTreeMap::new();
        let (schema_files, definitions): (Vec<_>, Vec<_>) = connectors
            .iter()
            .partition(|source| source.location.ends_with("/schemas.yaml"));
        for source in definitions {
            let folder = source.location.rsplit_once('/').map(|(folder, _)| folder);
            let schemas = schema_files
                .iter()
                .find(|s| s.location.rsplit_once('/').map(|(f, _)| f) == folder)
                .copied();
            let connector = load_connector(source, schemas, &provider_defs, rewrites)?;
            if let Some(other) = ids.insert(connector.def.id, connector.def.key.clone()) {
                return Err(invalid(
                    &source.location,
                    "id",
                    &format!(
                        "{} is already the id of connector {other:?}",
                        connector.def.id
                    ),
                ));
            }
            if catalog.by_key.contains_key(&connector.def.key) {
                return Err(invalid(
                    &source.location,
                    "key",
                    &format!("{:?} is defined twice", connector.def.key),
                ));
            }
            catalog
                .by_key
                .insert(connector.def.key.clone(), Arc::new(connector));
        }
        Ok(catalog)
    }

    /// By key (`gmail`) or numeric id (`6409`), as Cloud Elements accepted both.
    pub fn get(&self, key_or_id: &str) -> Option<&Arc<Connector>> {
        self.by_key.get(key_or_id).or_else(|| {
            let id: i64 = key_or_id.parse().ok()?;
            self.by_key.values().find(|c| c.def.id == id)
        })
    }

    pub fn connectors(&self) -> impl Iterator<Item = &Arc<Connector>> {
        self.by_key.values()
    }
}

fn parse_yaml(source: &DefinitionSource) -> Result<Value, ConnectorError> {
    yaml_serde::from_str::<Value>(&source.text).map_err(|e| ConnectorError::InvalidDefinition {
        location: source.location.clone(),
        message: format!("not valid YAML: {e}"),
    })
}

fn typed<T: serde::de::DeserializeOwned>(
    location: &str,
    value: Value,
) -> Result<T, ConnectorError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ConnectorError::InvalidDefinition {
            location: if path == "." {
                location.to_owned()
            } else {
                format!("{location}: {path}")
            },
            message: e.into_inner().to_string(),
        }
    })
}

fn invalid(location: &str, field: &str, message: &str) -> ConnectorError {
    ConnectorError::InvalidDefinition {
        location: format!("{location}: {field}"),
        message: message.to_owned(),
    }
}

/// Merges `base` under `over`: mappings merge key by key, recursively; anything else in `over` wins.
fn deep_merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            let mut merged = base.clone();
            for (key, value) in over {
                let next = match merged.get(key) {
                    Some(existing) => deep_merge(existing, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), next);
            }
            Value::Object(merged)
        }
        (_, over) => over.clone(),
    }
}

fn load_connector(
    source: &DefinitionSource,
    schemas: Option<&DefinitionSource>,
    providers: &BTreeMap<String, ProviderDef>,
    rewrites: &EndpointRewrites,
) -> Result<Connector, ConnectorError> {
    let location = source.location.as_str();
    let mut value = parse_yaml(source)?;
    if let Some(schemas) = schemas {
        merge_schema_file(&mut value, schemas, location)?;
    }
    if let Some(provider_key) = value.get("provider").and_then(Value::as_str) {
        let provider = providers.get(provider_key).ok_or_else(|| {
            invalid(
                location,
                "provider",
                &format!(
                    "unknown provider {provider_key:?} (known: {})",
                    providers.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let own_auth = value
            .get("auth")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let merged = deep_merge(&provider.auth, &own_auth);
        value
            .as_object_mut()
            .ok_or_else(|| invalid(location, "(top level)", "must be a mapping"))?
            .insert("auth".into(), merged);
    }
    let mut def: ConnectorDef = typed(location, value)?;
    validate(location, &def)?;
    apply_rewrites(&mut def, rewrites);
    let mut routes = Vec::with_capacity(def.resources.len());
    let mut compiled = Vec::with_capacity(def.resources.len());
    for (index, resource) in def.resources.iter().enumerate() {
        let template = PathTemplate::parse(&resource.path)
            .map_err(|e| invalid(location, &format!("resources[{index}].path"), &e))?;
        routes.push((template, index));
        compiled.push(compile_operation(location, index, resource, &def.schemas)?);
    }
    // Literal segments outrank placeholders: `/messages/multiple` before `/messages/{id}`.
    routes.sort_by(|(a, _), (b, _)| a.specificity().cmp(&b.specificity()).reverse());
    Ok(Connector {
        def,
        routes,
        compiled,
    })
}

/// Adds the named schemas of a folder's `schemas.yaml` to the definition's own.
fn merge_schema_file(
    definition: &mut Value,
    schemas: &DefinitionSource,
    location: &str,
) -> Result<(), ConnectorError> {
    let Value::Object(named) = parse_yaml(schemas)? else {
        return Err(invalid(
            &schemas.location,
            "(top level)",
            "must map schema names to schemas",
        ));
    };
    let fields = definition
        .as_object_mut()
        .ok_or_else(|| invalid(location, "(top level)", "must be a mapping"))?;
    let own = fields
        .entry("schemas")
        .or_insert_with(|| Value::Object(Default::default()));
    let Value::Object(own) = own else {
        return Err(invalid(location, "schemas", "must be a mapping"));
    };
    for (name, schema) in named {
        if own.contains_key(&name) {
            return Err(invalid(
                &schemas.location,
                &name,
                "is also defined in the connector's own schemas",
            ));
        }
        own.insert(name, schema);
    }
    Ok(())
}

fn compile_operation(
    location: &str,
    index: usize,
    resource: &ResourceDef,
    schemas: &BTreeMap<String, Value>,
) -> Result<CompiledOperation, ConnectorError> {
    let at = |field: &str| format!("resources[{index}].{field}");
    let vendor_path = PathTemplate::parse(&resource.vendor.path)
        .map_err(|e| invalid(location, &at("vendor.path"), &e))?;
    let mut patterns = Vec::new();
    for (p_index, parameter) in resource.parameters.iter().enumerate() {
        if let Some(pattern) = &parameter.pattern {
            let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                invalid(
                    location,
                    &at(&format!("parameters[{p_index}].pattern")),
                    &e.to_string(),
                )
            })?;
            patterns.push((parameter.name.clone(), regex));
        }
    }
    let body_schema = resource
        .request_body
        .as_ref()
        .and_then(|body| body.schema.as_ref())
        .map(|schema| BodySchema::compile(schema, schemas))
        .transpose()
        .map_err(|e| invalid(location, &at("request_body.schema"), &e))?;
    Ok(CompiledOperation {
        vendor_path,
        patterns,
        body_schema,
    })
}

fn apply_rewrites(def: &mut ConnectorDef, rewrites: &EndpointRewrites) {
    def.base_url = rewrites.apply(&def.base_url);
    if let AuthDef::Oauth2(oauth) = &mut def.auth {
        oauth.authorization_url = rewrites.apply(&oauth.authorization_url);
        oauth.token_url = rewrites.apply(&oauth.token_url);
        oauth.revoke_url = oauth.revoke_url.as_deref().map(|u| rewrites.apply(u));
    }
}

fn check_url(location: &str, field: &str, value: &str) -> Result<(), ConnectorError> {
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

fn check_pointer(location: &str, field: &str, pointer: &str) -> Result<(), ConnectorError> {
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

fn validate(location: &str, def: &ConnectorDef) -> Result<(), ConnectorError> {
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
    check_url(location, "base_url", &def.base_url)?;
    if let AuthDef::Oauth2(oauth) = &def.auth {
        check_url(location, "auth.authorization_url", &oauth.authorization_url)?;
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
        if !hooks::exists(hooks::Stage::Events, &events.polling_hook) {
            return Err(invalid(
                location,
                "events.polling_hook",
                &format!(
                    "unknown hook {:?} (known: {})",
                    events.polling_hook,
                    hooks::names(hooks::Stage::Events).join(", ")
                ),
            ));
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
    use super::*;

    fn provider() -> DefinitionSource {
        DefinitionSource {
            location: "providers/acme.yaml".into(),
            text: "key: acme\nname: Acme\nauth:\n  type: oauth2\n  authorization_url: https://id.acme.test/auth\n  token_url: https://id.acme.test/token\n  authorization_params: {access_type: offline}\n".into(),
        }
    }

    fn connector(body: &str) -> DefinitionSource {
        DefinitionSource {
            location: "connectors/acme/connector.yaml".into(),
            text: format!(
                "key: acme\nid: 1\nname: Acme\ndescription: d\nhub: general\nprovider: acme\nbase_url: https://api.acme.test\nauth:\n  type: oauth2\n  default_scopes: [read]\n{body}"
            ),
        }
    }

    const ONE_RESOURCE: &str = "resources:\n  - operation: getThing\n    method: GET\n    path: /things/{id}\n    summary: s\n    parameters:\n      - {name: id, in: path, required: true}\n    vendor: {method: GET, path: \"/v1/things/{id}\"}\n";

    fn load(body: &str) -> Result<Catalog, ConnectorError> {
        Catalog::from_sources(&[provider()], &[connector(body)], &EndpointRewrites::new())
    }

    fn error(body: &str) -> String {
        load(body).unwrap_err().to_string()
    }

    #[test]
    fn the_embedded_catalog_loads() {
        let catalog = Catalog::embedded(&EndpointRewrites::new()).unwrap();
        let gmail = catalog.get("gmail").unwrap();
        assert_eq!(catalog.get("6409").unwrap().key(), "gmail");
        let oauth = gmail.def.oauth2().unwrap();
        assert_eq!(oauth.token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(oauth.authorization_params["access_type"], "offline");
    }

    #[test]
    fn provider_auth_is_merged_under_the_connectors_own() {
        let catalog = load(ONE_RESOURCE).unwrap();
        let oauth = catalog.get("acme").unwrap().def.oauth2().unwrap().clone();
        assert_eq!(oauth.token_url, "https://id.acme.test/token");
        assert_eq!(oauth.default_scopes, ["read"]);
        assert_eq!(oauth.authorization_params["access_type"], "offline");
    }

    #[test]
    fn rewrites_move_every_endpoint_of_a_provider() {
        let mut rewrites = EndpointRewrites::new();
        rewrites.add("https://id.acme.test", "http://127.0.0.1:9");
        rewrites.add("https://api.acme.test/", "http://127.0.0.1:9");
        let catalog =
            Catalog::from_sources(&[provider()], &[connector(ONE_RESOURCE)], &rewrites).unwrap();
        let def = &catalog.get("acme").unwrap().def;
        assert_eq!(def.base_url, "http://127.0.0.1:9");
        assert_eq!(def.oauth2().unwrap().token_url, "http://127.0.0.1:9/token");
        assert_eq!(
            rewrites.apply("https://id.acme.test.evil.example/x"),
            "https://id.acme.test.evil.example/x"
        );
    }

    #[test]
    fn rewrite_specs_are_checked() {
        assert!(
            EndpointRewrites::parse(
                "https://a.test=http://127.0.0.1:1, https://b.test=http://127.0.0.1:2"
            )
            .is_ok()
        );
        assert!(
            EndpointRewrites::parse("https://a.test")
                .unwrap_err()
                .contains("FROM=TO")
        );
        assert!(
            EndpointRewrites::parse("ftp://a=http://b")
                .unwrap_err()
                .contains("not http")
        );
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let message = error(&ONE_RESOURCE.replace("summary: s", "summary: s\n    sumary: typo"));
        assert!(
            message.starts_with("connectors/acme/connector.yaml: resources[0]"),
            "{message}"
        );
        assert!(message.contains("sumary"), "{message}");
    }

    #[test]
    fn semantic_mistakes_are_named() {
        let cases = [
            (
                ONE_RESOURCE.replace("\"/v1/things/{id}\"", "\"/v1/things/{thing}\""),
                "resources[0].vendor.path",
            ),
            (
                ONE_RESOURCE.replace(
                    "      - {name: id, in: path, required: true}\n",
                    "      - {name: x, in: query}\n",
                ),
                "path placeholder {id}",
            ),
            (
                ONE_RESOURCE.replace("vendor:", "hooks: {request: nope.hook}\n    vendor:"),
                "unknown request hook \"nope.hook\"",
            ),
            (
                ONE_RESOURCE.replace("vendor:", "hooks: {response: gmail.send_message}\n    vendor:"),
                "resources[0].hooks.response",
            ),
            (
                ONE_RESOURCE.replace(
                    "required: true}",
                    "required: true, pattern: '[a-f'}",
                ),
                "resources[0].parameters[0].pattern",
            ),
            (
                ONE_RESOURCE.replace(
                    "summary: s\n",
                    "summary: s\n    request_body: {content: [application/json], schema: {$ref: '#/schemas/Nope'}}\n",
                ),
                "resources[0].request_body.schema",
            ),
            (
                format!("{ONE_RESOURCE}    response: {{root: messages}}\n"),
                "resources[0].response.root",
            ),
            (
                format!("{ONE_RESOURCE}identity: {{operation: nope, account: /a}}\n"),
                "identity.operation",
            ),
            (
                format!("{ONE_RESOURCE}{}", ONE_RESOURCE.replace("resources:\n", "")),
                "appears twice",
            ),
        ];
        for (body, expected) in cases {
            let message = error(&body);
            assert!(
                message.contains(expected),
                "expected {expected:?} in {message:?}"
            );
        }
    }

    #[test]
    fn a_folders_schemas_file_joins_the_definitions_schemas() {
        let schemas = |text: &str| DefinitionSource {
            location: "connectors/acme/schemas.yaml".into(),
            text: text.into(),
        };
        let body = ONE_RESOURCE.replace(
            "summary: s\n",
            "summary: s\n    request_body: {content: [application/json], schema: {$ref: '#/schemas/Thing'}}\n",
        );
        let catalog = Catalog::from_sources(
            &[provider()],
            &[
                connector(&body),
                schemas("Thing: {type: object, required: [name]}\n"),
            ],
            &EndpointRewrites::new(),
        )
        .unwrap();
        assert!(
            catalog
                .get("acme")
                .unwrap()
                .def
                .schemas
                .contains_key("Thing")
        );
        let twice = Catalog::from_sources(
            &[provider()],
            &[
                connector(&format!("{body}schemas: {{Thing: {{type: object}}}}\n")),
                schemas("Thing: {type: object}\n"),
            ],
            &EndpointRewrites::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(twice.contains("schemas.yaml: Thing"), "{twice}");
    }

    #[test]
    fn a_missing_auth_endpoint_is_named() {
        let source = DefinitionSource {
            location: "connectors/solo/connector.yaml".into(),
            text: format!(
                "key: solo\nid: 2\nname: S\ndescription: d\nhub: general\nbase_url: https://a.test\nauth:\n  type: oauth2\n  authorization_url: https://a.test/auth\n{ONE_RESOURCE}"
            ),
        };
        let message = Catalog::from_sources(&[], &[source], &EndpointRewrites::new())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("connectors/solo/connector.yaml"),
            "{message}"
        );
        assert!(message.contains("token_url"), "{message}");
    }

    #[test]
    fn an_unknown_provider_is_named() {
        let message =
            Catalog::from_sources(&[], &[connector(ONE_RESOURCE)], &EndpointRewrites::new())
                .unwrap_err()
                .to_string();
        assert!(message.contains("unknown provider \"acme\""), "{message}");
    }
}
