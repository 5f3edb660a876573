//! ferry-sandbox runs the JavaScript of flow steps (Cloud Elements formula `script` and `filter`
//! steps) in an embedded QuickJS engine, a fresh runtime per run (or, for [`Sandbox::run_warm`], one
//! kept for the same owner's runs of the same body), with a wall-clock deadline, a heap limit and a
//! stack limit. It owns the JavaScript contract users write against: the
//! `function (trigger, steps, info, config, done)` signature with deep-frozen inputs, `done`,
//! captured `console.*`, `notify.email`, the `CE` helpers, `require('util')`, and save-time
//! validation of a body. It depends on no other ferry crate and does no I/O: scripts see no files,
//! network, environment or timers, and the caller decides what to do with the outcome. Runs are
//! synchronous and CPU-bound; async callers put them on `spawn_blocking` or a worker thread whose
//! stack is comfortably larger than [`SandboxLimits::max_stack_bytes`].
//!
//! Semantics worth knowing:
//! - The five parameters are constants and the input objects are deep-frozen: assigning to
//!   `trigger` or to `trigger.x` throws a `TypeError` (strict mode), as Cloud Elements documents.
//! - `done(value)` fixes the step's result the first time it is called; later calls are ignored,
//!   and so is anything the script does afterwards (a later `throw` or even running into the time
//!   limit does not turn a finished step into a failed one).
//! - The result is JSON: converted with `JSON.stringify` semantics at the moment `done` is called
//!   (key order kept, functions and `undefined` members dropped, a BigInt or a cycle rejected).
//! - Promises work: jobs queued by the script run after the body returns, within the same
//!   deadline, so `somePromise.then(done)` completes the step.

mod ce;
mod check;
mod console;
mod error;
mod globals;
mod run;

use std::time::Duration;

pub use error::{ProblemKind, ScriptFailure, ScriptProblem};

/// Per-run resource limits. Each run gets its own engine, so the limits are per step execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Wall-clock time for the whole run, including loading inputs and settling promises.
    pub wall_time: Duration,
    /// Heap the engine may allocate (inputs, the script's objects, the result). At least 1 MiB
    /// is used whatever is configured.
    pub memory_bytes: usize,
    /// Native stack the engine may use for JavaScript calls; bounds recursion depth. At least
    /// 64 KiB is used whatever is configured. The calling thread needs this much free stack plus
    /// a margin: keep it well under the thread's stack size (2 MiB for tokio's blocking pool).
    pub max_stack_bytes: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            // Cloud Elements' v1 engine killed scripts at ~32 s; 30 s keeps that contract.
            wall_time: Duration::from_secs(30),
            memory_bytes: 64 * 1024 * 1024,
            // QuickJS uses ~650 bytes of native stack per JavaScript call in a release build, so
            // this allows ~1,600 nested calls while staying well inside the 2 MiB stacks of
            // tokio's blocking threads and Rust test threads.
            max_stack_bytes: 1024 * 1024,
        }
    }
}

/// The values a step's script receives as `trigger`, `steps`, `info` and `config`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptInput {
    pub trigger: serde_json::Value,
    pub steps: serde_json::Value,
    pub info: serde_json::Value,
    pub config: serde_json::Value,
}

impl Default for ScriptInput {
    /// Empty objects: what a script sees when a flow has no trigger data, steps or config yet.
    fn default() -> Self {
        let empty = || serde_json::Value::Object(serde_json::Map::new());
        Self {
            trigger: empty(),
            steps: empty(),
            info: empty(),
            config: empty(),
        }
    }
}

/// Which step type the body belongs to; it decides what `done` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptKind {
    /// `done(obj)` gives the step's value; `done()` means `{}`.
    Script,
    /// `done(true)` continues on `onSuccess`, `done(false)` on `onFailure`; nothing else is valid.
    Filter,
}

/// An email the script asked for with `notify.email(to, subject, body)`. The sandbox only records
/// it; sending is the caller's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailNotification {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Everything one run produced. `console` and `notifications` are kept whether the run succeeded
/// or failed, and never mixed into `result`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOutcome {
    /// For scripts, the JSON value given to `done`; for filters, `Value::Bool`.
    pub result: Result<serde_json::Value, ScriptFailure>,
    /// One entry per `console.*` call, formatted like Node (strings raw, objects as JSON), capped
    /// at 1,000 lines / 1 MiB with a final line saying how much was dropped.
    pub console: Vec<String>,
    pub notifications: Vec<EmailNotification>,
    pub elapsed: Duration,
}

/// Runs step scripts. Holds only configuration, so it is cheap to clone and share across threads;
/// every run gets an engine of its own (possibly built ahead, see
/// [`Sandbox::prepare_next_run_on_this_thread`]) and drops it.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    limits: SandboxLimits,
}

impl Sandbox {
    pub fn new(limits: SandboxLimits) -> Self {
        Self { limits }
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Runs `source` as the body of `function (trigger, steps, info, config, done)`.
    pub fn run(&self, kind: ScriptKind, source: &str, input: &ScriptInput) -> ScriptOutcome {
        run::run(&self.limits, kind, source, input, None)
    }

    /// Runs like [`Sandbox::run`], letting runs of the same body for the same `owner` on this
    /// thread share an engine: after a run that ended cleanly (its result given, nothing left
    /// pending, no limit reached) the engine is kept with the compiled body, the globals the run
    /// added are deleted, and the owner's next run of that body skips building an engine and
    /// compiling (most of a short script's cost). Anything else a run leaves in its engine — a
    /// property added to a built-in prototype, say — is seen by that owner's later runs of the
    /// same body, never by another owner or another body; so `owner` must name who may share
    /// (ferry passes the organization and the flow). An engine serves at most 500 runs, and a
    /// run that fails, times out or runs out of memory leaves a fresh engine to the next.
    pub fn run_warm(
        &self,
        kind: ScriptKind,
        source: &str,
        input: &ScriptInput,
        owner: &str,
    ) -> ScriptOutcome {
        run::run(&self.limits, kind, source, input, Some(owner))
    }

    /// [`Sandbox::run_warm`] held to a budget, as [`Sandbox::run_within`].
    pub fn run_warm_within(
        &self,
        kind: ScriptKind,
        source: &str,
        input: &ScriptInput,
        budget: std::time::Duration,
        owner: &str,
    ) -> Option<ScriptOutcome> {
        run::run_within(&self.limits, kind, source, input, Some(budget), Some(owner))
    }

    /// Runs like [`Sandbox::run`] but stops once the run has taken `budget` and then answers
    /// `None`, keeping nothing of it: the caller runs the script again, where a long run may
    /// block a thread (a script has no effects, so a second run is harmless). Lets a caller run
    /// the common short script on a thread that must not be held long.
    pub fn run_within(
        &self,
        kind: ScriptKind,
        source: &str,
        input: &ScriptInput,
        budget: std::time::Duration,
    ) -> Option<ScriptOutcome> {
        run::run_within(&self.limits, kind, source, input, Some(budget), None)
    }

    /// Builds, on the calling thread, the engine its next run will use, so that building it
    /// (most of a short script's cost) happens while the thread would otherwise idle — call it
    /// after handing a run's outcome back. The spare engine has never run anything: runs stay
    /// exactly as isolated as with an engine built on the spot.
    pub fn prepare_next_run_on_this_thread(&self) {
        run::prepare_spare(&self.limits);
    }

    /// Whether [`Sandbox::prepare_next_run_on_this_thread`] has anything to do on this thread;
    /// when not, a caller need not schedule it (after a warm run it usually has nothing).
    pub fn next_run_needs_preparing_on_this_thread(&self) -> bool {
        run::spare_needs_preparing(&self.limits)
    }

    /// Save-time validation: the body parses, has no top-level `return`, and uses `done`.
    /// Runs none of the user's code.
    pub fn check(&self, kind: ScriptKind, source: &str) -> Result<(), ScriptProblem> {
        check::check(&self.limits, kind, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Sandbox>();
    }
}
