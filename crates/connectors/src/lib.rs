//! ferry-connectors: what a connector is and how a call to its normalized API becomes a call to the
//! vendor. It owns the definition format's loading (YAML folders embedded in the binary or read from
//! a directory, provider inheritance by deep merge, strict validation with errors naming file and
//! field, endpoint rewrites that point a provider at a local emulator), the routing of normalized
//! paths, the checks every call passes before the vendor sees it (path patterns, query parameters,
//! JSON Schemas of bodies), pacing under a vendor's unit quota, the one outbound HTTP layer
//! (timeouts, retries honouring `Retry-After`, token injection, refresh-and-retry once on 401), and
//! the named hooks for what data cannot express (Gmail's MIME building, replies, label names,
//! the readable message view), and the OpenAPI document of each connector's hub API, generated
//! from its definition. It depends on `ferry-model` only; tokens come through the [`Credentials`] trait that
//! the application layer implements.

mod body_schema;
mod catalog;
mod ceql;
mod egress;
mod error;
mod events;
mod hooks;
mod mapping;
mod openapi;
mod quota;
mod response;
mod routing;
mod runtime;
mod vendor_errors;

pub use catalog::{Catalog, Connector, DefinitionSource, EndpointRewrites};
pub use egress::{Credentials, CredentialsError, Egress, EgressConfig};
pub use error::ConnectorError;
pub use events::{ChangeEvent, EventBatch};
pub use hooks::{Attachment, MailAddress, OutgoingMail, compose_message, parse_address_list};
pub use openapi::{DocsTarget, DocumentedInstance, HUB_SECURITY_SCHEME, connector_openapi};
pub use quota::{MonotonicClock, QuotaClock, QuotaDecision, QuotaLimiter, QuotaOverrides};
pub use runtime::{
    FormPart, HubBody, HubRequest, HubResponse, InstanceContext, ResolvedOperation, Runtime,
};
