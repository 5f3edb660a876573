//! Path templates (`/messages/{id}`): matching normalized paths and filling vendor paths.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Characters escaped in a path segment filled from user input (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Placeholder(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    segments: Vec<Segment>,
}

impl PathTemplate {
    pub fn parse(template: &str) -> Result<Self, String> {
        let Some(rest) = template.strip_prefix('/') else {
            return Err(format!("{template:?} must start with '/'"));
        };
        let mut segments = Vec::new();
        for part in rest.split('/') {
            if part.is_empty() {
                if rest.is_empty() {
                    break;
                }
                return Err(format!("{template:?} has an empty segment"));
            }
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "{template:?}: placeholder {part:?} needs a name of letters, digits or '_'"
                    ));
                }
                segments.push(Segment::Placeholder(name.to_owned()));
            } else if part.contains('{') || part.contains('}') {
                return Err(format!(
                    "{template:?}: a placeholder must be a whole segment, as in /things/{{id}}"
                ));
            } else {
                segments.push(Segment::Literal(part.to_owned()));
            }
        }
        Ok(PathTemplate { segments })
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Placeholder(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Orders templates so the most literal match wins.
    pub fn specificity(&self) -> (usize, Vec<bool>) {
        (
            self.segments.len(),
            self.segments
                .iter()
                .map(|s| matches!(s, Segment::Literal(_)))
                .collect(),
        )
    }

    /// Matches a request path; returns the decoded placeholder values.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let path = path.strip_prefix('/')?.trim_end_matches('/');
        let parts: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut values = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Placeholder(name) => {
                    let value = percent_decode_str(part).decode_utf8().ok()?.into_owned();
                    if value.is_empty() {
                        return None;
                    }
                    values.push((name.clone(), value));
                }
            }
        }
        Some(values)
    }

    /// Fills placeholders, escaping each value as one path segment.
    pub fn fill(&self, values: &[(String, String)]) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Literal(literal) => out.push_str(literal),
                Segment::Placeholder(name) => {
                    let value = values
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or_default();
                    out.extend(utf8_percent_encode(value, SEGMENT));
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_filling() {
        let template = PathTemplate::parse("/messages/{id}").unwrap();
        assert_eq!(
            template.matches("/messages/abc"),
            Some(vec![("id".into(), "abc".into())])
        );
        assert_eq!(
            template.matches("/messages/abc/"),
            Some(vec![("id".into(), "abc".into())])
        );
        assert_eq!(template.matches("/messages"), None);
        assert_eq!(template.matches("/messages/a/b"), None);
        let vendor = PathTemplate::parse("/gmail/v1/users/me/messages/{id}").unwrap();
        assert_eq!(
            vendor.fill(&[("id".into(), "a/../b c".into())]),
            "/gmail/v1/users/me/messages/a%2F..%2Fb%20c"
        );
    }

    #[test]
    fn bad_templates_are_explained() {
        assert!(
            PathTemplate::parse("messages")
                .unwrap_err()
                .contains("must start with '/'")
        );
        assert!(
            PathTemplate::parse("/a//b")
                .unwrap_err()
                .contains("empty segment")
        );
        assert!(
            PathTemplate::parse("/a/x{id}")
                .unwrap_err()
                .contains("whole segment")
        );
        assert!(
            PathTemplate::parse("/a/{}")
                .unwrap_err()
                .contains("needs a name")
        );
        assert!(PathTemplate::parse("/").is_ok());
    }

    #[test]
    fn literals_are_more_specific_than_placeholders() {
        let literal = PathTemplate::parse("/messages/multiple").unwrap();
        let placeholder = PathTemplate::parse("/messages/{id}").unwrap();
        assert!(literal.specificity() > placeholder.specificity());
    }
}
