//! Save-time validation of a script or filter body, following Cloud Elements' v2 rules: the body
//! must parse, must not `return` at top level, and must call `done`.

use crate::error::{ProblemKind, ScriptFailure, ScriptProblem};
use crate::run::{Engine, user_position};
use crate::{SandboxLimits, ScriptKind};

const RETURN_OUTSIDE_FUNCTION: &str = "return not in a function";

pub(crate) fn check(
    limits: &SandboxLimits,
    kind: ScriptKind,
    source: &str,
) -> Result<(), ScriptProblem> {
    let engine = Engine::new(limits).map_err(|failure| ScriptProblem {
        kind: ProblemKind::Syntax,
        message: format!("The body could not be checked: {failure}"),
        line: None,
        column: None,
    })?;

    // Compiling the wrapped body runs none of it: the result is a function that is never called.
    if let Err(failure) = engine.compile(source) {
        return Err(match failure {
            ScriptFailure::Syntax {
                message,
                line,
                column,
            } => ScriptProblem {
                kind: ProblemKind::Syntax,
                message,
                line: Some(line),
                column: Some(column),
            },
            other => ScriptProblem {
                kind: ProblemKind::Syntax,
                message: other.to_string(),
                line: None,
                column: None,
            },
        });
    }

    // As global code a top-level `return` is a syntax error while one inside a helper function is
    // not, so the engine's parser finds exactly the returns Cloud Elements rejects. `if (false)`
    // keeps the body from running.
    let probe = format!("'use strict'; if (false) {{\n{source}\n}}");
    if let Some((message, line, column)) = engine.syntax_error_of(&probe)
        && message == RETURN_OUTSIDE_FUNCTION
    {
        let (line, column) = user_position(source, line, column);
        return Err(ScriptProblem {
            kind: ProblemKind::TopLevelReturn,
            message: "A `return` outside any function is not allowed in a step body: finish the \
                      step with done(...) instead (helper functions may return)"
                .into(),
            line: Some(line),
            column: Some(column),
        });
    }

    if !uses_done(source) {
        let message = match kind {
            ScriptKind::Script => {
                "The script never calls done(): call done(result) to finish the step"
            }
            ScriptKind::Filter => {
                "The filter never calls done(): call done(true) or done(false) to finish the step"
            }
        };
        return Err(ScriptProblem {
            kind: ProblemKind::MissingDone,
            message: message.into(),
            line: None,
            column: None,
        });
    }
    Ok(())
}

/// Whether the code (not its comments or string literals) refers to `done`: a call `done(...)`,
/// or `done` handed on as a callback (`promise.then(done)`). `x.done` is a property, not a use.
pub(crate) fn uses_done(source: &str) -> bool {
    identifiers(source)
        .iter()
        .any(|(name, after_dot)| name == "done" && !after_dot)
}

/// The identifiers of a JavaScript source outside comments, strings, template text and regular
/// expression literals, each with whether a `.` came right before it. A lexer, not a parser: it
/// only needs to be right about where code is.
fn identifiers(source: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = source.chars().collect();
    let mut found = Vec::new();
    // For each open template literal, the brace depth at which its `${` started.
    let mut templates: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    // Whether a `/` here would start a regular expression rather than divide.
    let mut regex_allowed = true;
    let mut after_dot = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
                continue;
            }
            '/' if regex_allowed => {
                i = skip_regex(&chars, i + 1);
                regex_allowed = false;
                after_dot = false;
                continue;
            }
            '\'' | '"' => {
                i = skip_string(&chars, i + 1, c);
                regex_allowed = false;
                after_dot = false;
                continue;
            }
            '`' => {
                i = skip_template_text(&chars, i + 1, &mut templates, depth);
                regex_allowed = false;
                after_dot = false;
                continue;
            }
            '{' => {
                depth += 1;
                regex_allowed = true;
            }
            '}' => {
                if templates.last() == Some(&depth) {
                    templates.pop();
                    i = skip_template_text(&chars, i + 1, &mut templates, depth);
                    regex_allowed = false;
                    after_dot = false;
                    continue;
                }
                depth = depth.saturating_sub(1);
                regex_allowed = true;
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                regex_allowed = matches!(
                    word.as_str(),
                    "return"
                        | "typeof"
                        | "instanceof"
                        | "in"
                        | "of"
                        | "new"
                        | "delete"
                        | "void"
                        | "throw"
                        | "case"
                        | "do"
                        | "else"
                        | "yield"
                        | "await"
                );
                found.push((word, after_dot));
                after_dot = false;
                continue;
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                regex_allowed = false;
                after_dot = false;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '.' => {
                after_dot = true;
                regex_allowed = false;
                i += 1;
                continue;
            }
            ')' | ']' => regex_allowed = false,
            _ => regex_allowed = true,
        }
        after_dot = false;
        i += 1;
    }
    found
}

fn skip_string(chars: &[char], mut i: usize, quote: char) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote || c == '\n' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn skip_regex(chars: &[char], mut i: usize) -> usize {
    let mut in_class = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => {
                in_class = true;
                i += 1;
            }
            ']' => {
                in_class = false;
                i += 1;
            }
            '/' if !in_class => {
                i += 1;
                while i < chars.len() && chars[i].is_alphabetic() {
                    i += 1;
                }
                return i;
            }
            '\n' => return i,
            _ => i += 1,
        }
    }
    i
}

/// Skips template text up to its closing backtick, or up to a `${`, in which case the template is
/// remembered as open at `depth` and scanning resumes in code.
fn skip_template_text(
    chars: &[char],
    mut i: usize,
    templates: &mut Vec<usize>,
    depth: usize,
) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '`' => return i + 1,
            '$' if chars.get(i + 1) == Some(&'{') => {
                templates.push(depth);
                return i + 2;
            }
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_in_code_counts() {
        assert!(uses_done("done({a: 1});"));
        assert!(uses_done("done ({a: 1});"));
        assert!(uses_done("Promise.resolve(1).then(done);"));
        assert!(uses_done("const x = `a ${done(1)} b`;"));
        assert!(uses_done("let r = /'/.test(s); done(r);"));
        assert!(uses_done("let t = a / b / c; done(t);"));
    }

    #[test]
    fn done_in_comments_strings_or_properties_does_not() {
        assert!(!uses_done("// done(x)\nlet a = 1;"));
        assert!(!uses_done("/* done(x) */ let a = 1;"));
        assert!(!uses_done("let s = 'done(x)'; let t = \"done(\";"));
        assert!(!uses_done("let s = `call done(x) later`;"));
        assert!(!uses_done("if (it.done) { x(); }"));
        assert!(!uses_done("let re = /done\\(/;"));
        assert!(!uses_done("let undone = 1; let doneness = 2;"));
    }
}
