//! Request parameters as Google reads them: `application/x-www-form-urlencoded` pairs where a
//! name may repeat (`labelIds=A&labelIds=B`).

/// Decoded name/value pairs in their original order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(encoded: &str) -> Self {
        Params(
            url::form_urlencoded::parse(encoded.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub(crate) fn from_query(uri: &http::Uri) -> Self {
        Self::parse(uri.query().unwrap_or_default())
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `name`.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The names given, in order (repeated names repeat).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Adds the pairs of `other` (for form bodies with parameters also in the query).
    pub(crate) fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }

    /// A boolean query parameter (`true`/`false`, Google also accepts `1`/`0`).
    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| v == "true" || v == "1")
    }
}
