//! The dashboard (plots a person would rather look at than read) and Settings (the
//! organization's users, and replacing one's API secrets).

use crate::ConsoleState;
use crate::chart;
use crate::pages::{SignedIn, date_text, failed, render};
use crate::session::{CsrfForm, Person};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_app::AppError;
use ferry_store::{UsageGroup, UsageQuery};
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    executions_chart: String,
    executions_caption: String,
    failures_chart: String,
    failures_caption: String,
    calls_chart: String,
    calls_caption: String,
}

async fn dashboard_page(state: &ConsoleState, person: &Person) -> Result<Response, AppError> {
    let principal = &person.session.principal;
    let now = chrono::Utc::now().timestamp_millis();
    let to = (now / 60_000 + 1) * 60_000;
    let activity = state
        .app
        .execution_activity(principal, to - HOUR_MS, to, 60_000)
        .await?;
    let (executions_chart, executions_caption) =
        chart::executions_per_minute(&activity, to - HOUR_MS, to);
    let failures = state.app.failures_by_flow(principal, now - DAY_MS).await?;
    let (failures_chart, failures_caption) =
        chart::bars(&failures, "#c62828", "failures", "Failures by flow.");
    // Calls per key across every proxy, named "key (proxy)".
    let mut per_key: BTreeMap<String, i64> = BTreeMap::new();
    for proxy in state.app.list_proxies(principal).await? {
        let keys = state.app.list_proxy_keys(principal, proxy.id).await?;
        let usage = state
            .app
            .proxy_usage(
                principal,
                proxy.id,
                &UsageQuery {
                    from_ms: now - DAY_MS,
                    to_ms: now + 1,
                    bucket_ms: DAY_MS * 2,
                    group: UsageGroup::Key,
                },
            )
            .await?;
        for row in usage {
            let key = keys
                .iter()
                .find(|key| key.id.0.to_string() == row.group)
                .map_or_else(|| "no valid key".to_owned(), |key| key.name.clone());
            *per_key
                .entry(format!("{key} ({})", proxy.name))
                .or_default() += row.calls;
        }
    }
    let mut calls: Vec<(String, i64)> = per_key.into_iter().collect();
    calls.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (calls_chart, calls_caption) =
        chart::bars(&calls, "#1a56a8", "calls", "Proxy calls per key.");
    Ok(render(&DashboardPage {
        signed_in: Some(person.signed_in()),
        problem: None,
        executions_chart,
        executions_caption,
        failures_chart,
        failures_caption,
        calls_chart,
        calls_caption,
    }))
}

pub(crate) async fn dashboard(State(state): State<ConsoleState>, person: Person) -> Response {
    dashboard_page(&state, &person)
        .await
        .unwrap_or_else(|error| failed(&error))
}

struct UserRow {
    email: String,
    name: String,
    since: String,
}

struct NewSecrets {
    user: String,
    organization: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    organization: String,
    users: Vec<UserRow>,
    new_secrets: Option<NewSecrets>,
}

async fn settings_page(
    state: &ConsoleState,
    person: &Person,
    new_secrets: Option<NewSecrets>,
) -> Result<Response, AppError> {
    let principal = &person.session.principal;
    let users = state.app.organization_users(principal).await?;
    let mut response = render(&SettingsPage {
        signed_in: Some(person.signed_in()),
        problem: None,
        csrf: person.session.csrf_token.clone(),
        organization: principal.organization.name.clone(),
        users: users
            .iter()
            .map(|user| UserRow {
                email: user.email.clone(),
                name: format!("{} {}", user.first_name, user.last_name)
                    .trim()
                    .to_owned(),
                since: date_text(user.created_at_ms),
            })
            .collect(),
        new_secrets,
    });
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) async fn settings(State(state): State<ConsoleState>, person: Person) -> Response {
    let new_secrets = crate::notice::take(&state, &person, |notice| {
        matches!(notice, crate::notice::Notice::NewSecrets { .. })
    })
    .await
    .and_then(|notice| match notice {
        crate::notice::Notice::NewSecrets { user, organization } => {
            Some(NewSecrets { user, organization })
        }
        crate::notice::Notice::NewKey { .. } => None,
    });
    settings_page(&state, &person, new_secrets)
        .await
        .unwrap_or_else(|error| failed(&error))
}

/// New User and Organization secrets, shown once on the page this form redirects to.
pub(crate) async fn replace_secrets(
    State(state): State<ConsoleState>,
    person: Person,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let email = person.session.principal.user.email.clone();
    match state.app.rotate_secrets(&email).await {
        Ok(secrets) => {
            let notice = crate::notice::Notice::NewSecrets {
                user: secrets.user_secret.expose().to_owned(),
                organization: secrets.organization_secret.expose().to_owned(),
            };
            crate::notice::remember(&state, &person, &notice).await;
            Redirect::to("/console/settings").into_response()
        }
        Err(error) => failed(&error),
    }
}
