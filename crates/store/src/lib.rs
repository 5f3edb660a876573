//! ferry-store: everything ferry keeps, on SQLite (the embedded default, one file under the data
//! directory) or PostgreSQL (scale-out), behind one API. It owns the SQL, the migrations of both
//! dialects, and the encryption of secrets at rest ([`SecretBox`]): callers hand it plaintext
//! [`ferry_model::Secret`]s and never see ciphertext. It depends only on `ferry-model`; nothing in
//! it knows HTTP, OAuth or connectors.

mod activity;
mod connector_definitions;
mod console_sessions;
mod database;
mod error;
mod executions;
mod flows;
mod instances;
mod journal;
mod oauth_authorizations;
mod proxies;
mod queue_wakeups;
mod reseal;
mod secret_box;
mod tenancy;
mod webhook_events;

pub use activity::ExecutionCount;
pub use connector_definitions::{
    ConnectorIdChoice, NewConnectorDefinition, StoredConnectorDefinition,
};
pub use console_sessions::ConsoleSessionRecord;
pub use database::{Dialect, Store, StoreOptions};
pub use error::StoreError;
pub use executions::{
    CancelOutcome, ExecutionFilter, NewExecution, NewStepExecution, PendingCommit, StepCommit,
};
pub use flows::{FlowInstanceChanges, FlowInstanceFilter, NewFlowInstance};
pub use instances::{ConnectorUsage, GrantUpdate, InstanceFilter, InstanceUpdate, NewInstance};
pub use oauth_authorizations::{NewOAuthAuthorization, OAuthAuthorization};
pub use proxies::{
    BucketState, NewProxy, NewProxyKey, TokenOutcome, TokenRequest, UsageGroup, UsageQuery,
    UsageRow,
};
pub use queue_wakeups::QueueListener;
pub use reseal::{ResealReport, ResealedColumn};
pub use secret_box::{MasterKey, SecretBox};
pub use tenancy::{NewUser, UserWithOrganization};
pub use webhook_events::DeliveredEvent;

pub type StoreResult<T> = Result<T, StoreError>;
