//! The developer console as pages under `/console`: plain HTML forms, so a person (or a test with
//! an HTML parser) does the seed's first half as at Google — create a project, enable the Gmail
//! API, configure the OAuth consent screen, create a "Web application" client and note its id
//! and secret.

use super::{ConsentScreen, Project};
use crate::Emulator;
use crate::error::EmulatorError;
use crate::params::Params;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

const STYLE: &str = "body{margin:0;font-family:Roboto,Arial,sans-serif;color:#202124;background:#f8f9fa}\
header{background:#1a73e8;color:#fff;padding:12px 24px;font-size:18px}main{max-width:760px;margin:24px auto;padding:0 16px}\
section{background:#fff;border:1px solid #dadce0;border-radius:8px;padding:16px 24px;margin-bottom:16px}\
h1{font-size:22px;font-weight:400}h2{font-size:16px;font-weight:500}label{display:block;margin:8px 0 4px;font-size:14px}\
input,textarea,select{width:100%;box-sizing:border-box;padding:8px;font-size:14px}textarea{height:72px}\
button{margin-top:12px;background:#1a73e8;color:#fff;border:0;border-radius:4px;padding:8px 20px;cursor:pointer}\
.status{font-weight:500}.error{color:#d93025}code{background:#f1f3f4;padding:2px 4px}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} - Google Cloud console</title><style>{STYLE}</style></head>\
<body><header>Google Cloud console (emulator)</header><main>{body}</main></body></html>\n",
        text(title)
    )
}

fn page(title: &str, body: &str) -> Response {
    Html(layout(title, body)).into_response()
}

fn problem(error: EmulatorError) -> Response {
    let status = match error {
        EmulatorError::UnknownProject(_) => StatusCode::NOT_FOUND,
        EmulatorError::AlreadyExists { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = format!(
        "<h1>Something is not right</h1><p class=\"error\">{}</p><p><a href=\"/console\">Back to the projects</a></p>",
        text(&error.to_string())
    );
    (status, Html(layout("Error", &body))).into_response()
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// `GET /console`: the projects, and a form for a new one.
pub(crate) async fn get_console(State(emu): State<Emulator>) -> Response {
    let projects: String = emu
        .shared()
        .projects()
        .iter()
        .map(|p| {
            format!(
                "<li><a href=\"/console/projects/{}\">{}</a> ({})</li>",
                attr(&p.project_id),
                text(&p.name),
                text(&p.project_id)
            )
        })
        .collect();
    let body = format!(
        "<h1>Projects</h1><section><ul>{projects}</ul></section>\
<section><h2>New project</h2><form method=\"post\" action=\"/console/projects\">\
<label for=\"name\">Project name</label><input id=\"name\" name=\"name\" required>\
<label for=\"project_id\">Project ID (optional)</label><input id=\"project_id\" name=\"project_id\">\
<button type=\"submit\">Create</button></form></section>"
    );
    page("Projects", &body)
}

/// `POST /console/projects` (form: `name`, `project_id`)
pub(crate) async fn post_project(State(emu): State<Emulator>, form: Bytes) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&form));
    match emu.shared().create_project(
        form.get("name").unwrap_or_default(),
        form.non_empty("project_id"),
    ) {
        Ok(project) => see_other(&format!("/console/projects/{}", project.project_id)),
        Err(e) => problem(e),
    }
}

fn project_page(project: &Project, created: Option<(&str, &str)>) -> Response {
    let id = attr(&project.project_id);
    let (status, action, label) = if project.gmail_api_enabled {
        ("Enabled", "disable", "Disable API")
    } else {
        ("Not enabled", "enable", "Enable")
    };
    let screen = project.consent_screen.clone().unwrap_or_default();
    let clients: String = project
        .clients
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", text(c)))
        .collect();
    let created = created
        .map(|(client_id, secret)| {
            format!(
                "<section id=\"created\"><h2>OAuth client created</h2>\
<p>Client ID <code id=\"client_id\">{}</code></p><p>Client secret <code id=\"client_secret\">{}</code></p></section>",
                text(client_id),
                text(secret)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{name}</h1><p>Project ID <code>{id}</code> · Project number <code>{number}</code></p>{created}\
<section><h2>Gmail API</h2><p class=\"status\" id=\"gmail-status\">{status}</p>\
<form method=\"post\" action=\"/console/projects/{id}/apis/gmail\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
<button type=\"submit\">{label}</button></form></section>\
<section><h2>OAuth consent screen</h2><form method=\"post\" action=\"/console/projects/{id}/consent-screen\">\
<label for=\"product_name\">Product name shown to users</label><input id=\"product_name\" name=\"product_name\" value=\"{product}\" required>\
<label for=\"support_email\">Support email</label><input id=\"support_email\" name=\"support_email\" value=\"{support}\">\
<label for=\"authorized_domains\">Authorized domains (one per line)</label><textarea id=\"authorized_domains\" name=\"authorized_domains\">{domains}</textarea>\
<button type=\"submit\">Save</button></form></section>\
<section><h2>Credentials</h2><ul>{clients}</ul><h2>Create OAuth client ID</h2>\
<form method=\"post\" action=\"/console/projects/{id}/clients\">\
<label for=\"type\">Application type</label><select id=\"type\" name=\"type\"><option value=\"web\">Web application</option></select>\
<label for=\"client_name\">Name</label><input id=\"client_name\" name=\"name\" value=\"Web client 1\">\
<label for=\"redirect_uris\">Authorized redirect URIs (one per line)</label><textarea id=\"redirect_uris\" name=\"redirect_uris\"></textarea>\
<button type=\"submit\">Create</button></form></section><p><a href=\"/console\">All projects</a></p>",
        name = text(&project.name),
        number = project.project_number,
        product = attr(&screen.product_name),
        support = attr(&screen.support_email),
        domains = text(&screen.authorized_domains.join("\n")),
    );
    page(&project.name, &body)
}

/// `GET /console/projects/{project}`
pub(crate) async fn get_project(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
) -> Response {
    match emu.shared().project(&project) {
        Ok(project) => project_page(&project, None),
        Err(e) => problem(e),
    }
}

/// `POST /console/projects/{project}/apis/gmail` (form: `action` = enable | disable)
pub(crate) async fn post_gmail_api(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
    form: Bytes,
) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&form));
    let enabled = form.get("action") != Some("disable");
    match emu.shared().set_gmail_api(&project, enabled) {
        Ok(_) => see_other(&format!("/console/projects/{project}")),
        Err(e) => problem(e),
    }
}

fn lines(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(['\n', ','])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /console/projects/{project}/consent-screen`
pub(crate) async fn post_consent_screen(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
    form: Bytes,
) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&form));
    let screen = ConsentScreen {
        product_name: form.get("product_name").unwrap_or_default().to_owned(),
        support_email: form.get("support_email").unwrap_or_default().to_owned(),
        authorized_domains: lines(form.get("authorized_domains")),
    };
    match emu.shared().set_consent_screen(&project, screen) {
        Ok(_) => see_other(&format!("/console/projects/{project}")),
        Err(e) => problem(e),
    }
}

/// `POST /console/projects/{project}/clients`: shows the new client's id and secret.
pub(crate) async fn post_client(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
    form: Bytes,
) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&form));
    if form.get("type").is_some_and(|t| t != "web") {
        return problem(EmulatorError::InvalidField {
            field: "type",
            message: "only Web application clients are offered".into(),
        });
    }
    let shared = emu.shared();
    match shared.create_web_client(&project, lines(form.get("redirect_uris"))) {
        Ok(client) => match shared.project(&project) {
            Ok(updated) => project_page(&updated, Some((&client.client_id, &client.client_secret))),
            Err(e) => problem(e),
        },
        Err(e) => problem(e),
    }
}
