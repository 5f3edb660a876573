//! The part of Cloud Elements Query Language that connectors translate field by field:
//! `field = 'value' [AND field = 'value' …]`, e.g. Gmail's `where=q='subject:invoice'`.
//! String literals are single-quoted; a quote inside one is doubled (`'it''s'`).

#[derive(Debug, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub value: String,
}

pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Parses a `where` expression into equality conditions, or explains what is wrong.
pub fn parse(expression: &str) -> Result<Vec<Condition>, String> {
    let mut conditions = Vec::new();
    let mut rest = expression.trim();
    if rest.is_empty() {
        return Err("is empty".into());
    }
    loop {
        let field_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let field = &rest[..field_len];
        if !is_identifier(field) {
            return Err(format!("expected a field name at {:?}", preview(rest)));
        }
        rest = rest[field_len..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected '=' after {field:?}"))?
            .trim_start();
        let (value, after) = literal(rest)?;
        conditions.push(Condition {
            field: field.to_owned(),
            value,
        });
        rest = after.trim_start();
        if rest.is_empty() {
            return Ok(conditions);
        }
        let keyword = rest.get(..3).filter(|k| k.eq_ignore_ascii_case("and"));
        match keyword {
            Some(_) if rest[3..].starts_with(char::is_whitespace) => rest = rest[3..].trim_start(),
            _ => return Err(format!("expected AND or the end at {:?}", preview(rest))),
        }
    }
}

fn literal(text: &str) -> Result<(String, &str), String> {
    if let Some(mut body) = text.strip_prefix('\'') {
        let mut value = String::new();
        loop {
            let Some(quote) = body.find('\'') else {
                return Err("a quoted value is not closed with '".into());
            };
            value.push_str(&body[..quote]);
            body = &body[quote + 1..];
            if let Some(after_double) = body.strip_prefix('\'') {
                value.push('\'');
                body = after_double;
            } else {
                return Ok((value, body));
            }
        }
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    let bare = &text[..end];
    if bare.is_empty()
        || !bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(format!(
            "expected a value in single quotes at {:?}",
            preview(text)
        ));
    }
    Ok((bare.to_owned(), &text[end..]))
}

fn preview(text: &str) -> String {
    text.chars().take(24).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(field: &str, value: &str) -> Condition {
        Condition {
            field: field.into(),
            value: value.into(),
        }
    }

    #[test]
    fn gmail_queries_pass_through_whole() {
        assert_eq!(
            parse("q='subject:foo'").unwrap(),
            vec![one("q", "subject:foo")]
        );
        assert_eq!(
            parse("q = 'from:a@b.c is:unread \"two words\"'").unwrap(),
            vec![one("q", "from:a@b.c is:unread \"two words\"")]
        );
        assert_eq!(parse("q='it''s'").unwrap(), vec![one("q", "it's")]);
    }

    #[test]
    fn several_conditions_join_with_and() {
        assert_eq!(
            parse("q='x' and labelIds = 'INBOX'").unwrap(),
            vec![one("q", "x"), one("labelIds", "INBOX")]
        );
        assert_eq!(parse("size = 10").unwrap(), vec![one("size", "10")]);
    }

    #[test]
    fn malformed_expressions_are_explained() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("subject:foo").unwrap_err().contains("'='"));
        assert!(parse("q='open").unwrap_err().contains("not closed"));
        assert!(
            parse("q=subject:foo")
                .unwrap_err()
                .contains("single quotes")
        );
        assert!(parse("q='a' or q='b'").unwrap_err().contains("AND"));
        assert!(parse("='a'").unwrap_err().contains("field name"));
    }
}
