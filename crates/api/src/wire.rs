//! Response bodies in Cloud Elements' shapes (camelCase, `element`, `createdDate`, …), plus a few
//! ferry fields (`status`, `statusReason`, `account`) that say more than `valid` did.

use ferry_app::{InstanceView, connector_missing_reason};
use ferry_connectors::Connector;
use ferry_model::instance::AuthorizationState;
use serde::Serialize;
use std::collections::BTreeMap;

pub(crate) fn iso8601(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Authentication {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationField {
    pub key: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    pub required: bool,
    pub default_value: Option<String>,
    /// Shown behind "Show Optional Fields" in a console.
    pub optional: bool,
    /// ferry fills it in when left empty (the OAuth callback of hosted consent).
    pub provided_by_ferry: bool,
    pub hide_from_console: bool,
    pub display_order: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceSummary {
    pub operation_id: String,
    pub method: &'static str,
    pub path: String,
    pub summary: String,
    pub description: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Element {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub hub: String,
    pub image: Option<String>,
    pub active: bool,
    pub deleted: bool,
    pub type_oauth: bool,
    pub trial_account: bool,
    pub authentication: Authentication,
    pub configuration: Vec<ConfigurationField>,
    pub resources: Vec<ResourceSummary>,
    pub transformations_enabled: bool,
    pub bulk_download_enabled: bool,
    pub bulk_upload_enabled: bool,
    pub cloneable: bool,
    pub extendable: bool,
    pub beta: bool,
    pub private: bool,
    pub extended: bool,
    pub protocol_type: &'static str,
    pub default_scopes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Events {
    pub supported: bool,
    pub methods: Vec<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ElementMetadata {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub hub: String,
    pub authentication: Authentication,
    pub events: Events,
    pub configuration: Vec<ConfigurationField>,
}

fn configuration(connector: &Connector) -> Vec<ConfigurationField> {
    connector
        .def
        .configuration
        .iter()
        .enumerate()
        .map(|(index, field)| ConfigurationField {
            key: field.key.clone(),
            name: field.name.clone(),
            kind: field.kind.wire_type(),
            description: field.description.clone(),
            required: field.required,
            default_value: field.default.clone(),
            optional: field.optional_in_console,
            provided_by_ferry: field.provided_by_ferry,
            hide_from_console: false,
            display_order: index + 1,
        })
        .collect()
}

impl Element {
    pub fn of(connector: &Connector) -> Self {
        let def = &connector.def;
        Element {
            id: def.id,
            key: def.key.clone(),
            name: def.name.clone(),
            description: def.description.clone(),
            hub: def.hub.clone(),
            image: None,
            active: true,
            deleted: false,
            type_oauth: def.oauth2().is_some(),
            trial_account: false,
            authentication: Authentication {
                kind: def.auth.wire_type(),
            },
            configuration: configuration(connector),
            resources: def
                .resources
                .iter()
                .map(|r| ResourceSummary {
                    operation_id: r.operation.clone(),
                    method: r.method.as_str(),
                    path: r.path.clone(),
                    summary: r.summary.clone(),
                    description: r.description.clone(),
                })
                .collect(),
            transformations_enabled: false,
            bulk_download_enabled: false,
            bulk_upload_enabled: false,
            cloneable: true,
            extendable: false,
            beta: false,
            // Added through the API (`POST /elements`), rather than part of the installation.
            private: connector.origin == ferry_connectors::ConnectorOrigin::User,
            extended: false,
            protocol_type: "http",
            default_scopes: def
                .oauth2()
                .map(|o| o.default_scopes.clone())
                .unwrap_or_default(),
        }
    }
}

impl ElementMetadata {
    pub fn of(connector: &Connector) -> Self {
        let def = &connector.def;
        ElementMetadata {
            id: def.id,
            key: def.key.clone(),
            name: def.name.clone(),
            description: def.description.clone(),
            hub: def.hub.clone(),
            authentication: Authentication {
                kind: def.auth.wire_type(),
            },
            events: Events {
                supported: def.events.is_some(),
                methods: def
                    .events
                    .iter()
                    .flat_map(|events| {
                        [
                            events.polls().then_some("polling"),
                            events.webhook.is_some().then_some("webhook"),
                        ]
                    })
                    .flatten()
                    .collect(),
            },
            configuration: configuration(connector),
        }
    }
}

/// The connector an instance was made of. When it is no longer installed, only its key is
/// known: `id` and `hub` are null and `name` is the key.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ElementSummary {
    #[schema(required = true)]
    pub id: Option<i64>,
    pub key: String,
    pub name: String,
    #[schema(required = true)]
    pub hub: Option<String>,
    pub type_oauth: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserSummary {
    pub id: i64,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceBody {
    pub id: i64,
    pub name: String,
    pub created_date: String,
    pub updated_date: String,
    pub token: String,
    pub element: ElementSummary,
    /// Null when the instance's connector is no longer installed.
    #[schema(required = true)]
    pub element_id: Option<i64>,
    pub tags: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub provision_interactions: Vec<serde_json::Value>,
    pub valid: bool,
    pub disabled: bool,
    /// `active`, `pending`, `needs_reauthentication`, `disabled` or `connector_missing` (its
    /// connector is no longer installed: it can be read and deleted, not used).
    pub status: &'static str,
    pub status_reason: Option<String>,
    /// The provider account the instance is connected to.
    pub account: Option<String>,
    pub max_cache_size: i64,
    pub cache_time_to_live: i64,
    pub configuration: BTreeMap<String, String>,
    pub events_enabled: bool,
    /// Where the vendor delivers webhook events (signed with the instance's webhook secret),
    /// when the connector receives events by webhook.
    pub events_webhook_url: Option<String>,
    pub trace_logging_enabled: bool,
    pub caching_enabled: bool,
    pub external_authentication: String,
    pub user: Option<UserSummary>,
}

impl InstanceBody {
    pub fn of(view: &InstanceView) -> Self {
        let instance = &view.instance;
        let element = match &view.connector {
            Some(connector) => {
                let def = &connector.def;
                ElementSummary {
                    id: Some(def.id),
                    key: def.key.clone(),
                    name: def.name.clone(),
                    hub: Some(def.hub.clone()),
                    type_oauth: def.oauth2().is_some(),
                }
            }
            None => ElementSummary {
                id: None,
                key: instance.connector_key.clone(),
                name: instance.connector_key.clone(),
                hub: None,
                type_oauth: instance.grant.is_some(),
            },
        };
        // A missing connector comes first: nothing the instance's own state allows can work.
        let (status, status_reason) = if view.connector.is_none() {
            (
                "connector_missing",
                Some(connector_missing_reason(&instance.connector_key)),
            )
        } else if instance.disabled {
            ("disabled", instance.state_reason.clone())
        } else {
            (instance.state.as_str(), instance.state_reason.clone())
        };
        InstanceBody {
            id: instance.id.0,
            name: instance.name.clone(),
            created_date: iso8601(instance.created_at_ms),
            updated_date: iso8601(instance.updated_at_ms),
            token: instance.token.expose().to_owned(),
            element_id: element.id,
            element,
            tags: instance.tags.clone(),
            provision_interactions: Vec::new(),
            valid: instance.state == AuthorizationState::Active && view.connector.is_some(),
            disabled: instance.disabled,
            status,
            status_reason,
            account: instance.account.clone(),
            max_cache_size: 0,
            cache_time_to_live: 0,
            configuration: view.masked_configuration(),
            events_enabled: false,
            events_webhook_url: view.events_webhook_url.clone(),
            trace_logging_enabled: false,
            caching_enabled: false,
            external_authentication: instance.external_authentication.clone(),
            user: view.user.as_ref().map(|user| UserSummary {
                id: user.id.0,
                email_address: user.email.clone(),
                first_name: user.first_name.clone(),
                last_name: user.last_name.clone(),
            }),
        }
    }
}
