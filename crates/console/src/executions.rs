//! Executions: a list that updates itself while executions run, filtered by status and time, and
//! an execution's page with its step timeline, Retry and Cancel.

use crate::ConsoleState;
use crate::pages::{SignedIn, failed, render};
use crate::session::{CsrfForm, Person};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_app::{AppError, ExecutionQuery, Principal};
use ferry_model::ExecutionId;
use ferry_model::execution::{Execution, ExecutionStatus, StepExecution};
use ferry_store::FlowInstanceFilter;
use serde::Deserialize;
use std::collections::BTreeMap;

const STATUSES: [(&str, &str); 7] = [
    ("", "any"),
    ("pending", "running"),
    ("queued", "queued"),
    ("success", "succeeded"),
    ("failed", "failed"),
    ("cancelled", "cancelled"),
    ("retry", "waiting to retry"),
];

const PERIODS: [(&str, &str, i64); 4] = [
    ("hour", "in the last hour", 3_600_000),
    ("day", "in the last day", 86_400_000),
    ("week", "in the last week", 7 * 86_400_000),
    ("", "any time", 0),
];

fn time_text(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn took(execution: &Execution) -> String {
    match execution.finished_at_ms {
        Some(end) => duration_text((end - execution.created_at_ms) * 1000),
        None => "running".to_owned(),
    }
}

fn duration_text(micros: i64) -> String {
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{:.1} ms", micros as f64 / 1000.0)
    } else {
        format!("{:.2} s", micros as f64 / 1_000_000.0)
    }
}

fn status_words(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Queued => "Queued: waiting for a worker",
        ExecutionStatus::Pending => "Running",
        ExecutionStatus::Success => "Succeeded",
        ExecutionStatus::Failed => "Failed",
        ExecutionStatus::Cancelled => "Cancelled",
        ExecutionStatus::Retry => "Waiting to be retried",
    }
}

/// Flow instance id → "flow instance name (flow name)".
async fn flow_instance_names(
    state: &ConsoleState,
    principal: &Principal,
) -> Result<BTreeMap<i64, String>, AppError> {
    Ok(state
        .app
        .list_flow_instances(
            principal,
            &FlowInstanceFilter {
                include_inactive: true,
                ..FlowInstanceFilter::default()
            },
            None,
        )
        .await?
        .into_iter()
        .map(|view| {
            (
                view.instance.id.0,
                format!("{} ({})", view.instance.name, view.flow.def.name),
            )
        })
        .collect())
}

struct ExecutionRow {
    id: i64,
    flow_instance: String,
    trigger: String,
    status: &'static str,
    started: String,
    took: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct ExecutionFilters {
    #[serde(default)]
    status: String,
    #[serde(default = "default_period")]
    since: String,
    #[serde(default)]
    next: Option<String>,
}

fn default_period() -> String {
    "day".to_owned()
}

impl ExecutionFilters {
    fn query_string(&self, next: Option<&str>) -> String {
        let mut query = format!("status={}&since={}", self.status, self.since);
        if let Some(next) = next {
            query.push_str(&format!("&next={next}"));
        }
        query
    }
}

#[derive(Template)]
#[template(path = "executions.html")]
struct ExecutionsPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    statuses: Vec<(String, &'static str)>,
    periods: Vec<(String, &'static str)>,
    status: String,
    since: String,
    rows: Vec<ExecutionRow>,
    rows_url: String,
    next_page: Option<String>,
}

#[derive(Template)]
#[template(path = "execution_rows.html")]
struct ExecutionRows {
    rows: Vec<ExecutionRow>,
}

async fn execution_rows(
    state: &ConsoleState,
    person: &Person,
    filters: &ExecutionFilters,
) -> Result<(Vec<ExecutionRow>, Option<String>), AppError> {
    let principal = &person.session.principal;
    let window = PERIODS
        .iter()
        .find(|(value, _, _)| *value == filters.since)
        .map_or(0, |(_, _, ms)| *ms);
    let now = chrono::Utc::now().timestamp_millis();
    let page = state
        .app
        .list_executions(
            principal,
            &ExecutionQuery {
                status: (!filters.status.is_empty()).then(|| filters.status.clone()),
                from_ms: (window > 0).then_some(now - window),
                page_size: Some(50),
                next_page: filters.next.clone(),
                ..ExecutionQuery::default()
            },
        )
        .await?;
    let names = flow_instance_names(state, principal).await?;
    let rows = page
        .executions
        .iter()
        .map(|execution| ExecutionRow {
            id: execution.id.0,
            flow_instance: names
                .get(&execution.flow_instance_id.0)
                .cloned()
                .unwrap_or_else(|| format!("flow instance {}", execution.flow_instance_id)),
            trigger: execution.trigger_kind.clone(),
            status: execution.status.as_str(),
            started: time_text(execution.created_at_ms),
            took: took(execution),
        })
        .collect();
    Ok((rows, page.next_page))
}

pub(crate) async fn executions(
    State(state): State<ConsoleState>,
    person: Person,
    Query(filters): Query<ExecutionFilters>,
) -> Response {
    let (rows, next) = match execution_rows(&state, &person, &filters).await {
        Ok(found) => found,
        Err(error) => return failed(&error),
    };
    render(&ExecutionsPage {
        signed_in: Some(person.signed_in()),
        problem: None,
        statuses: STATUSES
            .iter()
            .map(|(v, l)| ((*v).to_owned(), *l))
            .collect(),
        periods: PERIODS
            .iter()
            .map(|(v, l, _)| ((*v).to_owned(), *l))
            .collect(),
        status: filters.status.clone(),
        since: filters.since.clone(),
        rows,
        rows_url: format!(
            "/console/executions/rows?{}",
            filters.query_string(filters.next.as_deref())
        ),
        next_page: next
            .map(|next| format!("/console/executions?{}", filters.query_string(Some(&next)))),
    })
}

/// The rows alone, for the list to update itself.
pub(crate) async fn rows(
    State(state): State<ConsoleState>,
    person: Person,
    Query(filters): Query<ExecutionFilters>,
) -> Response {
    match execution_rows(&state, &person, &filters).await {
        Ok((rows, _)) => render(&ExecutionRows { rows }),
        Err(error) => failed(&error),
    }
}

struct ExecutionFacts {
    id: i64,
    status: &'static str,
    status_words: &'static str,
    running: bool,
    error: Option<String>,
    flow_instance: String,
    trigger: String,
    attempt: i64,
    started: String,
    took: String,
}

struct StepView {
    name: String,
    kind: String,
    status: &'static str,
    took: String,
    attempts: i64,
    error: Option<String>,
    input: String,
    output: String,
    console: String,
    open: bool,
}

#[derive(Template)]
#[template(path = "execution.html")]
struct ExecutionPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    execution: ExecutionFacts,
    steps: Vec<StepView>,
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn step_view(step: &StepExecution) -> StepView {
    StepView {
        name: step.step_name.clone(),
        kind: step.step_kind.clone(),
        status: step.status.as_str(),
        took: duration_text(step.duration_us),
        attempts: step.attempts,
        error: step.error.clone(),
        input: pretty(&step.input),
        output: pretty(&step.output),
        console: step.console.join("\n"),
        open: step.seq > 0,
    }
}

fn execution_id(text: &str) -> Result<ExecutionId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("there is no execution {text:?}")))
}

async fn execution_page(
    state: &ConsoleState,
    person: &Person,
    id: &str,
    problem: Option<String>,
) -> Result<Response, AppError> {
    let principal = &person.session.principal;
    let (execution, steps) = state
        .app
        .get_execution(principal, execution_id(id)?)
        .await?;
    let names = flow_instance_names(state, principal).await?;
    let running = matches!(
        execution.status,
        ExecutionStatus::Queued | ExecutionStatus::Pending | ExecutionStatus::Retry
    );
    Ok(render(&ExecutionPage {
        signed_in: Some(person.signed_in()),
        problem,
        csrf: person.session.csrf_token.clone(),
        execution: ExecutionFacts {
            id: execution.id.0,
            status: execution.status.as_str(),
            status_words: status_words(execution.status),
            running,
            error: execution.error.clone(),
            flow_instance: names
                .get(&execution.flow_instance_id.0)
                .cloned()
                .unwrap_or_else(|| format!("flow instance {}", execution.flow_instance_id)),
            trigger: execution.trigger_kind.clone(),
            attempt: execution.attempt,
            started: time_text(execution.created_at_ms),
            took: took(&execution),
        },
        steps: steps.iter().map(step_view).collect(),
    }))
}

pub(crate) async fn execution(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    execution_page(&state, &person, &id, None)
        .await
        .unwrap_or_else(|error| failed(&error))
}

pub(crate) async fn retry(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let retried = match execution_id(&id) {
        Ok(id) => {
            state
                .app
                .retry_execution(&person.session.principal, id)
                .await
        }
        Err(error) => Err(error),
    };
    match retried {
        Ok(new) => Redirect::to(&format!("/console/executions/{}", new.id)).into_response(),
        Err(error) => execution_page(&state, &person, &id, Some(crate::pages::in_words(&error)))
            .await
            .unwrap_or_else(|error| failed(&error)),
    }
}

pub(crate) async fn cancel(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let cancelled = match execution_id(&id) {
        Ok(id) => {
            state
                .app
                .cancel_execution(&person.session.principal, id)
                .await
        }
        Err(error) => Err(error),
    };
    match cancelled {
        Ok(execution) => {
            Redirect::to(&format!("/console/executions/{}", execution.id)).into_response()
        }
        Err(error) => execution_page(&state, &person, &id, Some(crate::pages::in_words(&error)))
            .await
            .unwrap_or_else(|error| failed(&error)),
    }
}
