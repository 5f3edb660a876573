//! JavaScript hooks a definition carries (`scripts`, named from `hooks.pre_request` and
//! `hooks.post_request`), run in the sandbox that runs flow scripts (QuickJS: no files, network
//! or environment; a time and a memory limit), on a blocking thread.

use crate::ConnectorError;
use ferry_sandbox::{Sandbox, SandboxLimits, ScriptInput, ScriptKind};
use serde_json::{Value, json};
use std::time::Duration;

/// The sandbox of connector scripts: tighter than a flow step's, as it runs inside a call.
pub(crate) fn sandbox() -> Sandbox {
    Sandbox::new(SandboxLimits {
        wall_time: Duration::from_secs(5),
        memory_bytes: 32 * 1024 * 1024,
        ..SandboxLimits::default()
    })
}

/// Whether `source` can be a script (parses, calls `done`); the problem in words if not.
pub(crate) fn check(source: &str) -> Result<(), String> {
    sandbox()
        .check(ScriptKind::Script, source)
        .map_err(|problem| problem.to_string())
}

/// Runs script `name` with `trigger` and the instance's `config`; answers what it gave `done`.
pub(crate) async fn run(
    sandbox: &Sandbox,
    name: &str,
    source: &str,
    trigger: Value,
    config: Value,
) -> Result<Value, ConnectorError> {
    let sandbox = sandbox.clone();
    let source = source.to_owned();
    let input = ScriptInput {
        trigger,
        steps: json!({}),
        info: json!({}),
        config,
    };
    let outcome =
        tokio::task::spawn_blocking(move || sandbox.run(ScriptKind::Script, &source, &input))
            .await
            .map_err(|e| ConnectorError::ScriptFailed {
                script: name.to_owned(),
                message: format!("the script's thread failed: {e}"),
            })?;
    for line in &outcome.console {
        tracing::debug!(script = %name, line = %line, "connector script console");
    }
    outcome
        .result
        .map_err(|failure| ConnectorError::ScriptFailed {
            script: name.to_owned(),
            message: failure.to_string(),
        })
}
