//! ferry-connectors: what a connector is and how a call to its normalized API becomes a call to the
//! vendor. It owns the definition format's loading (YAML folders embedded in the binary or read from
//! a directory, JSON sent by users; provider inheritance by deep merge, strict validation with
//! errors naming file and field, endpoint rewrites that point a provider at a local emulator), the
//! catalog as a value that is swapped whole when it changes, the routing of normalized paths, the
//! checks every call passes before the vendor sees it (path patterns, query parameters, JSON
//! Schemas of bodies), what each auth kind adds to a call (API key, HTTP Basic; bearer tokens come
//! through [`Credentials`]), base URLs with per-instance variables, pacing under a vendor's unit
//! quota, the one outbound HTTP layer (timeouts, retries honouring `Retry-After`, token injection,
//! refresh-and-retry once on 401), paging in four vendor styles behind Cloud Elements' one, field
//! and error mapping, the hooks for what data cannot express (named Rust hooks such as Gmail's MIME
//! building; JavaScript hooks a definition carries, run in `ferry-sandbox`), events (polling by a
//! hook or declared; webhook deliveries checked against their HMAC signature), the OpenAPI document of each connector's hub API, and the runner of a folder's
//! declarative test cases against recorded fixtures ([`cases`]). It depends on `ferry-model` and
//! `ferry-sandbox`; tokens come through the [`Credentials`] trait that the application layer
//! implements.

mod base_url;
mod body_schema;
pub mod cases;
mod catalog;
mod ceql;
mod definition_checks;
mod egress;
mod error;
mod events;
mod hooks;
mod mapping;
mod openapi;
mod pagination;
mod polling;
mod quota;
mod response;
mod routing;
mod runtime;
mod scripts;
mod vendor_auth;
mod vendor_errors;
mod webhooks;

pub use catalog::{Catalog, Connector, ConnectorOrigin, DefinitionSource, EndpointRewrites};
pub use egress::{Credentials, CredentialsError, Egress, EgressConfig};
pub use error::ConnectorError;
pub use events::{ChangeEvent, EventBatch};
pub use hooks::{Attachment, MailAddress, OutgoingMail, compose_message, parse_address_list};
pub use openapi::{DocsTarget, DocumentedInstance, HUB_SECURITY_SCHEME, connector_openapi};
pub use quota::{MonotonicClock, QuotaClock, QuotaDecision, QuotaLimiter, QuotaOverrides};
pub use runtime::{
    FormPart, HubBody, HubRequest, HubResponse, InstanceContext, ResolvedOperation, Runtime,
};
pub use webhooks::{WebhookDelivery, receive_delivery};
