//! Flows: the list, a new flow from JSON or a starter, the editor (the flow as a graph beside its
//! JSON, problems shown at the steps they concern), flow instances with their variables, and Run.

use crate::ConsoleState;
use crate::graph::flow_graph;
use crate::pages::{SignedIn, date_text, failed, in_words, render};
use crate::session::Person;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_app::{AppError, FlowInstanceInput};
use ferry_model::flow::FlowDef;
use ferry_model::{FlowId, FlowInstanceId};
use ferry_store::{FlowInstanceFilter, InstanceFilter};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

const STARTERS: [(&str, &str, &str); 2] = [
    (
        "send-email-with-gmail",
        "Send an email with Gmail (the seed's flow)",
        include_str!("../starters/send-email-with-gmail.json"),
    ),
    (
        "manual-script",
        "A script, run by hand",
        include_str!("../starters/manual-script.json"),
    ),
];

struct FlowRow {
    id: i64,
    name: String,
    trigger: String,
    steps: usize,
    updated: String,
}

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    flows: Vec<FlowRow>,
    starters: Vec<(String, &'static str)>,
    starter: String,
    definition: String,
    problems: Vec<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct StarterChoice {
    #[serde(default)]
    starter: String,
}

async fn flows_page(
    state: &ConsoleState,
    person: &Person,
    starter: &str,
    definition: Option<String>,
    problems: Vec<String>,
) -> Result<Response, AppError> {
    let flows = state.app.list_flows(&person.session.principal).await?;
    let chosen = STARTERS
        .iter()
        .find(|(key, _, _)| *key == starter)
        .unwrap_or(&STARTERS[0]);
    Ok(render(&FlowsPage {
        signed_in: Some(person.signed_in()),
        problem: None,
        csrf: person.session.csrf_token.clone(),
        flows: flows
            .iter()
            .map(|flow| FlowRow {
                id: flow.id.0,
                name: flow.def.name.clone(),
                trigger: flow
                    .def
                    .triggers
                    .first()
                    .map_or_else(|| "none".to_owned(), |t| t.kind.clone()),
                steps: flow.def.steps.len(),
                updated: date_text(flow.updated_at_ms),
            })
            .collect(),
        starters: STARTERS
            .iter()
            .map(|(key, label, _)| ((*key).to_owned(), *label))
            .collect(),
        starter: chosen.0.to_owned(),
        definition: definition.unwrap_or_else(|| chosen.2.trim().to_owned()),
        problems,
    }))
}

pub(crate) async fn flows(
    State(state): State<ConsoleState>,
    person: Person,
    Query(choice): Query<StarterChoice>,
) -> Response {
    flows_page(&state, &person, &choice.starter, None, Vec::new())
        .await
        .unwrap_or_else(|error| failed(&error))
}

#[derive(Deserialize)]
pub(crate) struct DefinitionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    definition: String,
}

/// The flow in the form, or why it is not one.
fn parse_definition(text: &str) -> Result<FlowDef, Vec<String>> {
    serde_json::from_str(text).map_err(|e| vec![format!("The JSON is not a flow: {e}")])
}

/// Problems in words, and the steps they concern.
fn problems_of(error: &AppError) -> (Vec<String>, HashSet<String>) {
    match error {
        AppError::InvalidFlow { problems } => (
            problems.iter().map(ToString::to_string).collect(),
            problems.iter().filter_map(|p| p.step.clone()).collect(),
        ),
        other => (vec![in_words(other)], HashSet::new()),
    }
}

pub(crate) async fn create_flow(
    State(state): State<ConsoleState>,
    person: Person,
    Form(form): Form<DefinitionForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let problems = match parse_definition(&form.definition) {
        Err(problems) => problems,
        Ok(def) => match state.app.create_flow(&person.session.principal, def).await {
            Ok(flow) => {
                return Redirect::to(&format!("/console/flows/{}", flow.id)).into_response();
            }
            Err(error) => problems_of(&error).0,
        },
    };
    flows_page(&state, &person, "", Some(form.definition), problems)
        .await
        .unwrap_or_else(|error| failed(&error))
}

struct InstanceTile {
    id: i64,
    name: String,
    active: bool,
    bindings: String,
}

struct VariableInput {
    key: String,
    label: String,
    /// For connector-instance variables: (id, label) of the organization's instances.
    instances: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "flow.html")]
struct FlowPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    id: i64,
    name: String,
    graph: String,
    graph_caption: String,
    definition: String,
    problems: Vec<String>,
    instances: Vec<InstanceTile>,
    variables: Vec<VariableInput>,
    manual: bool,
}

fn flow_id(text: &str) -> Result<FlowId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("there is no flow {text:?}")))
}

/// The editor; `submitted` is a definition that was not saved, shown with its problems.
async fn flow_page(
    state: &ConsoleState,
    person: &Person,
    id: FlowId,
    submitted: Option<(String, Vec<String>, HashSet<String>)>,
    problem: Option<String>,
) -> Result<Response, AppError> {
    let principal = &person.session.principal;
    let flow = state.app.get_flow(principal, id).await?;
    let (definition, problems, troubled, shown) = match submitted {
        Some((text, problems, troubled)) => {
            let shown = parse_definition(&text).unwrap_or_else(|_| flow.def.clone());
            (text, problems, troubled, shown)
        }
        None => (
            serde_json::to_string_pretty(&flow.def).unwrap_or_default(),
            Vec::new(),
            HashSet::new(),
            flow.def.clone(),
        ),
    };
    let (graph, graph_caption) = flow_graph(&shown, &troubled);
    let connector_instances: Vec<(String, String)> = state
        .app
        .list_instances(principal, &InstanceFilter::default())
        .await?
        .iter()
        .map(|view| {
            (
                view.instance.id.to_string(),
                format!("{} ({})", view.instance.name, view.connector_name()),
            )
        })
        .collect();
    let instances = state
        .app
        .list_flow_instances(
            principal,
            &FlowInstanceFilter {
                flow_id: Some(id),
                include_inactive: true,
                ..FlowInstanceFilter::default()
            },
            None,
        )
        .await?;
    Ok(render(&FlowPage {
        signed_in: Some(person.signed_in()),
        problem,
        csrf: person.session.csrf_token.clone(),
        id: flow.id.0,
        name: flow.def.name.clone(),
        graph,
        graph_caption,
        definition,
        problems,
        manual: flow
            .def
            .triggers
            .first()
            .is_some_and(|t| t.kind == "manual"),
        instances: instances
            .iter()
            .map(|view| InstanceTile {
                id: view.instance.id.0,
                name: view.instance.name.clone(),
                active: view.instance.active,
                bindings: if view.instance.configuration.is_empty() {
                    "none".to_owned()
                } else {
                    view.instance
                        .configuration
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
            .collect(),
        variables: flow
            .def
            .configuration
            .iter()
            .map(|variable| VariableInput {
                key: variable.key.clone(),
                label: if variable.name.is_empty() {
                    variable.key.clone()
                } else {
                    format!("{} ({})", variable.name, variable.key)
                },
                instances: if variable.kind == "elementInstance" {
                    connector_instances.clone()
                } else {
                    Vec::new()
                },
            })
            .collect(),
    }))
}

pub(crate) async fn flow(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let shown = match flow_id(&id) {
        Ok(id) => flow_page(&state, &person, id, None, None).await,
        Err(error) => Err(error),
    };
    shown.unwrap_or_else(|error| failed(&error))
}

pub(crate) async fn save_flow(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<DefinitionForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let id = match flow_id(&id) {
        Ok(id) => id,
        Err(error) => return failed(&error),
    };
    let (problems, troubled) = match parse_definition(&form.definition) {
        Err(problems) => (problems, HashSet::new()),
        Ok(def) => match state
            .app
            .replace_flow(&person.session.principal, id, def)
            .await
        {
            Ok(flow) => {
                return Redirect::to(&format!("/console/flows/{}", flow.id)).into_response();
            }
            Err(error) => problems_of(&error),
        },
    };
    flow_page(
        &state,
        &person,
        id,
        Some((form.definition, problems, troubled)),
        None,
    )
    .await
    .unwrap_or_else(|error| failed(&error))
}

pub(crate) async fn create_instance(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Response {
    if let Err(refused) = person.check_form(fields.get("csrf").map_or("", String::as_str)) {
        return refused.into_response();
    }
    let id = match flow_id(&id) {
        Ok(id) => id,
        Err(error) => return failed(&error),
    };
    let mut configuration = Map::new();
    for (field, value) in &fields {
        if let Some(key) = field.strip_prefix("var.")
            && !value.trim().is_empty()
        {
            let value = value.trim();
            configuration.insert(
                key.to_owned(),
                value
                    .parse::<i64>()
                    .map_or_else(|_| Value::String(value.to_owned()), Value::from),
            );
        }
    }
    let input = FlowInstanceInput {
        name: fields.get("name").cloned(),
        active: Some(true),
        configuration,
        settings: Map::new(),
    };
    match state
        .app
        .create_flow_instance(&person.session.principal, id, input)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/flows/{id}")).into_response(),
        Err(error) => flow_page(&state, &person, id, None, Some(in_words(&error)))
            .await
            .unwrap_or_else(|error| failed(&error)),
    }
}

#[derive(Deserialize)]
pub(crate) struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    args: String,
}

/// Run: a manual execution with the given arguments; the browser goes to it.
pub(crate) async fn run(
    State(state): State<ConsoleState>,
    person: Person,
    Path((flow, instance)): Path<(String, String)>,
    Form(form): Form<RunForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let flow = match flow_id(&flow) {
        Ok(flow) => flow,
        Err(error) => return failed(&error),
    };
    let started = match (
        instance.parse::<i64>(),
        serde_json::from_str::<Value>(if form.args.trim().is_empty() {
            "{}"
        } else {
            &form.args
        }),
    ) {
        (Ok(instance), Ok(args)) => {
            state
                .app
                .start_manual_execution(&person.session.principal, FlowInstanceId(instance), args)
                .await
        }
        (Err(_), _) => Err(AppError::NotFound(format!(
            "there is no flow instance {instance:?}"
        ))),
        (_, Err(e)) => Err(AppError::InvalidInput {
            field: Some("args".into()),
            message: format!("the trigger arguments are not JSON: {e}"),
        }),
    };
    match started {
        Ok(executions) => match executions.first() {
            Some(execution) => {
                Redirect::to(&format!("/console/executions/{}", execution.id)).into_response()
            }
            None => Redirect::to("/console/executions").into_response(),
        },
        Err(error) => flow_page(&state, &person, flow, None, Some(in_words(&error)))
            .await
            .unwrap_or_else(|error| failed(&error)),
    }
}
