//! How a step's JavaScript can fail, and how save-time validation reports a problem.

use std::fmt;
use std::time::Duration;

/// Why a script or filter step failed. Every variant's `Display` is the message a user sees in the
/// step's error value, so each one names the cause and, for limits, which limit was hit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptFailure {
    /// The script threw (a string, an `Error`, or anything else) and did not call `done` first.
    /// `line`/`column` point into the user's body when the engine knows where it was thrown.
    #[error("{message}{}", location_suffix(*line, *column))]
    Thrown {
        message: String,
        line: Option<u32>,
        column: Option<u32>,
    },

    #[error("Script execution timed out after {} (limit: step wall time)", human_duration(*limit))]
    TimedOut { limit: Duration },

    #[error("Script ran out of memory (limit {})", human_bytes(*limit_bytes))]
    OutOfMemory { limit_bytes: usize },

    #[error(
        "Script exceeded the maximum call stack size (limit {}): look for unbounded recursion",
        human_bytes(*limit_bytes)
    )]
    StackOverflow { limit_bytes: usize },

    #[error("The step did not return any values: call done(...)")]
    NoResult,

    #[error("A filter must call done(true) or done(false); it called done({got})")]
    InvalidFilterResult { got: String },

    /// `done(value)` was given something JSON cannot represent (a BigInt, a cycle, a function...).
    #[error("done() was given a value that is not JSON: {message}")]
    InvalidResult { message: String },

    /// The body does not parse. Positions are relative to the user's body (line 1 = its first line).
    #[error("{message} (line {line}, column {column})")]
    Syntax {
        message: String,
        line: u32,
        column: u32,
    },

    /// The engine itself could not be set up (for example, a runtime could not be allocated).
    #[error("The script engine failed: {message}")]
    Engine { message: String },
}

/// What save-time validation found wrong with a script or filter body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The body does not parse.
    Syntax,
    /// The body never calls `done`, so every run would end without a result.
    MissingDone,
    /// A `return` outside any nested function (Cloud Elements' v2 engine rejects these at save time).
    TopLevelReturn,
}

/// One problem found by [`crate::Sandbox::check`]. It is data for an API error body (it names
/// where in the user's body the problem is), not an error the engine raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptProblem {
    pub kind: ProblemKind,
    pub message: String,
    /// 1-based line in the user's body, when the problem has a position.
    pub line: Option<u32>,
    /// 1-based column in the user's body, when the problem has a position.
    pub column: Option<u32>,
}

impl fmt::Display for ScriptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            self.message,
            location_suffix(self.line, self.column)
        )
    }
}

fn location_suffix(line: Option<u32>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
        (Some(line), None) => format!(" (line {line})"),
        _ => String::new(),
    }
}

/// `30 s`, `1.5 s`, `200 ms`: the form limits are configured in.
pub(crate) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else if ms >= 1000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{ms} ms")
    }
}

/// `64 MiB`, `512 KiB`, `1000 bytes`.
pub(crate) fn human_bytes(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_messages_name_the_limit() {
        let timeout = ScriptFailure::TimedOut {
            limit: Duration::from_secs(30),
        };
        assert_eq!(
            timeout.to_string(),
            "Script execution timed out after 30 s (limit: step wall time)"
        );
        let oom = ScriptFailure::OutOfMemory {
            limit_bytes: 64 * 1024 * 1024,
        };
        assert_eq!(oom.to_string(), "Script ran out of memory (limit 64 MiB)");
        assert_eq!(human_duration(Duration::from_millis(200)), "200 ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_bytes(512 * 1024), "512 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[test]
    fn thrown_shows_location_when_known() {
        let e = ScriptFailure::Thrown {
            message: "boom".into(),
            line: Some(3),
            column: Some(7),
        };
        assert_eq!(e.to_string(), "boom (line 3, column 7)");
        let e = ScriptFailure::Thrown {
            message: "boom".into(),
            line: None,
            column: None,
        };
        assert_eq!(e.to_string(), "boom");
    }
}
