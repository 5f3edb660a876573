//! Loading connector definitions: YAML → provider deep merge → strict typed parse → semantic checks
//! → endpoint rewrites. Every error names the file and the field.

use crate::ConnectorError;
use crate::base_url::BaseUrl;
use crate::body_schema::BodySchema;
use crate::routing::PathTemplate;
use ferry_model::connector::{AuthDef, ConnectorDef, ProviderDef, ResourceDef};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
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

/// Where a connector's definition came from; only user definitions change through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorOrigin {
    /// Compiled into the binary (`connectors/` of the source tree).
    Embedded,
    /// A folder of the operator's connectors directory, read at start.
    Directory,
    /// Sent through `POST /elements` and kept in the database.
    User,
}

/// A loaded connector: its definition plus what its operations need compiled once.
#[derive(Debug)]
pub struct Connector {
    pub def: ConnectorDef,
    pub origin: ConnectorOrigin,
    /// The definition as written (before provider inheritance and endpoint rewrites): what
    /// `export` answers and what is stored.
    pub(crate) source: Value,
    /// Endpoint rewrites, applied to the base URL once an instance's values are filled in.
    pub(crate) rewrites: EndpointRewrites,
    /// `base_url` as written, before rewrites.
    pub(crate) base_url: BaseUrl,
    pub(crate) routes: Vec<(PathTemplate, usize)>,
    /// One per resource, in the order of `def.resources`.
    pub(crate) compiled: Vec<CompiledOperation>,
}

impl Connector {
    pub fn key(&self) -> &str {
        &self.def.key
    }

    /// The definition as written, for export and storage.
    pub fn definition(&self) -> &Value {
        &self.source
    }

    pub fn operation(&self, operation: &str) -> Option<&ResourceDef> {
        self.def.resources.iter().find(|r| r.operation == operation)
    }

    /// The vendor base URL of one instance (variables filled in, rewrites applied).
    pub(crate) fn base_url_for(
        &self,
        instance: &crate::InstanceContext<'_>,
    ) -> Result<String, ConnectorError> {
        self.base_url
            .fill(instance.configuration, instance.secrets, &self.rewrites)
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

/// Every connector ferry knows, by key and by numeric id. A catalog is a value: adding or
/// removing a connector makes a new catalog (the application swaps it in whole).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    by_key: BTreeMap<String, Arc<Connector>>,
    providers: Arc<BTreeMap<String, ProviderDef>>,
    rewrites: EndpointRewrites,
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
        let mut catalog = Catalog {
            by_key: BTreeMap::new(),
            providers: Arc::new(provider_defs),
            rewrites: rewrites.clone(),
        };
        catalog.add_sources(connectors, ConnectorOrigin::Embedded)?;
        Ok(catalog)
    }

    /// Adds the connector folders of `sources` (`<folder>/connector.yaml` and optional
    /// `<folder>/schemas.yaml`), refusing keys and ids the catalog already has.
    fn add_sources(
        &mut self,
        connectors: &[DefinitionSource],
        origin: ConnectorOrigin,
    ) -> Result<(), ConnectorError> {
        let catalog = self;
        let provider_defs = catalog.providers.clone();
        let rewrites = catalog.rewrites.clone();
        let mut ids: BTreeMap<i64, String> = catalog
            .by_key
            .values()
            .map(|c| (c.def.id, c.def.key.clone()))
            .collect();
        let (schema_files, definitions): (Vec<_>, Vec<_>) = connectors
            .iter()
            .partition(|source| source.location.ends_with("/schemas.yaml"));
        for source in definitions {
            let folder = source.location.rsplit_once('/').map(|(folder, _)| folder);
            let schemas = schema_files
                .iter()
                .find(|s| s.location.rsplit_once('/').map(|(f, _)| f) == folder)
                .copied();
            let mut value = parse_yaml(source)?;
            if let Some(schemas) = schemas {
                merge_schema_file(&mut value, schemas, &source.location)?;
            }
            let connector =
                load_connector(&source.location, value, &provider_defs, &rewrites, origin)?;
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
        Ok(())
    }

    /// The embedded catalog plus the connector folders of an operator's directory
    /// (`<dir>/<key>/connector.yaml`, optional `schemas.yaml`).
    pub fn with_directory(mut self, dir: &std::path::Path) -> Result<Catalog, ConnectorError> {
        let mut folders: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| unreadable(dir, e))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect();
        folders.sort();
        let mut sources = Vec::new();
        for folder in folders {
            sources.extend(folder_sources(&folder)?);
        }
        self.add_sources(&sources, ConnectorOrigin::Directory)?;
        Ok(self)
    }

    /// This catalog plus one connector folder (`<folder>/connector.yaml`, optional `schemas.yaml`).
    pub fn with_folder(mut self, folder: &std::path::Path) -> Result<Catalog, ConnectorError> {
        let sources = folder_sources(folder)?;
        if sources.is_empty() {
            return Err(ConnectorError::InvalidDefinition {
                location: folder.display().to_string(),
                message: "holds no connector.yaml".into(),
            });
        }
        self.add_sources(&sources, ConnectorOrigin::Directory)?;
        Ok(self)
    }

    /// The embedded providers without any connector: what a folder is checked against.
    pub fn embedded_providers(rewrites: &EndpointRewrites) -> Result<Catalog, ConnectorError> {
        let mut catalog = Catalog::embedded(rewrites)?;
        catalog.by_key.clear();
        Ok(catalog)
    }

    /// Parses and checks one user definition (JSON or YAML text) without adding it; `location`
    /// names it in errors (`POST /elements`, a file name, …).
    pub fn parse_definition(
        &self,
        location: &str,
        text: &str,
    ) -> Result<Connector, ConnectorError> {
        let value = parse_yaml(&DefinitionSource {
            location: location.to_owned(),
            text: text.to_owned(),
        })?;
        self.load_definition(location, value)
    }

    /// Checks one user definition given as a JSON value, without adding it.
    pub fn load_definition(
        &self,
        location: &str,
        value: Value,
    ) -> Result<Connector, ConnectorError> {
        load_connector(
            location,
            value,
            &self.providers,
            &self.rewrites,
            ConnectorOrigin::User,
        )
    }

    /// A catalog with `connector` added, or replacing the user connector of the same key. Its key
    /// and id must not belong to another connector.
    pub fn with_connector(&self, connector: Connector) -> Result<Catalog, ConnectorError> {
        self.admits(&connector)?;
        let mut next = self.clone();
        next.by_key
            .insert(connector.def.key.clone(), Arc::new(connector));
        Ok(next)
    }

    /// Whether [`Catalog::with_connector`] would take `connector`.
    pub fn admits(&self, connector: &Connector) -> Result<(), ConnectorError> {
        if let Some(existing) = self.by_key.get(&connector.def.key)
            && existing.origin != ConnectorOrigin::User
        {
            return Err(ConnectorError::Conflict(format!(
                "the {} connector is part of this installation and cannot be replaced; clone it under another key",
                connector.def.key
            )));
        }
        if let Some(other) = self
            .by_key
            .values()
            .find(|c| c.def.id == connector.def.id && c.def.key != connector.def.key)
        {
            return Err(ConnectorError::Conflict(format!(
                "id {} is already the id of connector {:?}",
                connector.def.id, other.def.key
            )));
        }
        Ok(())
    }

    /// A catalog without the user connector `key`.
    pub fn without_connector(&self, key: &str) -> Catalog {
        let mut next = self.clone();
        if next
            .by_key
            .get(key)
            .is_some_and(|c| c.origin == ConnectorOrigin::User)
        {
            next.by_key.remove(key);
        }
        next
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

fn unreadable(path: &std::path::Path, error: std::io::Error) -> ConnectorError {
    ConnectorError::InvalidDefinition {
        location: path.display().to_string(),
        message: format!("cannot be read: {error}"),
    }
}

/// A folder's `connector.yaml` and `schemas.yaml`, those that exist.
fn folder_sources(folder: &std::path::Path) -> Result<Vec<DefinitionSource>, ConnectorError> {
    let mut sources = Vec::new();
    for file in ["connector.yaml", "schemas.yaml"] {
        let path = folder.join(file);
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
        sources.push(DefinitionSource {
            location: path.display().to_string(),
            text,
        });
    }
    Ok(sources)
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

pub(crate) fn invalid(location: &str, field: &str, message: &str) -> ConnectorError {
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
    location: &str,
    mut value: Value,
    providers: &BTreeMap<String, ProviderDef>,
    rewrites: &EndpointRewrites,
    origin: ConnectorOrigin,
) -> Result<Connector, ConnectorError> {
    if !value.is_object() {
        return Err(invalid(location, "(top level)", "must be a mapping"));
    }
    let source = value.clone();
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
    crate::definition_checks::validate(location, &def)?;
    let base_url = BaseUrl::parse(&def.base_url).map_err(|e| invalid(location, "base_url", &e))?;
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
        origin,
        source,
        rewrites: rewrites.clone(),
        base_url,
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
            (
                format!(
                    "{ONE_RESOURCE}events: {{object_type: things, polling: {{operation: nope, id: /id, updated: /u}}}}\n"
                ),
                "events.polling.operation",
            ),
            (
                format!(
                    "{ONE_RESOURCE}events: {{object_type: things, polling: {{operation: getThing, id: /id, updated: /u}}}}\n"
                ),
                "without path parameters",
            ),
            (
                format!(
                    "{ONE_RESOURCE}events: {{object_type: things, polling_hook: gmail.history, polling: {{operation: getThing, id: /id, updated: /u}}}}\n"
                ),
                "(not both)",
            ),
            (
                format!(
                    "{ONE_RESOURCE}    response: {{pagination: {{style: page, parameter: page, default_size: 0}}}}\n"
                ),
                "resources[0].response.pagination.default_size",
            ),
            (
                format!("{ONE_RESOURCE}errors: {{rules: [{{vendor_status: 404, code: X, status: 404}}]}}\n"),
                "errors.rules[0].code",
            ),
            (
                ONE_RESOURCE.replace(
                    "required: true}\n",
                    "required: true}\n      - {name: authorization, in: header}\n",
                ),
                "resources[0].parameters[1].name: authorization is a header ferry sets on vendor calls itself",
            ),
            (
                ONE_RESOURCE.replace(
                    "required: true}\n",
                    "required: true}\n      - {name: X-Session, in: header, vendor: Cookie}\n",
                ),
                "resources[0].parameters[1].vendor: Cookie is a header ferry sets",
            ),
            (
                ONE_RESOURCE.replace(
                    "required: true}\n",
                    "required: true}\n      - {name: 'X Tag', in: header}\n",
                ),
                "resources[0].parameters[1].name: \"X Tag\" is not a header name",
            ),
            (
                ONE_RESOURCE.replace(
                    "required: true}\n",
                    "required: true}\n      - {name: X-Filter, in: header, kind: ceql, ceql_fields: {q: q}}\n",
                ),
                "resources[0].parameters[1].kind",
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
