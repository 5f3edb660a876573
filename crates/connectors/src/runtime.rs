//! A normalized call (`GET /messages?pageSize=5`) → the vendor call → the normalized reply.

use crate::catalog::Connector;
use crate::egress::{Credentials, Egress, VendorRequest, retry_after};
use crate::routing::PathTemplate;
use crate::{ConnectorError, ceql, hooks, response};
use bytes::Bytes;
use ferry_model::connector::{
    HttpMethod, ParameterDef, ParameterKind, ParameterLocation, ResourceDef,
};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;

/// A call to an instance's normalized API, from the HTTP edge or a flow step.
#[derive(Debug, Clone)]
pub struct HubRequest {
    pub method: HttpMethod,
    /// Normalized path without the `/hubs/{hub}` prefix, e.g. `/messages/abc`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: HubBody,
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
}

#[derive(Clone)]
pub struct Runtime {
    egress: Egress,
}

impl Runtime {
    pub fn new(egress: Egress) -> Self {
        Runtime { egress }
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

    pub async fn invoke(
        &self,
        connector: &Connector,
        instance: &InstanceContext<'_>,
        credentials: &impl Credentials,
        request: &HubRequest,
    ) -> Result<HubResponse, ConnectorError> {
        let ResolvedOperation {
            resource,
            path_values,
        } = self.resolve(connector, request.method, &request.path)?;
        let vendor = build_vendor_request(connector, resource, &path_values, instance, request)?;
        let response = self.egress.send(&vendor, credentials).await?;
        if !response.status.is_success() {
            return Err(provider_error(
                response.status.as_u16(),
                &response.headers,
                &response.body,
            ));
        }
        let shaped = response::shape(response.body, &resource.response).map_err(|e| {
            ConnectorError::Provider {
                status: 502,
                message: format!("the provider's reply is not JSON: {e}"),
                provider_message: None,
                retry_after_secs: None,
            }
        })?;
        Ok(HubResponse {
            status: response.status.as_u16(),
            body: shaped.body,
            next_page_token: shaped.next_page_token,
            operation: resource.operation.clone(),
        })
    }

    /// Calls one operation by name with no input but path values (e.g. the identity operation).
    pub async fn invoke_operation(
        &self,
        connector: &Connector,
        instance: &InstanceContext<'_>,
        credentials: &impl Credentials,
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
        };
        self.invoke(connector, instance, credentials, &request)
            .await
    }
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

fn build_vendor_request(
    connector: &Connector,
    resource: &ResourceDef,
    path_values: &[(String, String)],
    instance: &InstanceContext<'_>,
    request: &HubRequest,
) -> Result<VendorRequest, ConnectorError> {
    let template = PathTemplate::parse(&resource.vendor.path).map_err(|message| {
        ConnectorError::InvalidDefinition {
            location: format!("{}: {}", connector.def.key, resource.operation),
            message,
        }
    })?;
    let url = format!(
        "{}{}",
        connector.def.base_url.trim_end_matches('/'),
        template.fill(path_values)
    );
    let mut query = vendor_query(resource, &request.query)?;
    query.extend(
        resource
            .vendor
            .query
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    let (content_type, body) = match (&resource.hook, &request.body) {
        (Some(hook), _) => {
            let output = hooks::run(hook, instance, request)?;
            (Some(output.content_type), Some(output.body))
        }
        (None, HubBody::Empty) => (None, None),
        (None, HubBody::Json(value)) => (
            Some("application/json".to_owned()),
            Some(Bytes::from(
                serde_json::to_vec(value).expect("JSON values serialize"),
            )),
        ),
        (None, HubBody::Form(_)) => {
            return Err(ConnectorError::InvalidInput {
                field: Some("body".into()),
                message: format!(
                    "{} {} takes a JSON body, not multipart/form-data",
                    resource.method.as_str(),
                    resource.path
                ),
            });
        }
    };
    if let (Some(body_def), None) = (&resource.request_body, &body)
        && body_def.required
    {
        return Err(ConnectorError::input(
            "body",
            "this operation needs a request body",
        ));
    }
    Ok(VendorRequest {
        method: method(resource.vendor.method),
        url,
        query,
        content_type,
        body,
    })
}

fn vendor_query(
    resource: &ResourceDef,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, ConnectorError> {
    let mut query = Vec::new();
    for parameter in resource
        .parameters
        .iter()
        .filter(|p| p.location == ParameterLocation::Query)
    {
        let values: Vec<&str> = given
            .iter()
            .filter(|(name, _)| name == &parameter.name)
            .map(|(_, value)| value.as_str())
            .collect();
        if values.is_empty() {
            if let Some(default) = &parameter.default {
                let text = match default {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                query.push((parameter.vendor_name().to_owned(), text));
            } else if parameter.required {
                return Err(ConnectorError::input(
                    &parameter.name,
                    format!("query parameter {} is required", parameter.name),
                ));
            }
            continue;
        }
        if values.len() > 1 && parameter.kind != ParameterKind::Array {
            return Err(ConnectorError::input(
                &parameter.name,
                format!("query parameter {} may be given only once", parameter.name),
            ));
        }
        for value in values {
            map_query_value(parameter, value, &mut query)?;
        }
    }
    Ok(query)
}

fn map_query_value(
    parameter: &ParameterDef,
    value: &str,
    query: &mut Vec<(String, String)>,
) -> Result<(), ConnectorError> {
    let name = &parameter.name;
    match parameter.kind {
        ParameterKind::Integer => {
            let number: i64 = value.trim().parse().map_err(|_| {
                ConnectorError::input(
                    name,
                    format!("{name} must be a whole number, not {value:?}"),
                )
            })?;
            if let Some(minimum) = parameter.minimum
                && number < minimum
            {
                return Err(ConnectorError::input(
                    name,
                    format!("{name} must be at least {minimum}"),
                ));
            }
            if let Some(maximum) = parameter.maximum
                && number > maximum
            {
                return Err(ConnectorError::input(
                    name,
                    format!("{name} must be at most {maximum}"),
                ));
            }
            query.push((parameter.vendor_name().to_owned(), number.to_string()));
        }
        ParameterKind::Boolean => {
            let flag = match value.trim().to_ascii_lowercase().as_str() {
                "true" => "true",
                "false" => "false",
                _ => {
                    return Err(ConnectorError::input(
                        name,
                        format!("{name} must be true or false, not {value:?}"),
                    ));
                }
            };
            query.push((parameter.vendor_name().to_owned(), flag.to_owned()));
        }
        ParameterKind::Array => {
            for item in value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
            {
                check_allowed(parameter, item)?;
                query.push((parameter.vendor_name().to_owned(), item.to_owned()));
            }
        }
        ParameterKind::Ceql => {
            let expected = parameter
                .ceql_fields
                .keys()
                .map(|field| format!("{field}='…'"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let conditions = ceql::parse(value).map_err(|problem| {
                ConnectorError::input(
                    name,
                    format!("{name}: {problem}; write it as {expected}, for example {name}=q='subject:invoice'"),
                )
            })?;
            for condition in conditions {
                let vendor = parameter.ceql_fields.get(&condition.field).ok_or_else(|| {
                    ConnectorError::input(
                        name,
                        format!(
                            "{name} cannot filter on {:?}; write it as {expected}",
                            condition.field
                        ),
                    )
                })?;
                query.push((vendor.clone(), condition.value));
            }
        }
        ParameterKind::String => {
            check_allowed(parameter, value)?;
            query.push((parameter.vendor_name().to_owned(), value.to_owned()));
        }
    }
    Ok(())
}

fn check_allowed(parameter: &ParameterDef, value: &str) -> Result<(), ConnectorError> {
    if parameter.values.is_empty() || parameter.values.iter().any(|allowed| allowed == value) {
        Ok(())
    } else {
        Err(ConnectorError::input(
            &parameter.name,
            format!(
                "{} must be one of {}, not {value:?}",
                parameter.name,
                parameter.values.join(", ")
            ),
        ))
    }
}

/// The vendor's own words for an error, from the usual places in a JSON error body.
fn provider_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Bytes,
) -> ConnectorError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let provider_message = parsed
        .as_ref()
        .and_then(|json| {
            [
                "/error/message",
                "/error_description",
                "/message",
                "/error",
                "/errors/0/message",
            ]
            .iter()
            .find_map(|pointer| json.pointer(pointer).and_then(Value::as_str))
            .map(str::to_owned)
        })
        .or_else(|| (!body.is_empty()).then(|| snippet(body)));
    let message = match status {
        400 => "the provider refused the request as invalid",
        401 => "the provider did not accept the instance's credentials",
        403 => "the provider refused access",
        404 => "the provider has no such object",
        409 => "the provider reports a conflict",
        413 => "the request is too large for the provider",
        429 => "the provider's rate limit was reached; retry later",
        500..=599 => "the provider failed to answer",
        _ => "the provider answered with an error",
    };
    ConnectorError::Provider {
        status,
        message: message.to_owned(),
        provider_message,
        retry_after_secs: retry_after(headers).map(|wait| wait.as_secs().max(1)),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(500).collect()
}
