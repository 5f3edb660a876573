use thiserror::Error;

/// A problem with a flow definition, named by step (or trigger, or variable) and property.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{message}", location(.step, .property))]
pub struct FlowProblem {
    pub step: Option<String>,
    pub property: Option<String>,
    pub message: String,
    /// A duplicate of something that exists (answered 409, not 400).
    pub conflict: bool,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

fn location(step: &Option<String>, property: &Option<String>) -> String {
    match (step, property) {
        (Some(step), Some(property)) => format!("step {step:?}, {property}: "),
        (Some(step), None) => format!("step {step:?}: "),
        (None, Some(property)) => format!("{property}: "),
        (None, None) => String::new(),
    }
}

impl FlowProblem {
    pub fn new(step: Option<&str>, property: Option<&str>, message: impl Into<String>) -> Self {
        FlowProblem {
            step: step.map(str::to_owned),
            property: property.map(str::to_owned),
            message: message.into(),
            conflict: false,
            line: None,
            column: None,
        }
    }
}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("the flow is not valid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidFlow(Vec<FlowProblem>),
    #[error("the execution's saved state is not readable: {0}")]
    CorruptState(String),
}
