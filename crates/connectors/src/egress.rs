//! The one outbound HTTP layer for vendor calls: timeouts, token injection, refresh-and-retry once on
//! 401, and retries with backoff that honour `Retry-After` on 429/503 (and on other 5xx for methods
//! that are safe to repeat). Tokens never reach logs: requests are logged by method, origin and path.

use crate::ConnectorError;
use crate::vendor_errors::is_rate_limit_refusal;
use bytes::Bytes;
use ferry_model::Secret;
use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::future::Future;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why no usable token could be had.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CredentialsError {
    /// The provider rejected the grant; only a new consent helps. The text is the provider's reason.
    #[error("the instance needs to be re-authenticated: {0}")]
    NeedsReauthentication(String),
    /// The token could not be obtained right now (provider unreachable, …).
    #[error("no access token could be obtained: {0}")]
    Unavailable(String),
}

/// Supplies an instance's access token. Implemented by the application layer, which knows the
/// store, the OAuth client and single-flight refreshing.
pub trait Credentials: Sync {
    /// The token to send now (`None` for connectors without auth); refreshed first if near expiry.
    fn access_token(&self)
    -> impl Future<Output = Result<Option<Secret>, CredentialsError>> + Send;

    /// The vendor answered 401 to `rejected`: get a token that is not `rejected`, refreshing if needed.
    fn refresh_after_rejection(
        &self,
        rejected: &Secret,
    ) -> impl Future<Output = Result<Secret, CredentialsError>> + Send;
}

#[derive(Debug, Clone)]
pub struct EgressConfig {
    /// Whole-request timeout of one attempt.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with jitter.
    pub base_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the 429 goes back to the caller.
    pub max_retry_wait: Duration,
}

impl Default for EgressConfig {
    fn default() -> Self {
        EgressConfig {
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            base_backoff: Duration::from_millis(250),
            max_retry_wait: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct VendorRequest {
    pub method: Method,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub body: Option<Bytes>,
    /// The caller's values of the operation's header parameters, under the vendor's names.
    pub declared_headers: Vec<(String, String)>,
    /// Headers the connector's auth adds (an API key, HTTP Basic); never logged.
    pub headers: Vec<(String, Secret)>,
}

#[derive(Debug)]
pub(crate) struct VendorResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct Egress {
    http: reqwest::Client,
    config: EgressConfig,
}

impl Egress {
    pub fn new(config: EgressConfig) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            // Following a redirect could carry the token to another host; APIs answer in place.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Unreachable(format!("HTTP client: {e}")))?;
        Ok(Egress { http, config })
    }

    pub(crate) async fn send(
        &self,
        request: &VendorRequest,
        credentials: &impl Credentials,
    ) -> Result<VendorResponse, ConnectorError> {
        let mut token = credentials.access_token().await?;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.once(request, token.as_ref()).await;
            let repeatable = is_idempotent(&request.method);
            let response = match outcome {
                Ok(response) => response,
                Err(error) if repeatable && attempt < self.config.max_attempts => {
                    tracing::debug!(attempt, error = %error, "vendor call failed; retrying");
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if response.status == StatusCode::UNAUTHORIZED
                && !refreshed
                && let Some(rejected) = &token
            {
                refreshed = true;
                token = Some(credentials.refresh_after_rejection(rejected).await?);
                attempt -= 1;
                continue;
            }
            let retryable = is_retryable(response.status, repeatable)
                || is_rate_limit_refusal(response.status.as_u16(), &response.body);
            if attempt < self.config.max_attempts && retryable {
                let wait = retry_after(&response.headers).unwrap_or_else(|| self.backoff(attempt));
                if wait <= self.config.max_retry_wait {
                    tracing::debug!(
                        attempt,
                        status = response.status.as_u16(),
                        wait_ms = wait.as_millis() as u64,
                        "vendor asked to retry"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Ok(response);
        }
    }

    async fn once(
        &self,
        request: &VendorRequest,
        token: Option<&Secret>,
    ) -> Result<VendorResponse, ConnectorError> {
        let started = Instant::now();
        let mut builder = self.http.request(request.method.clone(), &request.url);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        for (name, value) in &request.declared_headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(token) = token {
            builder = builder.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.expose());
        }
        if let Some(content_type) = &request.content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let result = builder.send().await;
        let response = match result {
            Ok(response) => response,
            Err(error) => return Err(transport_error(error, self.config.timeout)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(e, self.config.timeout))?;
        tracing::debug!(
            method = %request.method,
            url = %loggable_url(&request.url),
            status = status.as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "vendor call"
        );
        Ok(VendorResponse {
            status,
            headers,
            body,
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.base_backoff.as_millis() as u64 * (1u64 << (attempt - 1).min(8));
        let jitter = rand::rng().random_range(0..=base / 2);
        Duration::from_millis(base + jitter)
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// 429 and 503 mean the vendor did not act, so any method may repeat; another 5xx may have acted,
/// so only requests that are safe to repeat are retried (a mail must not be sent twice).
fn is_retryable(status: StatusCode, idempotent: bool) -> bool {
    match status.as_u16() {
        429 | 503 => true,
        500 | 502 | 504 => idempotent,
        _ => false,
    }
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date
        .signed_duration_since(chrono::Utc::now())
        .num_milliseconds();
    Some(Duration::from_millis(wait.max(0) as u64))
}

fn transport_error(error: reqwest::Error, timeout: Duration) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::Timeout(timeout.as_secs())
    } else {
        ConnectorError::Unreachable(error.without_url().to_string())
    }
}

fn loggable_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_safe_requests_are_repeated_after_an_ambiguous_failure() {
        assert!(is_retryable(StatusCode::TOO_MANY_REQUESTS, false));
        assert!(is_retryable(StatusCode::SERVICE_UNAVAILABLE, false));
        assert!(!is_retryable(StatusCode::INTERNAL_SERVER_ERROR, false));
        assert!(is_retryable(StatusCode::INTERNAL_SERVER_ERROR, true));
        assert!(!is_retryable(StatusCode::BAD_REQUEST, true));
    }
}
