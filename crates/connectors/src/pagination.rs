//! Paging, whatever the vendor's style: callers always page the Cloud Elements way (`pageSize`
//! and `nextPage` in, `Elements-Next-Page-Token` out, absent on the last page), and the
//! definition's `response.pagination` says what that means for the vendor — a cursor token, page
//! numbers, an item offset, or the `Link` header's `rel="next"` (whose URL, checked to stay on the
//! vendor's base URL, travels as an opaque token).

use crate::ConnectorError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_model::connector::PaginationDef;
use reqwest::header::{HeaderMap, LINK};
use serde_json::Value;

const NEXT_PAGE: &str = "nextPage";
const PAGE_SIZE: &str = "pageSize";

/// What one call asks of the vendor's paging, and how to read the next page from its reply.
#[derive(Debug)]
pub(crate) struct PagePlan<'d> {
    def: &'d PaginationDef,
    /// Added to the vendor query.
    pub query: Vec<(String, String)>,
    /// The vendor URL (path and query after the base URL) of a `Link` header's next page.
    pub link: Option<String>,
    position: u64,
    size: u64,
}

fn given<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(key, value)| key == name && !value.trim().is_empty())
        .map(|(_, value)| value.trim())
}

impl<'d> PagePlan<'d> {
    pub(crate) fn new(
        def: &'d PaginationDef,
        query: &[(String, String)],
    ) -> Result<Self, ConnectorError> {
        let page_size = given(query, PAGE_SIZE)
            .map(|value| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|size| (1..=10_000).contains(size))
                    .ok_or_else(|| {
                        ConnectorError::input(
                            PAGE_SIZE,
                            format!(
                                "pageSize must be a whole number from 1 to 10000, not {value:?}"
                            ),
                        )
                    })
            })
            .transpose()?;
        let next = given(query, NEXT_PAGE);
        let bad_token = || {
            ConnectorError::input(
                NEXT_PAGE,
                "nextPage is not a token this operation returned in Elements-Next-Page-Token",
            )
        };
        let mut plan = PagePlan {
            def,
            query: Vec::new(),
            link: None,
            position: 0,
            size: page_size.unwrap_or(0),
        };
        let size_parameter = match def {
            PaginationDef::Cursor {
                parameter,
                size_parameter,
                ..
            } => {
                if let Some(token) = next {
                    plan.query.push((parameter.clone(), token.to_owned()));
                }
                size_parameter
            }
            PaginationDef::Page {
                parameter,
                first_page,
                size_parameter,
                default_size,
                ..
            } => {
                plan.position = match next {
                    Some(token) => token.parse().map_err(|_| bad_token())?,
                    None => *first_page,
                };
                plan.size = page_size.unwrap_or(*default_size);
                plan.query
                    .push((parameter.clone(), plan.position.to_string()));
                size_parameter
            }
            PaginationDef::Offset {
                parameter,
                size_parameter,
                default_size,
                ..
            } => {
                plan.position = match next {
                    Some(token) => token.parse().map_err(|_| bad_token())?,
                    None => 0,
                };
                plan.size = page_size.unwrap_or(*default_size);
                plan.query
                    .push((parameter.clone(), plan.position.to_string()));
                size_parameter
            }
            PaginationDef::LinkHeader { size_parameter } => {
                if let Some(token) = next {
                    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad_token())?;
                    let link = String::from_utf8(bytes).map_err(|_| bad_token())?;
                    if !link.starts_with('/') || link.starts_with("//") {
                        return Err(bad_token());
                    }
                    plan.link = Some(link);
                }
                size_parameter
            }
        };
        if let (Some(name), Some(size)) = (size_parameter, page_size)
            && plan.link.is_none()
        {
            plan.query.push((name.clone(), size.to_string()));
        }
        Ok(plan)
    }

    /// The token of the next page, when the reply says one exists. `raw` is the vendor's whole
    /// reply, `items` what ferry returns (the list, after `response.root`), `base_url` the
    /// instance's base URL.
    pub(crate) fn next_token(
        &self,
        raw: &Value,
        items: &Value,
        headers: &HeaderMap,
        base_url: &str,
    ) -> Option<String> {
        let count = items.as_array().map_or(0, Vec::len) as u64;
        let total = |pointer: &Option<String>| {
            pointer
                .as_deref()
                .and_then(|p| raw.pointer(p))
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        };
        match self.def {
            PaginationDef::Cursor { token, .. } => raw
                .pointer(token)
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|token| !token.is_empty()),
            PaginationDef::Page {
                first_page,
                total: total_at,
                ..
            } => {
                let more = match total(total_at) {
                    Some(total) => (self.position + 1 - first_page) * self.size < total,
                    None => count >= self.size && count > 0,
                };
                more.then(|| (self.position + 1).to_string())
            }
            PaginationDef::Offset {
                total: total_at, ..
            } => {
                let more = match total(total_at) {
                    Some(total) => self.position + count < total && count > 0,
                    None => count >= self.size && count > 0,
                };
                more.then(|| (self.position + count).to_string())
            }
            PaginationDef::LinkHeader { .. } => {
                next_link(headers, base_url).map(|link| URL_SAFE_NO_PAD.encode(link))
            }
        }
    }
}

/// The path and query (relative to `base_url`'s origin) of the `rel="next"` link, if it stays
/// under the base URL.
fn next_link(headers: &HeaderMap, base_url: &str) -> Option<String> {
    let base = url::Url::parse(base_url).ok()?;
    for value in headers.get_all(LINK) {
        let value = value.to_str().ok()?;
        for link in value.split(',') {
            let mut pieces = link.split(';');
            let target = pieces.next()?.trim();
            let target = target.strip_prefix('<')?.strip_suffix('>')?;
            let is_next = pieces.any(|param| {
                let param = param.trim();
                param
                    .strip_prefix("rel=")
                    .map(|rel| rel.trim_matches('"'))
                    .is_some_and(|rel| rel.split_whitespace().any(|r| r == "next"))
            });
            if !is_next {
                continue;
            }
            let next = base.join(target).ok()?;
            if next.origin() != base.origin()
                || !next.path().starts_with(base.path().trim_end_matches('/'))
            {
                tracing::warn!(link = %target, "ignoring a next link that leaves the vendor's base URL");
                return None;
            }
            let mut relative = next.path().to_owned();
            if let Some(query) = next.query() {
                relative.push('?');
                relative.push_str(query);
            }
            return Some(relative);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn page_numbers_stop_at_a_short_page_or_the_total() {
        let def: PaginationDef = serde_json::from_value(json!({
            "style": "page", "parameter": "page", "size_parameter": "per_page", "default_size": 2
        }))
        .unwrap();
        let plan = PagePlan::new(&def, &query(&[("pageSize", "2"), ("nextPage", "")])).unwrap();
        assert_eq!(plan.query, query(&[("page", "1"), ("per_page", "2")]));
        let full = json!([1, 2]);
        assert_eq!(
            plan.next_token(&json!({}), &full, &HeaderMap::new(), "http://a.test")
                .as_deref(),
            Some("2")
        );
        let plan = PagePlan::new(&def, &query(&[("nextPage", "2")])).unwrap();
        assert_eq!(
            plan.next_token(&json!({}), &json!([1]), &HeaderMap::new(), "http://a.test"),
            None
        );
        assert!(PagePlan::new(&def, &query(&[("nextPage", "x")])).is_err());
        assert!(PagePlan::new(&def, &query(&[("pageSize", "0")])).is_err());
    }

    #[test]
    fn offsets_count_items_against_the_total() {
        let def: PaginationDef = serde_json::from_value(json!({
            "style": "offset", "parameter": "offset", "default_size": 2, "total": "/total"
        }))
        .unwrap();
        let plan = PagePlan::new(&def, &query(&[("nextPage", "2")])).unwrap();
        let raw = json!({"total": 5});
        assert_eq!(
            plan.next_token(&raw, &json!([1, 2]), &HeaderMap::new(), "http://a.test")
                .as_deref(),
            Some("4")
        );
        let plan = PagePlan::new(&def, &query(&[("nextPage", "4")])).unwrap();
        assert_eq!(
            plan.next_token(&raw, &json!([1]), &HeaderMap::new(), "http://a.test"),
            None
        );
    }

    #[test]
    fn link_headers_travel_as_tokens_and_stay_on_the_base_url() {
        let def = PaginationDef::LinkHeader {
            size_parameter: Some("per_page".into()),
        };
        let plan = PagePlan::new(&def, &[]).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            HeaderValue::from_static(
                "<http://a.test/api/items?page=1>; rel=\"prev\", <http://a.test/api/items?page=3&per_page=2>; rel=\"next\"",
            ),
        );
        let token = plan
            .next_token(&json!([]), &json!([]), &headers, "http://a.test/api")
            .unwrap();
        let next = PagePlan::new(&def, &query(&[("nextPage", &token)])).unwrap();
        assert_eq!(next.link.as_deref(), Some("/api/items?page=3&per_page=2"));
        headers.insert(
            LINK,
            HeaderValue::from_static("<http://evil.test/api/items?page=3>; rel=\"next\""),
        );
        assert_eq!(
            plan.next_token(&json!([]), &json!([]), &headers, "http://a.test/api"),
            None
        );
        assert!(PagePlan::new(&def, &query(&[("nextPage", "!!")])).is_err());
    }
}
