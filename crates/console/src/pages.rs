//! The console's pages: API proxies (publish, keys, usage). Every form posts back with the
//! session's CSRF token; problems are shown in words on the page they concern.

use crate::session::{CsrfForm, Person};
use crate::{ConsoleState, chart};
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ferry_app::{AppError, KeyInput, ProxyInput};
use ferry_model::proxy::{KeyScopes, Proxy, ProxyKey, RateLimit};
use ferry_model::{InstanceId, ProxyId, ProxyKeyId};
use ferry_store::{InstanceFilter, UsageGroup, UsageQuery};
use serde::Deserialize;
use std::collections::BTreeMap;

const STYLESHEET: &str = include_str!("console.css");
const SCRIPT: &str = include_str!("console.js");
const INSTANCE_DOCS_SCRIPT: &str = include_str!("instance-docs.js");

/// The person a page is rendered for (the layout's header).
pub(crate) struct SignedIn {
    pub email: String,
    pub csrf: String,
}

pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "a console page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown; ferry's log has the details.",
            )
                .into_response()
        }
    }
}

/// An error as a sentence for a person (the field it concerns first).
pub(crate) fn in_words(error: &AppError) -> String {
    match error {
        AppError::InvalidInput {
            field: Some(field),
            message,
        } => format!("{}: {message}", field_label(field)),
        AppError::Internal(_) => {
            "Something went wrong inside ferry; its log has the details.".to_owned()
        }
        // The vendor's own words say what to fix (a wrong client secret, an unknown account).
        AppError::Provider {
            message,
            provider_message: Some(said),
            ..
        }
        | AppError::CredentialsRefused {
            message,
            provider_message: Some(said),
            ..
        } => format!("{} (the provider said: {said})", sentence(message)),
        other => sentence(&other.to_string()),
    }
}

/// `text` with a capital first letter.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A field as a person knows it: its label, with the path inside it when the problem is deeper
/// (`Rate limit (rateLimit.requests)`). Names with dots of their own (`oauth.api.key`) are
/// matched whole before the first segment is.
fn field_label(field: &str) -> String {
    let base = field.split(['[', '.']).next().unwrap_or(field);
    match known_label(field) {
        Some(label) => label.to_owned(),
        None => match known_label(base) {
            Some(label) => format!("{label} ({field})"),
            None if field.len() > base.len() => format!("{base} ({field})"),
            None => field.to_owned(),
        },
    }
}

fn known_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "basePath" => "Base path",
        "instanceId" => "Instance",
        "operations" => "Operations to expose",
        "corsOrigins" => "Browser origins allowed",
        "rateLimit" => "Rate limit",
        "dailyQuota" => "Daily quota",
        "name" => "Name",
        "args" => "Trigger arguments",
        "oauth.api.key" => "OAuth API Key",
        "oauth.api.secret" => "OAuth API Secret",
        "element" => "Connector",
        "scopes" => "Methods it may call",
        "password" => "Password",
        "email" => "Email",
        "configuration" => "Configuration",
        _ => return None,
    })
}

pub(crate) fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn rate_text(limit: &RateLimit) -> String {
    if limit.seconds == 1 {
        format!("{} calls per second", limit.requests)
    } else {
        format!("{} calls per {} seconds", limit.requests, limit.seconds)
    }
}

pub(crate) fn date_text(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

pub(crate) async fn home(person: Result<Person, Response>) -> Response {
    match person {
        Ok(_) => Redirect::to("/console/dashboard").into_response(),
        Err(to_sign_in) => to_sign_in,
    }
}

pub(crate) async fn instance_docs_script() -> Response {
    javascript(INSTANCE_DOCS_SCRIPT)
}

pub(crate) async fn script() -> Response {
    javascript(SCRIPT)
}

fn javascript(source: &'static str) -> Response {
    let mut response = source.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    response
}

pub(crate) async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}

struct ProxyRow {
    id: i64,
    name: String,
    base_path: String,
    instance: String,
    rate: String,
    state: &'static str,
}

struct InstanceChoice {
    id: i64,
    label: String,
}

/// What the publish form held, to show it again next to its problem.
#[derive(Deserialize)]
pub(crate) struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    base_path: String,
    #[serde(default)]
    instance_id: String,
    #[serde(default)]
    operations: String,
    #[serde(default)]
    cors_origins: String,
    #[serde(default)]
    rate_requests: String,
    #[serde(default)]
    rate_seconds: String,
    #[serde(default)]
    daily_quota: String,
}

impl Default for PublishForm {
    fn default() -> Self {
        PublishForm {
            csrf: String::new(),
            name: String::new(),
            base_path: String::new(),
            instance_id: String::new(),
            operations: String::new(),
            cors_origins: String::new(),
            rate_requests: "10".into(),
            rate_seconds: "1".into(),
            daily_quota: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "proxies.html")]
struct ProxiesPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    proxies: Vec<ProxyRow>,
    instances: Vec<InstanceChoice>,
    form: PublishForm,
}

async fn proxies_page(
    state: &ConsoleState,
    person: &Person,
    form: PublishForm,
    problem: Option<String>,
) -> Result<Response, AppError> {
    let principal = &person.session.principal;
    let instances = state
        .app
        .list_instances(principal, &InstanceFilter::default())
        .await?;
    let names: BTreeMap<i64, String> = instances
        .iter()
        .map(|view| (view.instance.id.0, view.instance.name.clone()))
        .collect();
    let proxies = state.app.list_proxies(principal).await?;
    let page = ProxiesPage {
        signed_in: Some(person.signed_in()),
        problem,
        csrf: person.session.csrf_token.clone(),
        proxies: proxies
            .iter()
            .map(|proxy| ProxyRow {
                id: proxy.id.0,
                name: proxy.name.clone(),
                base_path: proxy.base_path.clone(),
                instance: names
                    .get(&proxy.instance_id.0)
                    .cloned()
                    .unwrap_or_else(|| format!("instance {}", proxy.instance_id)),
                rate: rate_text(&proxy.rate_limit),
                state: if proxy.published {
                    "published"
                } else {
                    "unpublished"
                },
            })
            .collect(),
        instances: instances
            .iter()
            .map(|view| InstanceChoice {
                id: view.instance.id.0,
                label: format!(
                    "{} ({}, {})",
                    view.instance.name,
                    view.connector_name(),
                    view.instance.id
                ),
            })
            .collect(),
        form,
    };
    Ok(render(&page))
}

pub(crate) fn failed(error: &AppError) -> Response {
    let status = match error {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::ConnectorMissing { .. } => StatusCode::CONFLICT,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, in_words(error)).into_response()
}

pub(crate) async fn proxies(State(state): State<ConsoleState>, person: Person) -> Response {
    proxies_page(&state, &person, PublishForm::default(), None)
        .await
        .unwrap_or_else(|error| failed(&error))
}

fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, AppError> {
    text.trim().parse().map_err(|_| AppError::InvalidInput {
        field: Some(field.to_owned()),
        message: format!("{:?} is not a whole number", text.trim()),
    })
}

fn publish_input(form: &PublishForm) -> Result<ProxyInput, AppError> {
    let operations = list(&form.operations);
    Ok(ProxyInput {
        name: Some(form.name.trim().to_owned()),
        base_path: Some(form.base_path.trim().to_owned()),
        instance_id: Some(InstanceId(number("instanceId", &form.instance_id)?)),
        operations: Some((!operations.is_empty()).then_some(operations)),
        cors_origins: Some(list(&form.cors_origins)),
        rate_limit: Some(RateLimit {
            requests: number("rateLimit.requests", &form.rate_requests)?,
            seconds: number("rateLimit.seconds", &form.rate_seconds)?,
        }),
        daily_quota: Some(if form.daily_quota.trim().is_empty() {
            None
        } else {
            Some(number("dailyQuota", &form.daily_quota)?)
        }),
        max_request_bytes: None,
        published: Some(true),
    })
}

pub(crate) async fn publish_proxy(
    State(state): State<ConsoleState>,
    person: Person,
    Form(form): Form<PublishForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let created = match publish_input(&form) {
        Ok(input) => {
            state
                .app
                .create_proxy(&person.session.principal, input)
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(proxy) => Redirect::to(&format!("/console/proxies/{}", proxy.id)).into_response(),
        Err(error) => {
            let problem = in_words(&error);
            proxies_page(&state, &person, form, Some(problem))
                .await
                .unwrap_or_else(|error| failed(&error))
        }
    }
}

struct ProxyFacts {
    id: i64,
    name: String,
    base_path: String,
    instance: String,
    operations: String,
    cors: String,
    rate: String,
    quota: String,
    state: &'static str,
    published: bool,
}

struct KeyRow {
    id: i64,
    name: String,
    prefix: String,
    state: &'static str,
    created: String,
    active: bool,
}

struct NewKey {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "proxy.html")]
struct ProxyPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    proxy: ProxyFacts,
    keys: Vec<KeyRow>,
    new_key: Option<NewKey>,
    chart: String,
    chart_caption: String,
    key_usage: Vec<KeyUsage>,
}

/// Calls of one key in the last hour.
struct KeyUsage {
    key: String,
    calls: i64,
    average_ms: String,
}

fn proxy_id(text: &str) -> Result<ProxyId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("there is no proxy {text:?}")))
}

fn key_row(key: &ProxyKey, now_ms: i64) -> KeyRow {
    let state = if key.revoked_at_ms.is_some() {
        "revoked"
    } else if key.usable_at(now_ms) {
        "active"
    } else {
        "expired"
    };
    KeyRow {
        id: key.id.0,
        name: key.name.clone(),
        prefix: key.prefix.clone(),
        state,
        created: date_text(key.created_at_ms),
        active: state == "active",
    }
}

async fn proxy_page(
    state: &ConsoleState,
    person: &Person,
    id: ProxyId,
    new_key: Option<NewKey>,
    problem: Option<String>,
) -> Result<Response, AppError> {
    let principal = &person.session.principal;
    let proxy: Proxy = state.app.get_proxy(principal, id).await?;
    let instance = state
        .app
        .get_instance(principal, proxy.instance_id)
        .await
        .map(|view| view.instance.name)
        .unwrap_or_else(|_| format!("instance {}", proxy.instance_id));
    let keys = state.app.list_proxy_keys(principal, id).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let to = (now / 60_000 + 1) * 60_000;
    let usage = state
        .app
        .proxy_usage(
            principal,
            id,
            &UsageQuery {
                from_ms: to - 3_600_000,
                to_ms: to,
                bucket_ms: 60_000,
                group: UsageGroup::Status,
            },
        )
        .await?;
    let (chart, chart_caption) = chart::calls_per_minute(&usage, to - 3_600_000, to);
    let by_key = state
        .app
        .proxy_usage(
            principal,
            id,
            &UsageQuery {
                from_ms: to - 3_600_000,
                to_ms: to,
                bucket_ms: 3_600_000,
                group: UsageGroup::Key,
            },
        )
        .await?;
    let mut key_calls: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in &by_key {
        let entry = key_calls.entry(row.group.clone()).or_default();
        entry.0 += row.calls;
        entry.1 += row.latency_us_total;
    }
    let key_usage: Vec<KeyUsage> = key_calls
        .into_iter()
        .map(|(group, (calls, latency_us))| KeyUsage {
            key: keys
                .iter()
                .find(|key| key.id.0.to_string() == group)
                .map_or_else(|| "no valid key".to_owned(), |key| key.name.clone()),
            calls,
            average_ms: format!("{:.1}", latency_us as f64 / calls.max(1) as f64 / 1000.0),
        })
        .collect();
    let page = ProxyPage {
        signed_in: Some(person.signed_in()),
        problem,
        csrf: person.session.csrf_token.clone(),
        proxy: ProxyFacts {
            id: proxy.id.0,
            name: proxy.name.clone(),
            base_path: proxy.base_path.clone(),
            instance,
            operations: proxy
                .operations
                .as_ref()
                .map_or_else(|| "all of the connector's".to_owned(), |ops| ops.join(", ")),
            cors: if proxy.cors_origins.is_empty() {
                "none".to_owned()
            } else {
                proxy.cors_origins.join(", ")
            },
            rate: rate_text(&proxy.rate_limit),
            quota: proxy
                .daily_quota
                .map_or_else(|| "none".to_owned(), |quota| format!("{quota} calls")),
            state: if proxy.published {
                "published"
            } else {
                "unpublished: calls get 404"
            },
            published: proxy.published,
        },
        keys: keys.iter().map(|key| key_row(key, now)).collect(),
        new_key,
        chart,
        chart_caption,
        key_usage,
    };
    Ok(render(&page))
}

pub(crate) async fn proxy(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let id = match proxy_id(&id) {
        Ok(id) => id,
        Err(error) => return failed(&error),
    };
    let new_key = crate::notice::take(
        &state,
        &person,
        |notice| matches!(notice, crate::notice::Notice::NewKey { proxy, .. } if *proxy == id.0),
    )
    .await
    .and_then(|notice| match notice {
        crate::notice::Notice::NewKey { name, secret, .. } => Some(NewKey { name, secret }),
        crate::notice::Notice::NewSecrets { .. } => None,
    });
    let showing_secret = new_key.is_some();
    let mut response = proxy_page(&state, &person, id, new_key, None)
        .await
        .unwrap_or_else(|error| failed(&error));
    if showing_secret {
        // The page holds a secret: no cache may keep it.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn set_published(
    state: &ConsoleState,
    person: &Person,
    id: &str,
    csrf: &str,
    published: bool,
) -> Response {
    if let Err(refused) = person.check_form(csrf) {
        return refused.into_response();
    }
    let changed = match proxy_id(id) {
        Ok(id) => {
            state
                .app
                .update_proxy(
                    &person.session.principal,
                    id,
                    ProxyInput {
                        published: Some(published),
                        ..ProxyInput::default()
                    },
                )
                .await
        }
        Err(error) => Err(error),
    };
    match changed {
        Ok(proxy) => Redirect::to(&format!("/console/proxies/{}", proxy.id)).into_response(),
        Err(error) => failed(&error),
    }
}

pub(crate) async fn publish_again(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    set_published(&state, &person, &id, &form.csrf, true).await
}

pub(crate) async fn unpublish(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    set_published(&state, &person, &id, &form.csrf, false).await
}

#[derive(Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    methods: String,
}

/// The new key is shown once, on the page this form redirects to.
pub(crate) async fn create_key(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let id = match proxy_id(&id) {
        Ok(id) => id,
        Err(error) => return failed(&error),
    };
    let methods: Vec<String> = list(&form.methods)
        .into_iter()
        .map(|m| m.to_ascii_uppercase())
        .collect();
    let input = KeyInput {
        name: form.name.trim().to_owned(),
        scopes: KeyScopes {
            methods: (!methods.is_empty()).then_some(methods),
            operations: None,
        },
        ..KeyInput::default()
    };
    match state
        .app
        .create_proxy_key(&person.session.principal, id, input)
        .await
    {
        Ok(issued) => {
            let notice = crate::notice::Notice::NewKey {
                proxy: id.0,
                name: issued.key.name.clone(),
                secret: issued.secret.expose().to_owned(),
            };
            crate::notice::remember(&state, &person, &notice).await;
            Redirect::to(&format!("/console/proxies/{id}")).into_response()
        }
        Err(error) => proxy_page(&state, &person, id, None, Some(in_words(&error)))
            .await
            .unwrap_or_else(|error| failed(&error)),
    }
}

pub(crate) async fn revoke_key(
    State(state): State<ConsoleState>,
    person: Person,
    Path((id, key)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let revoked = match (proxy_id(&id), key.parse::<i64>()) {
        (Ok(id), Ok(key)) => state
            .app
            .revoke_proxy_key(&person.session.principal, id, ProxyKeyId(key))
            .await
            .map(|_| id),
        (Err(error), _) => Err(error),
        (_, Err(_)) => Err(AppError::NotFound(format!("there is no key {key:?}"))),
    };
    match revoked {
        Ok(id) => Redirect::to(&format!("/console/proxies/{id}")).into_response(),
        Err(error) => failed(&error),
    }
}

pub(crate) async fn calls_csv(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let id = match proxy_id(&id) {
        Ok(id) => id,
        Err(error) => return failed(&error),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let calls = match state
        .app
        .proxy_calls(
            &person.session.principal,
            id,
            now - 86_400_000,
            now + 1,
            100_000,
        )
        .await
    {
        Ok(calls) => calls,
        Err(error) => return failed(&error),
    };
    let csv = ferry_app::calls_as_csv(&calls);
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"proxy-{id}-calls.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    // `field_label` cut every field at its first dot, so `oauth.api.key` was looked up as `oauth`
    // and a problem with it read "oauth (oauth.api.key): …": its own label never applied.
    #[test]
    fn fields_whose_names_hold_dots_get_their_own_labels() {
        let problem = |field: &str| {
            in_words(&AppError::InvalidInput {
                field: Some(field.to_owned()),
                message: "is wrong".into(),
            })
        };
        assert_eq!(problem("oauth.api.key"), "OAuth API Key: is wrong");
        assert_eq!(problem("oauth.api.secret"), "OAuth API Secret: is wrong");
        assert_eq!(
            problem("rateLimit.requests"),
            "Rate limit (rateLimit.requests): is wrong"
        );
        assert_eq!(problem("name"), "Name: is wrong");
        assert_eq!(problem("jira.site"), "jira (jira.site): is wrong");
        assert_eq!(problem("tags"), "tags: is wrong");
    }
}
