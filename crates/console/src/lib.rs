//! ferry-console: the web console, server-rendered HTML for people. It owns the console's pages
//! and forms (askama templates checked at compile time), its session cookie and CSRF checks, and
//! the charts it draws as SVG; every asset comes from the binary. It depends on `ferry-app` for
//! everything a page does and on the model and store crates for the types it shows. Pages work
//! without JavaScript.

mod authenticate;
mod chart;
mod executions;
mod flows;
mod graph;
mod instances;
mod notice;
mod overview;
mod pages;
mod session;

use axum::Router;
use axum::routing::{get, post};
use ferry_app::App;

/// What every console handler can reach.
#[derive(Clone)]
pub(crate) struct ConsoleState {
    pub app: App,
}

/// Every console route, under `/console`.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/assets/console.css", get(pages::stylesheet))
        .route("/console/assets/console.js", get(pages::script))
        .route("/console/flows", get(flows::flows).post(flows::create_flow))
        .route(
            "/console/flows/{id}",
            get(flows::flow).post(flows::save_flow),
        )
        .route(
            "/console/flows/{id}/instances",
            post(flows::create_instance),
        )
        .route(
            "/console/flows/{id}/instances/{instance}/run",
            post(flows::run),
        )
        .route("/console/dashboard", get(overview::dashboard))
        .route("/console/settings", get(overview::settings))
        .route("/console/settings/secrets", post(overview::replace_secrets))
        .route("/console/executions", get(executions::executions))
        .route("/console/executions/rows", get(executions::rows))
        .route("/console/executions/{id}", get(executions::execution))
        .route("/console/executions/{id}/retry", post(executions::retry))
        .route("/console/executions/{id}/cancel", post(executions::cancel))
        .route("/console/connectors", get(instances::connectors))
        .route("/console/connectors/{key}", get(authenticate::connector))
        .route(
            "/console/connectors/{key}/instances",
            post(authenticate::authenticate),
        )
        .route("/console/instances", get(instances::instances))
        .route("/console/instances/{id}", get(instances::instance))
        .route(
            "/console/instances/{id}/docs",
            get(instances::instance_docs),
        )
        .route(
            "/console/instances/{id}/docs.json",
            get(instances::instance_document),
        )
        .route(
            "/console/assets/instance-docs.js",
            get(pages::instance_docs_script),
        )
        .route(
            "/console/instances/{id}/reauthenticate",
            post(instances::reauthenticate),
        )
        .route("/console/instances/{id}/enable", post(instances::enable))
        .route("/console/instances/{id}/disable", post(instances::disable))
        .route(
            "/console/instances/{id}/delete",
            get(instances::confirm_delete).post(instances::delete),
        )
        .route(
            "/console/proxies",
            get(pages::proxies).post(pages::publish_proxy),
        )
        .route("/console/proxies/{id}", get(pages::proxy))
        .route("/console/proxies/{id}/publish", post(pages::publish_again))
        .route("/console/proxies/{id}/unpublish", post(pages::unpublish))
        .route("/console/proxies/{id}/keys", post(pages::create_key))
        .route(
            "/console/proxies/{id}/keys/{key}/revoke",
            post(pages::revoke_key),
        )
        .route("/console/proxies/{id}/calls.csv", get(pages::calls_csv))
        .with_state(ConsoleState { app })
}
