//! A normalized call (`GET /messages?pageSize=5`) → the vendor call → the normalized reply.
//!
//! The order is fixed, so every operation fails the same way: the path values are checked (404),
//! then the query and the JSON body (400 naming the field), then the `before` hooks (which may read
//! the vendor), then the vendor request is built (mapping or a `request` hook; 413 for what the
//! vendor would refuse as too large), paced under the vendor's quota, sent through [`Egress`],
//! and the reply is cut at `response.root` and reshaped by a `response` hook.

use crate::ConnectorError;
use crate::catalog::{CompiledOperation, Connector};
use crate::egress::{Credentials, Egress, VendorRequest};
use crate::hooks::{self, HookContext, HookOutput};
use crate::quota::{QuotaDecision, QuotaLimiter};
use crate::vendor_errors::{provider_error, snippet};
use crate::{mapping, response};
use bytes::Bytes;
use ferry_model::connector::{HttpMethod, QuotaScope, ResourceDef};
use reqwest::Method;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A call to an instance's normalized API, from the HTTP edge or a flow step.
#[derive(Debug, Clone)]
pub struct HubRequest {
    pub method: HttpMethod,
    /// Normalized path without the `/hubs/{hub}` prefix, e.g. `/messages/abc`.
    pub path: String,
    pub query: Vec<(String, String)>,
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
}

/// The operation a method and path name, with the values of its path placeholders.
#[derive(Debug)]
pub struct ResolvedOperation<'c> {
    pub resource: &'c ResourceDef,
    pub path_values: Vec<(String, String)>,
    pub(crate) index: usize,
}

/// The vendor's successful answer to one call, unparsed.
struct VendorReply {
    status: u16,
    body: Bytes,
}

#[derive(Clone)]
pub struct Runtime {
    egress: Egress,
    quota: QuotaLimiter,
}

impl Runtime {
    pub fn new(egress: Egress) -> Self {
        Runtime::with_quota(egress, QuotaLimiter::default())
    }

    /// A runtime whose quota pacing uses `quota` (tests give it a fake clock).
    pub fn with_quota(egress: Egress, quota: QuotaLimiter) -> Self {
        Runtime { egress, quota }
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
        let query = mapping::vendor_query(resource, compiled, &request.query)?;
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
                url: vendor_url(connector, compiled, &path_values),
                query: query.clone(),
                content_type,
                body,
            };
            reply = Some(
                self.send(connector, instance, credentials, resource, &vendor)
                    .await?,
            );
        }
        let VendorReply { status, body } = reply.expect("at least one vendor call is built");
        let shaped =
            response::shape(body.clone(), &resource.response).map_err(|e| not_json(&e, &body))?;
        let body = match &resource.hooks.response {
            Some(name) => {
                let value =
                    serde_json::from_slice(&shaped.body).map_err(|e| not_json(&e, &body))?;
                mapping::json_bytes(&hooks::run_response(name, value)?)
            }
            None => shaped.body,
        };
        Ok(HubResponse {
            status,
            body,
            next_page_token: shaped.next_page_token,
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
        let vendor = VendorRequest {
            method: method(resource.vendor.method),
            url: vendor_url(connector, compiled, path_values),
            query: mapping::vendor_query(resource, compiled, query)?,
            content_type: None,
            body: None,
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
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&reply.body).map_err(|e| not_json(&e, &reply.body))
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
            ));
        }
        Ok(VendorReply {
            status: response.status.as_u16(),
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

fn vendor_url(
    connector: &Connector,
    compiled: &CompiledOperation,
    path_values: &[(String, String)],
) -> String {
    format!(
        "{}{}",
        connector.def.base_url.trim_end_matches('/'),
        compiled.vendor_path.fill(path_values)
    )
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
