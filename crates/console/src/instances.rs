//! The connector catalog and connector instances: see an instance's state (and where its vendor
//! sends webhook events), re-authenticate, disable, enable, delete. Authenticating is in
//! `authenticate`.

use crate::ConsoleState;
use crate::authenticate::uses_consent;
use crate::pages::{SignedIn, date_text, failed, in_words, render, sentence};
use crate::session::{CsrfForm, Person};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_app::{AppError, InstanceView, connector_missing_reason};
use ferry_model::InstanceId;
use ferry_model::instance::AuthorizationState;
use ferry_store::InstanceFilter;
use serde::Deserialize;

struct ConnectorCard {
    key: String,
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "connectors.html")]
struct ConnectorsPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    query: String,
    connectors: Vec<ConnectorCard>,
}

#[derive(Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
}

pub(crate) async fn connectors(
    State(state): State<ConsoleState>,
    person: Person,
    Query(search): Query<Search>,
) -> Response {
    let needle = search.q.trim().to_lowercase();
    let mut connectors: Vec<ConnectorCard> = state
        .app
        .catalog()
        .connectors()
        .filter(|c| {
            needle.is_empty()
                || c.def.name.to_lowercase().contains(&needle)
                || c.def.key.contains(&needle)
                || c.def.description.to_lowercase().contains(&needle)
        })
        .map(|c| ConnectorCard {
            key: c.def.key.clone(),
            name: c.def.name.clone(),
            description: c.def.description.trim().to_owned(),
        })
        .collect();
    connectors.sort_by(|a, b| a.name.cmp(&b.name));
    render(&ConnectorsPage {
        signed_in: Some(person.signed_in()),
        problem: None,
        query: search.q,
        connectors,
    })
}

struct InstanceRow {
    id: i64,
    name: String,
    connector: String,
    account: String,
    state: String,
    tags: String,
}

fn state_in_words(view: &InstanceView) -> (String, &'static str) {
    let instance = &view.instance;
    if view.connector.is_none() {
        return (
            sentence(&connector_missing_reason(&instance.connector_key)),
            "warning",
        );
    }
    if instance.disabled {
        return (
            "Disabled: calls are refused until it is enabled".into(),
            "off",
        );
    }
    match instance.state {
        AuthorizationState::Active => ("Active".into(), "active"),
        AuthorizationState::Pending => ("Waiting for the provider's consent".into(), "warning"),
        AuthorizationState::NeedsReauthentication => (
            format!(
                "Needs re-authentication: the provider rejected its grant ({})",
                instance.state_reason.as_deref().unwrap_or("revoked")
            ),
            "warning",
        ),
    }
}

#[derive(Template)]
#[template(path = "instances.html")]
struct InstancesPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    instances: Vec<InstanceRow>,
}

pub(crate) async fn instances(State(state): State<ConsoleState>, person: Person) -> Response {
    let views = match state
        .app
        .list_instances(&person.session.principal, &InstanceFilter::default())
        .await
    {
        Ok(views) => views,
        Err(error) => return failed(&error),
    };
    render(&InstancesPage {
        signed_in: Some(person.signed_in()),
        problem: None,
        instances: views
            .iter()
            .map(|view| InstanceRow {
                id: view.instance.id.0,
                name: view.instance.name.clone(),
                connector: view.connector_name().to_owned(),
                account: view.instance.account.clone().unwrap_or_default(),
                state: state_in_words(view).0,
                tags: view.instance.tags.join(", "),
            })
            .collect(),
    })
}

struct InstanceFacts {
    id: i64,
    name: String,
    connector: String,
    account: String,
    tags: String,
    created: String,
    state: String,
    state_class: &'static str,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "instance.html")]
struct InstancePage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    instance: InstanceFacts,
    configuration: Vec<(String, String)>,
    /// Only a consent-granted instance can be re-authenticated; other credentials are typed in.
    reauthenticates: bool,
    events_webhook: Option<EventsWebhook>,
}

/// Where the vendor posts this instance's events, and how it signs them.
struct EventsWebhook {
    url: String,
    signature_header: String,
    secret_field: String,
}

fn events_webhook(view: &InstanceView) -> Option<EventsWebhook> {
    let url = view.events_webhook_url.clone()?;
    let def = &view.connector.as_ref()?.def;
    let signature = &def.events.as_ref()?.webhook.as_ref()?.signature;
    Some(EventsWebhook {
        url,
        signature_header: signature.header.clone(),
        secret_field: def
            .configuration_field(&signature.secret_field)
            .map(|field| field.name.clone())
            .unwrap_or_else(|| signature.secret_field.clone()),
    })
}

fn instance_id(text: &str) -> Result<InstanceId, AppError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("there is no instance {text:?}")))
}

async fn instance_page(
    state: &ConsoleState,
    person: &Person,
    id: &str,
    problem: Option<String>,
) -> Result<Response, AppError> {
    let view = state
        .app
        .get_instance(&person.session.principal, instance_id(id)?)
        .await?;
    let (state_text, state_class) = state_in_words(&view);
    let instance = &view.instance;
    Ok(render(&InstancePage {
        signed_in: Some(person.signed_in()),
        problem,
        csrf: person.session.csrf_token.clone(),
        configuration: view.masked_configuration().into_iter().collect(),
        reauthenticates: view
            .connector
            .as_ref()
            .is_some_and(|connector| uses_consent(&connector.def)),
        events_webhook: events_webhook(&view),
        instance: InstanceFacts {
            id: instance.id.0,
            name: instance.name.clone(),
            connector: view.connector_name().to_owned(),
            account: instance
                .account
                .clone()
                .unwrap_or_else(|| "not known yet".into()),
            tags: if instance.tags.is_empty() {
                "none".into()
            } else {
                instance.tags.join(", ")
            },
            created: date_text(instance.created_at_ms),
            state: state_text,
            state_class,
            disabled: instance.disabled,
        },
    }))
}

pub(crate) async fn instance(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    instance_page(&state, &person, &id, None)
        .await
        .unwrap_or_else(|error| failed(&error))
}

/// A new consent for the instance, in the consent tab.
pub(crate) async fn reauthenticate(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let started = match instance_id(&id) {
        Ok(id) => {
            state
                .app
                .start_reauthorization(&person.session.principal, id)
                .await
        }
        Err(error) => Err(error),
    };
    match started {
        Ok(started) => Redirect::to(&started.oauth_url).into_response(),
        Err(error) => {
            let problem = in_words(&error);
            instance_page(&state, &person, &id, Some(problem))
                .await
                .unwrap_or_else(|error| failed(&error))
        }
    }
}

async fn set_enabled(
    state: &ConsoleState,
    person: &Person,
    id: &str,
    csrf: &str,
    enabled: bool,
) -> Response {
    if let Err(refused) = person.check_form(csrf) {
        return refused.into_response();
    }
    let changed = match instance_id(id) {
        Ok(id) => {
            state
                .app
                .set_instance_enabled(&person.session.principal, id, enabled)
                .await
        }
        Err(error) => Err(error),
    };
    match changed {
        Ok(view) => {
            Redirect::to(&format!("/console/instances/{}", view.instance.id)).into_response()
        }
        Err(error) => failed(&error),
    }
}

pub(crate) async fn enable(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    set_enabled(&state, &person, &id, &form.csrf, true).await
}

pub(crate) async fn disable(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    set_enabled(&state, &person, &id, &form.csrf, false).await
}

#[derive(Template)]
#[template(path = "delete_instance.html")]
struct DeletePage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    id: i64,
    name: String,
}

/// Deleting asks first, on a page of its own.
pub(crate) async fn confirm_delete(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let view = match instance_id(&id) {
        Ok(id) => state.app.get_instance(&person.session.principal, id).await,
        Err(error) => Err(error),
    };
    match view {
        Ok(view) => render(&DeletePage {
            signed_in: Some(person.signed_in()),
            problem: None,
            csrf: person.session.csrf_token.clone(),
            id: view.instance.id.0,
            name: view.instance.name.clone(),
        }),
        Err(error) => failed(&error),
    }
}

pub(crate) async fn delete(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let deleted = match instance_id(&id) {
        Ok(id) => {
            state
                .app
                .delete_instance(&person.session.principal, id)
                .await
        }
        Err(error) => Err(error),
    };
    match deleted {
        Ok(()) => Redirect::to("/console/instances").into_response(),
        Err(error) => failed(&error),
    }
}

#[derive(Template)]
#[template(path = "instance_docs.html")]
struct InstanceDocsPage {
    id: i64,
    name: String,
    csrf: String,
}

/// The instance's API docs with "Try it out" ready: calls go through the console's session.
pub(crate) async fn instance_docs(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let view = match instance_id(&id) {
        Ok(id) => state.app.get_instance(&person.session.principal, id).await,
        Err(error) => Err(error),
    };
    match view {
        Ok(view) => render(&InstanceDocsPage {
            id: view.instance.id.0,
            name: view.instance.name.clone(),
            csrf: person.session.csrf_token.clone(),
        }),
        Err(error) => failed(&error),
    }
}

/// The instance's OpenAPI document, served at the console's hub path.
pub(crate) async fn instance_document(
    State(state): State<ConsoleState>,
    person: Person,
    Path(id): Path<String>,
) -> Response {
    let view = match instance_id(&id) {
        Ok(id) => state.app.get_instance(&person.session.principal, id).await,
        Err(error) => Err(error),
    };
    let view = view.and_then(|view| Ok((view.installed_connector()?.clone(), view)));
    match view {
        Ok((connector, view)) => axum::Json(ferry_connectors::connector_openapi(
            &connector.def,
            &ferry_connectors::DocsTarget {
                server_url: format!("/console/instances/{}/api", view.instance.id),
                instance: Some(ferry_connectors::DocumentedInstance {
                    id: view.instance.id.0,
                    name: view.instance.name.clone(),
                }),
            },
        ))
        .into_response(),
        Err(error) => failed(&error),
    }
}
