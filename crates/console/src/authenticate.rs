//! A connector's page and its Authenticate form, in one of two ways chosen by the connector's
//! auth. OAuth2's authorization-code grant gets ferry's hosted consent: the provider's pages open
//! in a tab of their own. Every other auth — API key, HTTP Basic, none, OAuth2 client
//! credentials — gets a form of the connector's own configuration fields, and the instance is
//! made at once by the service behind `POST /instances`. A secret the user typed is never written
//! back into a page.

use crate::ConsoleState;
use crate::pages::{SignedIn, failed, in_words, list, render};
use crate::session::Person;
use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_app::{AppError, InstanceInput};
use ferry_connectors::Connector;
use ferry_model::connector::{ConfigFieldDef, ConfigFieldKind, ConnectorDef, OAuth2Grant};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Form fields carrying a connector's configuration are named `configuration.<key>`, so that no
/// key a definition declares can collide with the form's own fields (`name`, `csrf`, `tags`).
const FIELD_PREFIX: &str = "configuration.";

/// What an Authenticate form held. The consent form fills the named fields; the configuration
/// form fills `name`, `tags` and `configuration`.
#[derive(Deserialize, Default)]
pub(crate) struct AuthenticateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    api_secret: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    tags: String,
    /// `configuration.<key>` → what was typed, for the connector's own fields.
    #[serde(flatten)]
    configuration: BTreeMap<String, String>,
}

impl AuthenticateForm {
    fn has_optional(&self) -> bool {
        !(self.api_key.is_empty() && self.scope.is_empty() && self.tags.is_empty())
    }

    fn typed(&self, key: &str) -> Option<&str> {
        self.configuration
            .get(&format!("{FIELD_PREFIX}{key}"))
            .map(String::as_str)
    }
}

/// The user makes an instance of this connector by consenting at the provider, not by typing its
/// credentials into ferry.
pub(crate) fn uses_consent(def: &ConnectorDef) -> bool {
    def.oauth2()
        .is_some_and(|oauth| oauth.grant == OAuth2Grant::AuthorizationCode)
}

/// The configuration fields a person fills in; ferry fills in the others itself.
fn fields_to_fill(def: &ConnectorDef) -> impl Iterator<Item = &ConfigFieldDef> {
    def.configuration
        .iter()
        .filter(|field| !field.provided_by_ferry)
}

/// One configuration field as the form shows it.
struct FieldInput {
    key: String,
    label: String,
    description: String,
    kind: ConfigFieldKind,
    required: bool,
    /// What the input holds: what the user typed, else the field's default; never a secret.
    value: String,
    /// Named by the problem shown above the form.
    invalid: bool,
    /// The user typed a secret here before the problem; it is not shown back, so it must be typed
    /// again.
    retype: bool,
}

impl FieldInput {
    fn is_password(&self) -> bool {
        self.kind == ConfigFieldKind::Password
    }

    fn is_boolean(&self) -> bool {
        self.kind == ConfigFieldKind::Boolean
    }

    fn is_text_area(&self) -> bool {
        self.kind == ConfigFieldKind::TextArea
    }

    fn checked(&self) -> bool {
        self.value == "true"
    }

    fn has_help(&self) -> bool {
        !self.description.is_empty() || self.retype
    }
}

/// A submitted form shown again, with what went wrong.
struct Retry {
    form: AuthenticateForm,
    problem: String,
    /// The configuration fields the problem is about, by key …
    invalid: Vec<String>,
    /// … and whether it is about the instance's name.
    name_invalid: bool,
}

#[derive(Template)]
#[template(path = "connector.html")]
struct ConnectorPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    csrf: String,
    key: String,
    name: String,
    description: String,
    consent: bool,
    form: AuthenticateForm,
    name_invalid: bool,
    /// The configuration form's fields, shown at once …
    fields: Vec<FieldInput>,
    /// … and behind "Show Optional Fields".
    optional_fields: Vec<FieldInput>,
}

impl ConnectorPage {
    fn shows_optional(&self) -> bool {
        !self.form.tags.is_empty() || self.optional_fields.iter().any(|f| f.invalid)
    }
}

fn field_inputs(def: &ConnectorDef, retry: Option<&Retry>) -> Vec<FieldInput> {
    fields_to_fill(def)
        .map(|field| {
            let typed = retry.and_then(|retry| retry.form.typed(&field.key));
            let value = match (field.kind, retry) {
                (ConfigFieldKind::Password, _) => String::new(),
                (_, None) => field.default.clone().unwrap_or_default(),
                // An unticked box sends nothing: it stays unticked.
                (_, Some(_)) => typed.unwrap_or_default().to_owned(),
            };
            FieldInput {
                key: field.key.clone(),
                label: field.name.clone(),
                description: field.description.trim().to_owned(),
                kind: field.kind,
                required: field.required,
                value,
                invalid: retry.is_some_and(|retry| retry.invalid.contains(&field.key)),
                retype: field.kind == ConfigFieldKind::Password
                    && typed.is_some_and(|typed| !typed.is_empty()),
            }
        })
        .collect()
}

fn connector_page(person: &Person, connector: &Connector, retry: Option<Retry>) -> Response {
    let def = &connector.def;
    let consent = uses_consent(def);
    let (fields, optional_fields) = if consent {
        (Vec::new(), Vec::new())
    } else {
        field_inputs(def, retry.as_ref())
            .into_iter()
            .partition(|input| {
                def.configuration_field(&input.key)
                    .is_none_or(|field| !field.optional_in_console)
            })
    };
    let (form, problem, name_invalid) = match retry {
        Some(retry) => (retry.form, Some(retry.problem), retry.name_invalid),
        None => (AuthenticateForm::default(), None, false),
    };
    render(&ConnectorPage {
        signed_in: Some(person.signed_in()),
        problem,
        csrf: person.session.csrf_token.clone(),
        key: def.key.clone(),
        name: def.name.clone(),
        description: def.description.trim().to_owned(),
        consent,
        form,
        name_invalid,
        fields,
        optional_fields,
    })
}

fn find_connector(state: &ConsoleState, key: &str) -> Result<std::sync::Arc<Connector>, AppError> {
    state
        .app
        .catalog()
        .get(key)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("there is no connector {key:?}")))
}

pub(crate) async fn connector(
    State(state): State<ConsoleState>,
    person: Person,
    Path(key): Path<String>,
) -> Response {
    match find_connector(&state, &key) {
        Ok(connector) => connector_page(&person, &connector, None),
        Err(error) => failed(&error),
    }
}

/// Makes the instance: by the provider's consent (this tab is the consent tab), or at once from
/// the configuration the user typed.
pub(crate) async fn authenticate(
    State(state): State<ConsoleState>,
    person: Person,
    Path(key): Path<String>,
    Form(form): Form<AuthenticateForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    let connector = match find_connector(&state, &key) {
        Ok(connector) => connector,
        Err(error) => return failed(&error),
    };
    if uses_consent(&connector.def) {
        start_consent(&state, &person, &connector, form).await
    } else {
        create_configured(&state, &person, &connector, form).await
    }
}

/// Creates the pending instance and sends this tab to the provider's consent.
async fn start_consent(
    state: &ConsoleState,
    person: &Person,
    connector: &Connector,
    form: AuthenticateForm,
) -> Response {
    let mut configuration = BTreeMap::new();
    for (field, value) in [
        ("oauth.api.key", &form.api_key),
        ("oauth.api.secret", &form.api_secret),
        ("oauth.scope", &form.scope),
    ] {
        if !value.trim().is_empty() {
            configuration.insert(field.to_owned(), value.trim().to_owned());
        }
    }
    let tags = list(&form.tags);
    let input = InstanceInput {
        connector: Some(connector.def.key.clone()),
        name: Some(form.name.trim().to_owned()),
        tags: (!tags.is_empty()).then_some(tags),
        configuration,
        code: None,
        external_authentication: None,
    };
    match state
        .app
        .start_hosted_authorization(&person.session.principal, input)
        .await
    {
        Ok(started) => Redirect::to(&started.oauth_url).into_response(),
        Err(error) => {
            let problem = in_words(&error);
            let retry = Retry {
                form,
                problem,
                invalid: Vec::new(),
                name_invalid: false,
            };
            connector_page(person, connector, Some(retry))
        }
    }
}

/// The configuration the form gives, and the required fields it leaves empty.
struct Entered {
    configuration: BTreeMap<String, String>,
    missing: Vec<String>,
}

fn entered(def: &ConnectorDef, form: &AuthenticateForm) -> Entered {
    let mut entered = Entered {
        configuration: BTreeMap::new(),
        missing: Vec::new(),
    };
    for field in fields_to_fill(def) {
        let typed = form.typed(&field.key).map(str::trim).unwrap_or_default();
        let value = match field.kind {
            ConfigFieldKind::Boolean => if typed == "true" { "true" } else { "false" }.to_owned(),
            _ if typed.is_empty() => field.default.clone().unwrap_or_default(),
            _ => typed.to_owned(),
        };
        if value.is_empty() {
            if field.required {
                entered.missing.push(field.key.clone());
            }
            continue;
        }
        entered.configuration.insert(field.key.clone(), value);
    }
    entered
}

/// "Site", "Site and API token", "Site, Account email and API token".
fn listed(labels: &[&str]) -> String {
    match labels {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
    }
}

/// "Site is required." / "Site, Account email and API token are required."
fn required_in_words(labels: &[&str]) -> String {
    match labels {
        [] => String::new(),
        [one] => format!("{one} is required."),
        _ => format!("{} are required.", listed(labels)),
    }
}

/// A configuration field as the form labels it.
fn label_of<'a>(def: &'a ConnectorDef, key: &'a str) -> &'a str {
    def.configuration_field(key)
        .map_or(key, |field| field.name.as_str())
}

/// The vendor's refusal of what was typed, naming the fields by their labels.
fn refused_in_words(def: &ConnectorDef, fields: &[String], said: Option<&str>) -> String {
    let labels: Vec<&str> = fields.iter().map(|key| label_of(def, key)).collect();
    let problem = format!(
        "The vendor refused the credentials in {}; check them and try again",
        listed(&labels)
    );
    match said {
        Some(said) => format!("{problem} (the provider said: {said})"),
        None => format!("{problem}."),
    }
}

/// Creates the instance from the configuration the user typed and goes to its page.
async fn create_configured(
    state: &ConsoleState,
    person: &Person,
    connector: &Connector,
    form: AuthenticateForm,
) -> Response {
    let def = &connector.def;
    let name = form.name.trim().to_owned();
    let entered = entered(def, &form);
    if name.is_empty() || !entered.missing.is_empty() {
        let labels: Vec<&str> = name
            .is_empty()
            .then_some("Instance name")
            .into_iter()
            .chain(entered.missing.iter().map(|key| label_of(def, key)))
            .collect();
        let retry = Retry {
            problem: required_in_words(&labels),
            form,
            invalid: entered.missing,
            name_invalid: name.is_empty(),
        };
        return connector_page(person, connector, Some(retry));
    }
    let tags = list(&form.tags);
    let input = InstanceInput {
        connector: Some(def.key.clone()),
        name: Some(name),
        tags: (!tags.is_empty()).then_some(tags),
        configuration: entered.configuration,
        code: None,
        external_authentication: None,
    };
    match state
        .app
        .create_instance(&person.session.principal, input)
        .await
    {
        Ok(view) => {
            Redirect::to(&format!("/console/instances/{}", view.instance.id)).into_response()
        }
        Err(AppError::CredentialsRefused {
            fields,
            provider_message,
            ..
        }) => {
            let retry = Retry {
                problem: refused_in_words(def, &fields, provider_message.as_deref()),
                invalid: fields,
                name_invalid: false,
                form,
            };
            connector_page(person, connector, Some(retry))
        }
        Err(error) => {
            let field = match &error {
                AppError::InvalidInput { field, .. } => field.as_deref(),
                _ => None,
            };
            let retry = Retry {
                invalid: field
                    .filter(|field| def.configuration_field(field).is_some())
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                name_invalid: field == Some("name"),
                problem: in_words(&error),
                form,
            };
            connector_page(person, connector, Some(retry))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_connectors::{Catalog, EndpointRewrites};

    fn bundled(key: &str) -> ConnectorDef {
        Catalog::embedded(&EndpointRewrites::new())
            .unwrap()
            .get(key)
            .unwrap()
            .def
            .clone()
    }

    fn typed(pairs: &[(&str, &str)]) -> AuthenticateForm {
        AuthenticateForm {
            configuration: pairs
                .iter()
                .map(|(key, value)| (format!("{FIELD_PREFIX}{key}"), (*value).to_owned()))
                .collect(),
            ..AuthenticateForm::default()
        }
    }

    #[test]
    fn only_the_authorization_code_grant_is_authenticated_by_consent() {
        assert!(uses_consent(&bundled("gmail")));
        assert!(!uses_consent(&bundled("github")));
        assert!(!uses_consent(&bundled("jira")));
    }

    #[test]
    fn required_fields_left_empty_are_named_and_the_rest_is_kept() {
        let jira = bundled("jira");
        let form = typed(&[("jira.site", " acme "), ("jira.email", "")]);
        let entered = entered(&jira, &form);
        assert_eq!(entered.missing, ["jira.email", "jira.api.token"]);
        assert_eq!(
            entered.configuration,
            BTreeMap::from([("jira.site".to_owned(), "acme".to_owned())])
        );
        assert_eq!(
            required_in_words(&["Account email", "API token"]),
            "Account email and API token are required."
        );
        assert_eq!(
            required_in_words(&["Instance name", "Site", "API token"]),
            "Instance name, Site and API token are required."
        );
        assert_eq!(required_in_words(&["Site"]), "Site is required.");
    }

    #[test]
    fn refused_credentials_are_named_by_their_labels() {
        let jira = bundled("jira");
        assert_eq!(
            refused_in_words(
                &jira,
                &["jira.email".into(), "jira.api.token".into()],
                Some("Client must be authenticated")
            ),
            "The vendor refused the credentials in Account email and API token; check them and try again (the provider said: Client must be authenticated)"
        );
        assert_eq!(
            refused_in_words(&jira, &["jira.api.token".into()], None),
            "The vendor refused the credentials in API token; check them and try again."
        );
    }

    #[test]
    fn a_form_shown_again_keeps_what_was_typed_but_never_a_secret() {
        let jira = bundled("jira");
        let retry = Retry {
            form: typed(&[
                ("jira.site", "acme"),
                ("jira.email", ""),
                ("jira.api.token", "s3cret-token"),
            ]),
            problem: "Account email is required.".into(),
            invalid: vec!["jira.email".into()],
            name_invalid: false,
        };
        let inputs = field_inputs(&jira, Some(&retry));
        let by_key = |key: &str| inputs.iter().find(|input| input.key == key).unwrap();
        assert_eq!(by_key("jira.site").value, "acme");
        assert!(by_key("jira.email").invalid && !by_key("jira.site").invalid);
        let token = by_key("jira.api.token");
        assert!(token.is_password() && token.value.is_empty() && token.retype);
    }

    #[test]
    fn defaults_fill_the_form_and_stand_in_for_what_is_left_empty() {
        let mut def = bundled("jira");
        def.configuration[0].default = Some("acme".into());
        def.configuration.push(ConfigFieldDef {
            key: "jira.sandbox".into(),
            name: "Sandbox".into(),
            description: String::new(),
            kind: ConfigFieldKind::Boolean,
            required: false,
            default: Some("true".into()),
            optional_in_console: true,
            provided_by_ferry: false,
        });
        let inputs = field_inputs(&def, None);
        assert_eq!(inputs[0].value, "acme");
        assert!(inputs.last().unwrap().checked(), "ticked by its default");
        let entered = entered(&def, &typed(&[("jira.site", "")]));
        assert_eq!(entered.configuration["jira.site"], "acme");
        assert_eq!(
            entered.configuration["jira.sandbox"], "false",
            "a box sent unticked is false"
        );
        assert!(!entered.missing.contains(&"jira.site".to_owned()));
    }
}
