//! Base URLs with per-instance variables: `https://{subdomain}.example.com/api` names the
//! configuration field `subdomain`, filled in from each instance's configuration per call. Values
//! are limited to letters, digits, '-', '_' and '.', so a value can pick a tenant but never move a
//! call to another host or path.

use crate::ConnectorError;
use crate::catalog::EndpointRewrites;
use ferry_model::Secret;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    parts: Vec<Part>,
}

impl BaseUrl {
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("{template:?}: '{{' without '}}'"))?;
            let name = &after[..close];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(format!(
                    "{template:?}: {{{name}}} must name a configuration field"
                ));
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("{template:?}: '}}' without '{{'"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(BaseUrl { parts })
    }

    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The URL with every variable replaced by a harmless value, for checking its shape.
    pub(crate) fn example(&self) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Variable(_) => "x",
            })
            .collect()
    }

    /// The URL of one instance; rewrites apply to the filled-in URL.
    pub(crate) fn fill(
        &self,
        plain: Option<&BTreeMap<String, String>>,
        secret: Option<&BTreeMap<String, Secret>>,
        rewrites: &EndpointRewrites,
    ) -> Result<String, ConnectorError> {
        let mut url = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => url.push_str(text),
                Part::Variable(name) => {
                    let value = plain
                        .and_then(|values| values.get(name).cloned())
                        .or_else(|| {
                            secret.and_then(|values| values.get(name).map(|s| s.expose().to_owned()))
                        })
                        .filter(|value| !value.trim().is_empty())
                        .ok_or_else(|| {
                            ConnectorError::input(
                                name,
                                format!("the instance has no value for configuration field {name}, which the connector's base URL needs"),
                            )
                        })?;
                    if !value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                        || value.contains("..")
                    {
                        return Err(ConnectorError::input(
                            name,
                            format!(
                                "configuration field {name} may hold only letters, digits, '-', '_' and '.'"
                            ),
                        ));
                    }
                    url.push_str(&value);
                }
            }
        }
        Ok(rewrites.apply(&url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_and_checked() {
        let base = BaseUrl::parse("https://{subdomain}.example.test/api").unwrap();
        assert_eq!(base.variables().collect::<Vec<_>>(), ["subdomain"]);
        let values = BTreeMap::from([("subdomain".to_owned(), "acme".to_owned())]);
        assert_eq!(
            base.fill(Some(&values), None, &EndpointRewrites::new())
                .unwrap(),
            "https://acme.example.test/api"
        );
        let evil = BTreeMap::from([("subdomain".to_owned(), "evil.test/x?".to_owned())]);
        assert!(
            base.fill(Some(&evil), None, &EndpointRewrites::new())
                .is_err()
        );
        assert!(base.fill(None, None, &EndpointRewrites::new()).is_err());
        assert!(BaseUrl::parse("https://{sub.example.test").is_err());
        assert_eq!(
            BaseUrl::parse("https://a.test")
                .unwrap()
                .variables()
                .count(),
            0
        );
    }
}
