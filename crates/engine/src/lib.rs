//! ferry-engine: what a flow means. It owns save-time validation of the formula JSON (every
//! problem named by step and property), the `${steps.x.y}`, `${config.k}`, `${trigger.…}`,
//! `${info.…}` references, schedules (5-field crontab and Cloud Elements' 7-field Quartz form), the
//! flattened `"<step>.<field>"` values Cloud Elements clients read, and the step machine: given the
//! committed state of an execution it runs the next step and says what to commit. Side effects —
//! JavaScript, connector calls, HTTP, ferry's own API, sub-flows — go through the [`Effects`] trait
//! that the application layer implements, so the engine is tested with fakes. It depends on
//! `ferry-model` only.

mod error;
mod machine;
mod plan;
mod request;
mod schedule;
mod template;
mod values;

pub use error::{EngineError, FlowProblem};
pub use machine::{
    Effects, Engine, EngineLimits, ExecutionState, Finished, ScriptKind, ScriptRun, ScriptRunInput,
    Step, StepContext, StepRecord, SubFlowCall, SubFlowFuture, SubFlowResult,
};
pub use plan::{FlowPlan, StepKind, TriggerKind, validate};
pub use request::{
    CallError, HttpCall, HttpExchange, RequestTarget, is_credential_header, recorded_body,
};
pub use schedule::Schedule;
pub use template::resolve;
pub use values::flatten;
