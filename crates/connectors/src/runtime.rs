//! A normalized call (`GET /messages?pageSize=5`) → the vendor call → the normalized reply.
//!
//! The order is fixed, so every operation fails the same way: the path values are checked (404),
//! then the query, the header parameters and the JSON body (400 naming the field; of the
//! caller's headers only the declared ones go on), then the `before` hooks (which may read
//! the vendor), then the vendor request is built (mapping or a `request` hook; 413 for what the
//! vendor would refuse as too large), paced under the vendor's quota, sent through [`Egress`],
//! and the reply is cut at `response.root` and reshaped by a `response` hook.

use crate::ConnectorError;
use crate::catalog::Connector;
use crate::egress::{Credentials, Egress, VendorRequest};
use crate::hooks::{self, HookContext, HookOutput};
use crate::pagination::PagePlan;
use crate::quota::{QuotaDecision, QuotaLimiter};
use crate::vendor_errors::{provider_error, snippet};
use crate::{mapping, response};
use crate::{scripts, vendor_auth};
use bytes::Bytes;
use ferry_model::Secret;
use ferry_model::connector::{
    HttpMethod, ParameterDef, ParameterLocation, QuotaScope, ResourceDef,
};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A call to an instance's normalized API, from the HTTP edge or a flow step.
#[derive(Debug, Clone)]
pub struct HubRequest {
    pub method: HttpMethod,
    /// Normalized path without the `/hubs/{hub}` prefix, e.g. `/messages/abc`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The caller's headers, names in any case. Only those the operation declares as `in: header`
    /// parameters reach the vendor, so a caller can neither replace the connector's credentials
    /// nor slip the vendor a header the definition does not know.
    pub headers: Vec<(String, String)>,
    pub body: HubBody,
    /// Set by callers that may repeat this exact call (a resumed flow step): an operation that
    /// supports it (sending mail) then acts at most once per key.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub enum HubBody {
    Empty,
    Json(Value),
    /// `multipart/form-data` parts, in order.
    Form(Vec<FormPart>),
}

#[derive(Debug, Clone)]
pub struct FormPart {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// What the instance is, as far as a call needs to know.
#[derive(Debug, Clone, Default)]
pub struct InstanceContext<'a> {
    /// ferry's id of the instance, when it has one.
    pub instance_id: Option<i64>,
    /// The provider account (Gmail: its address), once known.
    pub account: Option<&'a str>,
    pub configuration: Option<&'a BTreeMap<String, String>>,
    /// The instance's secret configuration (`password` fields: API keys, passwords).
    pub secrets: Option<&'a BTreeMap<String, Secret>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HubResponse {
    pub status: u16,
    /// The normalized reply, JSON text (kept as bytes: most replies pass through unparsed).
    pub body: Bytes,
    /// For `Elements-Next-Page-Token`; present only when more exists.
    pub next_page_token: Option<String>,
    pub operation: String,
}

impl HubResponse {
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The headers ferry answers this reply with, wherever the call came from: its type and,
    /// when more exists, the Cloud Elements page token.
    pub fn answer_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(token) = &self.next_page_token {
            headers.push(("elements-next-page-token", token.clone()));
        }
        headers
    }
}

/// The operation a method and path name, with the values of its path placeholders.
#[derive(Debug)]
pub struct ResolvedOperation<'c> {
    pub resource: &'c ResourceDef,
    pub path_values: Vec<(String, String)>,
    pub(crate) index: usize,
}

impl<'c> ResolvedOperation<'c> {
    /// The caller's value of each header parameter the operation declares and `given` holds
    /// (names matched in any case, a repeated header joined with ", "), with the parameter.
    pub fn given_header_parameters(
        &self,
        given: &[(String, String)],
    ) -> Vec<(&'c ParameterDef, String)> {
        mapping::given_header_parameters(self.resource, given)
    }
}

/// The vendor's successful answer to one call, unparsed.
struct VendorReply {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone)]
pub struct Runtime {
    egress: Egress,
    quota: QuotaLimiter,
    /// Runs definitions' JavaScript hooks.
    scripts: ferry_sandbox::Sandbox,
}

impl Runtime {
    pub fn new(egress: Egress) -> Self {
        Runtime::with_quota(egress, QuotaLimiter::default())
    }

    /// A runtime whose quota pacing uses `quota` (tests give it a fake clock).
    pub fn with_quota(egress: Egress, quota: QuotaLimiter) -> Self {
        Runtime {
            egress,
            quota,
            scripts: scripts::sandbox(),
        }
    }

    /// Finds the operation for a method and normalized path.
    pub fn resolve<'c>(
        &self,
        connector: &'c Connector,
        method: HttpMethod,
        path: &str,
    ) -> Result<ResolvedOperation<'c>, ConnectorError> {
        for (template, index) in &connector.routes {
            if let Some(path_values) = template.matches(path) {
                let resource = &connector.def.resources[*index];
                if resource.method == method {
                    return Ok(ResolvedOperation {
                        resource,
                        path_values,
                        index: *index,
                    });
                }
            }
        }
        Err(ConnectorError::NoSuchOperation {
            connector: connector.def.key.clone(),
            method: method.as_str().to_owned(),
            path: path.to_owned(),
        })
    }

    pub async fn invoke<C: Credentials>(
        &self,
        connector: &Connector,
        instance: &InstanceContext<'_>,
        credentials: &C,
        request: &HubRequest,
    ) -> Result<HubResponse, ConnectorError> {
        let resolved = self.resolve(connector, request.method, &request.path)?;
        let resource = resolved.resource;
        let compiled = &connector.compiled[resolved.index];
        let path_values = resolved.path_values;
        mapping::check_path_values(resource, compiled, &path_values)?;
        mapping::vendor_query(resource, compiled, &request.query)?;
        mapping::vendor_headers(resource, compiled, &request.headers)?;
        if let (HubBody::Json(body), Some(schema)) = (&request.body, &compiled.body_schema) {
            schema.check(body)?;
        }
        let context = HookContext {
            runtime: self,
            connector,
            instance,
            credentials,
            path_values: &path_values,
        };
        let mut request = Cow::Borrowed(request);
        for name in &resource.hooks.before {
            hooks::run_before(name, &context, request.to_mut()).await?;
        }
        if let Some(name) = &resource.hooks.pre_request {
            let pre_request = PreRequest {
                connector,
                instance,
                resource,
                name,
                path_values: &path_values,
            };
            self.run_pre_request(&pre_request, request.to_mut()).await?;
        }
        // Again after the hooks, which may have replaced header values.
        let declared_headers = mapping::vendor_headers(resource, compiled, &request.headers)?;
        let mut query = mapping::vendor_query(resource, compiled, &request.query)?;
        let pages = resource
            .response
            .pagination
            .as_ref()
            .map(|def| PagePlan::new(def, &request.query))
            .transpose()?;
        let base_url = connector.base_url_for(instance)?;
        let (auth_headers, auth_query) = vendor_auth::material(&connector.def.auth, instance)?;
        let url = match pages.as_ref().and_then(|plan| plan.link.as_deref()) {
            Some(link) => {
                query.clear();
                format!("{}{link}", origin_of(&base_url))
            }
            None => {
                if let Some(plan) = &pages {
                    query.extend(plan.query.iter().cloned());
                }
                format!(
                    "{}{}",
                    base_url.trim_end_matches('/'),
                    compiled.vendor_path.fill(&path_values)
                )
            }
        };
        query.extend(auth_query);
        let bodies: Vec<(Option<String>, Option<Bytes>)> = match &resource.hooks.request {
            Some(name) => match hooks::run_request(name, &context, &request).await? {
                HookOutput::Upload { content_type, body } => vec![(Some(content_type), Some(body))],
                HookOutput::AlreadyDone(reply) => {
                    return Ok(HubResponse {
                        status: 200,
                        body: mapping::json_bytes(&reply),
                        next_page_token: None,
                        operation: resource.operation.clone(),
                    });
                }
            },
            None => mapping::json_bodies(resource, &path_values, &request.body)?
                .into_iter()
                .map(|body| match body {
                    Some(value) => (
                        Some("application/json".to_owned()),
                        Some(mapping::json_bytes(&value)),
                    ),
                    None => (None, None),
                })
                .collect(),
        };
        let mut reply = None;
        for (content_type, body) in bodies {
            let vendor = VendorRequest {
                method: method(resource.vendor.method),
                url: url.clone(),
                query: query.clone(),
                content_type,
                body,
                declared_headers: declared_headers.clone(),
                headers: auth_headers.clone(),
            };
            reply = Some(
                self.send(connector, instance, credentials, resource, &vendor)
                    .await?,
            );
        }
        let VendorReply {
            status,
            headers,
            body,
        } = reply.expect("at least one vendor call is built");
        let shaped =
            response::shape(body.clone(), &resource.response).map_err(|e| not_json(&e, &body))?;
        let mut next_page_token = shaped.next_page_token;
        let fields = &resource.response.fields;
        let post = resource.hooks.post_request.as_deref();
        let body = if resource.hooks.response.is_some()
            || !fields.is_empty()
            || pages.is_some()
            || post.is_some()
        {
            let mut value: Value =
                serde_json::from_slice(&shaped.body).map_err(|e| not_json(&e, &body))?;
            if let Some(plan) = &pages {
                let raw: Value = if body.iter().all(u8::is_ascii_whitespace) {
                    Value::Null
                } else {
                    serde_json::from_slice(&body).map_err(|e| not_json(&e, &body))?
                };
                next_page_token = plan.next_token(&raw, &value, &headers, &base_url);
            }
            if let Some(name) = &resource.hooks.response {
                value = hooks::run_response(name, value)?;
            }
            if !fields.is_empty() {
                value = mapping::map_reply_fields(fields, value);
            }
            if let Some(name) = post {
                let source = &connector.def.scripts[name];
                value = scripts::run(
                    &self.scripts,
                    name,
                    source,
                    json!({"status": status, "body": value}),
                    script_config(instance),
                )
                .await?;
            }
            mapping::json_bytes(&value)
        } else {
            shaped.body
        };
        Ok(HubResponse {
            status,
            body,
            next_page_token,
            operation: resource.operation.clone(),
        })
    }

    /// Calls one operation by name with no input but path values (e.g. the identity operation).
    pub async fn invoke_operation<C: Credentials>(
        &self,
        connector: &Connector,
        instance: &InstanceContext<'_>,
        credentials: &C,
        operation: &str,
    ) -> Result<HubResponse, ConnectorError> {
        let resource =
            connector
                .operation(operation)
                .ok_or_else(|| ConnectorError::NoSuchOperation {
                    connector: connector.def.key.clone(),
                    method: "-".into(),
                    path: operation.to_owned(),
                })?;
        let request = HubRequest {
            method: resource.method,
            path: resource.path.clone(),
            query: Vec::new(),
            headers: Vec::new(),
            body: HubBody::Empty,
            idempotency_key: None,
        };
        self.invoke(connector, instance, credentials, &request)
            .await
    }

    /// One operation's plain vendor call for a hook: mapped path and query, no body, no hooks;
    /// answers the vendor's whole JSON reply.
    pub(crate) async fn read_operation<C: Credentials>(
        &self,
        context: &HookContext<'_, C>,
        operation: &str,
        path_values: &[(String, String)],
        query: &[(String, String)],
    ) -> Result<Value, ConnectorError> {
        self.read_page(context, operation, path_values, query, None)
            .await
            .map(|(reply, _)| reply)
    }

    /// [`Runtime::read_operation`] for one page of a paged operation: `next_page` is a token
    /// this answered before; answers the whole reply and the next page's token, if any.
    pub(crate) async fn read_page<C: Credentials>(
        &self,
        context: &HookContext<'_, C>,
        operation: &str,
        path_values: &[(String, String)],
        query: &[(String, String)],
        next_page: Option<&str>,
    ) -> Result<(Value, Option<String>), ConnectorError> {
        let connector = context.connector;
        let index = connector.operation_index(operation).ok_or_else(|| {
            ConnectorError::InvalidDefinition {
                location: format!("{}: a hook", connector.def.key),
                message: format!("reads operation {operation:?}, which does not exist"),
            }
        })?;
        let resource = &connector.def.resources[index];
        let compiled = &connector.compiled[index];
        mapping::check_path_values(resource, compiled, path_values)?;
        let (headers, auth_query) = vendor_auth::material(&connector.def.auth, context.instance)?;
        let mut query = mapping::vendor_query(resource, compiled, query)?;
        // A hook's read has no caller: header parameters get their defaults (or are missing).
        let declared_headers = mapping::vendor_headers(resource, compiled, &[])?;
        let token_query: Vec<(String, String)> = next_page
            .map(|token| vec![("nextPage".to_owned(), token.to_owned())])
            .unwrap_or_default();
        let pages = resource
            .response
            .pagination
            .as_ref()
            .map(|def| PagePlan::new(def, &token_query))
            .transpose()?;
        let base_url = connector.base_url_for(context.instance)?;
        let url = match pages.as_ref().and_then(|plan| plan.link.as_deref()) {
            Some(link) => {
                query.clear();
                format!("{}{link}", origin_of(&base_url))
            }
            None => {
                if let Some(plan) = &pages {
                    query.extend(plan.query.iter().cloned());
                }
                format!(
                    "{}{}",
                    base_url.trim_end_matches('/'),
                    compiled.vendor_path.fill(path_values)
                )
            }
        };
        query.extend(auth_query);
        let vendor = VendorRequest {
            method: method(resource.vendor.method),
            url,
            query,
            content_type: None,
            body: None,
            declared_headers,
            headers,
        };
        let reply = self
            .send(
                connector,
                context.instance,
                context.credentials,
                resource,
                &vendor,
            )
            .await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok((Value::Object(Default::default()), None));
        }
        let value: Value =
            serde_json::from_slice(&reply.body).map_err(|e| not_json(&e, &reply.body))?;
        let next = pages.and_then(|plan| {
            let root = resource.response.root.as_deref().unwrap_or("");
            let items = value.pointer(root).cloned().unwrap_or(Value::Null);
            plan.next_token(&value, &items, &reply.headers, &base_url)
        });
        Ok((value, next))
    }

    /// Paces the call under the connector's quota, sends it and turns failures into errors.
    async fn send<C: Credentials>(
        &self,
        connector: &Connector,
        instance: &InstanceContext<'_>,
        credentials: &C,
        resource: &ResourceDef,
        vendor: &VendorRequest,
    ) -> Result<VendorReply, ConnectorError> {
        if let Some(quota) = self
            .quota
            .budget(connector.key(), connector.def.quota.as_ref())
        {
            let holder = match (quota.per, instance.account, instance.instance_id) {
                (QuotaScope::Account, Some(account), _) => format!("{}:{account}", connector.key()),
                (_, _, Some(id)) => format!("{}#{id}", connector.key()),
                (_, Some(account), None) => format!("{}:{account}", connector.key()),
                (_, None, None) => connector.key().to_owned(),
            };
            match self.quota.reserve(&holder, resource.quota_cost, &quota) {
                QuotaDecision::Wait(wait) if wait.is_zero() => {}
                QuotaDecision::Wait(wait) => {
                    tracing::debug!(
                        operation = %resource.operation,
                        wait_ms = wait.as_millis() as u64,
                        "pacing under the vendor's quota"
                    );
                    tokio::time::sleep(wait).await;
                }
                QuotaDecision::Refused(wait) => {
                    // Rounded up: coming back early would only be refused again.
                    let seconds = (wait.as_secs_f64().ceil() as u64).max(1);
                    return Err(ConnectorError::RateLimited {
                        message: format!(
                            "the {} quota of this account ({} units per minute) is spent for the next {seconds} s; retry later",
                            connector.def.name, quota.units_per_minute
                        ),
                        retry_after_secs: seconds,
                    });
                }
            }
        }
        let response = self.egress.send(vendor, credentials).await?;
        if !response.status.is_success() {
            return Err(provider_error(
                response.status.as_u16(),
                &response.headers,
                &response.body,
                &connector.def.errors,
            ));
        }
        Ok(VendorReply {
            status: response.status.as_u16(),
            headers: response.headers,
            body: response.body,
        })
    }
}

fn not_json(error: &serde_json::Error, body: &[u8]) -> ConnectorError {
    ConnectorError::Provider {
        status: 502,
        message: format!("the provider's reply is not JSON: {error}"),
        provider_message: Some(snippet(body)),
        retry_after_secs: None,
    }
}

impl Runtime {
    /// The `pre_request` script: it sees the checked request and may replace its query, body
    /// and declared header values.
    async fn run_pre_request(
        &self,
        hook: &PreRequest<'_>,
        request: &mut HubRequest,
    ) -> Result<(), ConnectorError> {
        let name = hook.name;
        let source = &hook.connector.def.scripts[name];
        let query: serde_json::Map<String, Value> = request
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let body = match &request.body {
            HubBody::Json(value) => value.clone(),
            HubBody::Empty | HubBody::Form(_) => Value::Null,
        };
        let trigger = json!({
            "method": request.method.as_str(),
            "path": request.path,
            "pathValues": hook.path_values
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<serde_json::Map<String, Value>>(),
            "query": query,
            "headers": mapping::header_values_with_defaults(hook.resource, &request.headers),
            "body": body,
        });
        let changed = scripts::run(
            &self.scripts,
            name,
            source,
            trigger,
            script_config(hook.instance),
        )
        .await?;
        let wrong = |what: &str| ConnectorError::ScriptFailed {
            script: name.to_owned(),
            message: format!("done() must be given {{query, headers, body}}; {what}"),
        };
        let Value::Object(changed) = changed else {
            return Err(wrong("it was given something else"));
        };
        if let Some(query) = changed.get("query") {
            let Value::Object(query) = query else {
                return Err(wrong("query is not an object"));
            };
            request.query = query
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect();
        }
        if let Some(headers) = changed.get("headers") {
            let Value::Object(headers) = headers else {
                return Err(wrong("headers is not an object"));
            };
            let declared: Vec<&str> = hook
                .resource
                .parameters
                .iter()
                .filter(|p| p.location == ParameterLocation::Header)
                .map(|p| p.name.as_str())
                .collect();
            // Only declared headers: a script can no more add a header than a caller can, so
            // the definition's parameters stay the whole list of what reaches the vendor.
            if let Some(undeclared) = headers
                .keys()
                .find(|given| !declared.iter().any(|d| d.eq_ignore_ascii_case(given)))
            {
                return Err(wrong(&format!(
                    "headers.{undeclared} is not a header parameter of this operation (declared: {})",
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                )));
            }
            request
                .headers
                .retain(|(given, _)| !declared.iter().any(|d| d.eq_ignore_ascii_case(given)));
            request.headers.extend(
                headers
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), value_text(v))),
            );
        }
        if let Some(body) = changed.get("body") {
            request.body = match body {
                Value::Null => HubBody::Empty,
                other => HubBody::Json(other.clone()),
            };
        }
        Ok(())
    }
}

/// What a `pre_request` script runs for.
struct PreRequest<'a> {
    connector: &'a Connector,
    instance: &'a InstanceContext<'a>,
    resource: &'a ResourceDef,
    name: &'a str,
    path_values: &'a [(String, String)],
}

/// A value a script gave, as the text a query or header carries.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a script sees as `config`: the instance's plain configuration (never its secrets).
fn script_config(instance: &InstanceContext<'_>) -> Value {
    Value::Object(
        instance
            .configuration
            .map(|values| {
                values
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|parsed| parsed.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned())
}

fn method(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
    }
}
