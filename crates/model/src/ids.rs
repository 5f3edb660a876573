use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

numeric_id!(
    /// An organization (tenant): the unit that owns users, instances and flows.
    OrganizationId
);
numeric_id!(
    /// A user of an organization.
    UserId
);
numeric_id!(
    /// A connector instance ("element instance" on the wire).
    InstanceId
);
numeric_id!(
    /// A flow template ("formula" on the wire).
    FlowId
);
numeric_id!(
    /// A flow bound to instances and values ("formula instance").
    FlowInstanceId
);
numeric_id!(
    /// One run of a flow instance.
    ExecutionId
);
numeric_id!(
    /// One step run inside an execution.
    StepExecutionId
);
numeric_id!(
    /// An instance's API published to other applications.
    ProxyId
);
numeric_id!(
    /// One API key of a proxy.
    ProxyKeyId
);
