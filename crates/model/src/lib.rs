//! ferry-model: the shared vocabulary of ferry — typed ids, the [`Secret`] wrapper, connector and
//! provider definitions as they are written in `connectors/` and `providers/`, and the records the
//! store keeps (organizations, users, instances, flows and executions). It is pure data: no I/O, no clock, no HTTP; every
//! other ferry crate may depend on it and it depends on no ferry crate. Types the HTTP API shows
//! derive `utoipa::ToSchema` (a description of their JSON, no behaviour), so their OpenAPI
//! schemas are these types.

pub mod connector;
pub mod execution;
pub mod flow;
mod ids;
pub mod instance;
pub mod proxy;
mod secret;
pub mod tenancy;

pub use ids::{
    ExecutionId, FlowId, FlowInstanceId, InstanceId, OrganizationId, ProxyId, ProxyKeyId,
    StepExecutionId, UserId,
};
pub use secret::Secret;
