//! Every route of ferry's HTTP API, in one place. Handlers are named `<verb>_<resource>`.

use crate::{
    ApiError, ApiState, callback_page, elements, formula_instances, formulas, hub, instances,
    request_id,
};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{any, get, post, put};
use ferry_app::App;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

const EXPOSED_HEADERS: [&str; 7] = [
    "elements-returned-count",
    "elements-total-count",
    "elements-request-id",
    "elements-next-page-token",
    "elements-element-instance-id",
    "elements-error",
    "content-disposition",
];

/// Bodies of platform calls (instances, flows) are small; hub calls get [`hub::HUB_BODY_LIMIT`].
const PLATFORM_BODY_LIMIT: usize = 2 * 1024 * 1024;

async fn get_health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn fallback_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("{} is not a path of ferry", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    )
}

pub fn router(app: App) -> Router {
    let state = ApiState { app };
    let api = Router::new()
        .route("/elements", get(elements::list_elements))
        .route("/elements/keys", get(elements::list_element_keys))
        .route("/elements/{key}", get(elements::get_element))
        .route(
            "/elements/{key}/metadata",
            get(elements::get_element_metadata),
        )
        .route(
            "/elements/{key}/oauth/url",
            get(elements::get_element_oauth_url).post(elements::create_element_oauth_url),
        )
        .route(
            "/elements/{key}/instances",
            get(instances::list_element_instances).post(instances::create_element_instance),
        )
        .route(
            "/instances",
            get(instances::list_instances).post(instances::create_instance),
        )
        .route(
            "/instances/authorizations",
            post(instances::create_instance_authorization),
        )
        .route(
            "/instances/{id}",
            get(instances::get_instance)
                .patch(instances::update_instance)
                .put(instances::replace_instance)
                .delete(instances::delete_instance),
        )
        .route(
            "/instances/{id}/enabled",
            axum::routing::put(instances::enable_instance).delete(instances::disable_instance),
        )
        .route(
            "/instances/{id}/authorizations",
            post(instances::reauthorize_instance),
        )
        .route(
            "/instances/{id}/configuration",
            get(instances::get_instance_configuration),
        )
        .route(
            "/formulas",
            get(formulas::list_formulas).post(formulas::create_formula),
        )
        .route(
            "/formulas/instances",
            get(formula_instances::list_all_formula_instances),
        )
        .route(
            "/formulas/instances/executions/{id}",
            get(formula_instances::get_formula_execution)
                .patch(formula_instances::update_formula_execution),
        )
        .route(
            "/formulas/instances/executions/{id}/steps",
            get(formula_instances::list_formula_execution_steps),
        )
        .route(
            "/formulas/instances/executions/{id}/step-values",
            get(formula_instances::get_formula_execution_values),
        )
        .route(
            "/formulas/instances/executions/{id}/errors",
            get(formula_instances::list_formula_execution_errors),
        )
        .route(
            "/formulas/instances/executions/{id}/retries",
            put(formula_instances::retry_formula_execution),
        )
        .route(
            "/formulas/instances/executions/steps/{id}",
            get(formula_instances::get_formula_step_execution),
        )
        .route(
            "/formulas/instances/executions/steps/{id}/values",
            get(formula_instances::list_formula_step_execution_values),
        )
        .route(
            "/formulas/instances/{instance}",
            get(formula_instances::get_formula_instance)
                .put(formula_instances::replace_formula_instance)
                .delete(formula_instances::delete_formula_instance),
        )
        .route(
            "/formulas/instances/{instance}/active",
            put(formula_instances::activate_formula_instance)
                .delete(formula_instances::deactivate_formula_instance),
        )
        .route(
            "/formulas/instances/{instance}/executions",
            get(formula_instances::list_formula_executions)
                .post(formula_instances::create_formula_execution),
        )
        .route(
            "/formulas/{id}",
            get(formulas::get_formula)
                .put(formulas::replace_formula)
                .patch(formulas::update_formula)
                .delete(formulas::delete_formula),
        )
        .route("/formulas/{id}/export", get(formulas::export_formula))
        .route("/formulas/{id}/steps", post(formulas::create_formula_step))
        .route(
            "/formulas/{id}/steps/{step}",
            put(formulas::replace_formula_step).delete(formulas::delete_formula_step),
        )
        .route(
            "/formulas/{id}/triggers",
            post(formulas::create_formula_trigger),
        )
        .route(
            "/formulas/{id}/triggers/{trigger}",
            get(formulas::get_formula_trigger)
                .put(formulas::replace_formula_trigger)
                .delete(formulas::delete_formula_trigger),
        )
        .route(
            "/formulas/{id}/configuration",
            post(formulas::create_formula_variable),
        )
        .route(
            "/formulas/{id}/configuration/{variable}",
            put(formulas::replace_formula_variable).delete(formulas::delete_formula_variable),
        )
        .route(
            "/formulas/{id}/instances",
            get(formula_instances::list_formula_instances)
                .post(formula_instances::create_formula_instance),
        )
        .route(
            "/formulas/{id}/instances/{instance}",
            get(formula_instances::get_formula_instance)
                .put(formula_instances::replace_formula_instance)
                .delete(formula_instances::delete_formula_instance),
        )
        .route(
            "/formulas/{id}/instances/{instance}/active",
            put(formula_instances::activate_formula_instance)
                .delete(formula_instances::deactivate_formula_instance),
        )
        .route(
            "/formulas/{id}/instances/{instance}/executions",
            get(formula_instances::list_formula_executions)
                .post(formula_instances::create_formula_execution),
        )
        .layer(DefaultBodyLimit::max(PLATFORM_BODY_LIMIT))
        .route(
            "/hubs/{hub}/{*path}",
            any(hub::call_hub).layer(DefaultBodyLimit::max(hub::HUB_BODY_LIMIT)),
        )
        .fallback(any(hub::call_hub).layer(DefaultBodyLimit::max(hub::HUB_BODY_LIMIT)))
        .method_not_allowed_fallback(method_not_allowed);
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(EXPOSED_HEADERS.map(axum::http::HeaderName::from_static));
    Router::new()
        .nest("/elements/api-v2", api)
        .route("/health", get(get_health))
        .route("/oauth/callback", get(callback_page::oauth_callback))
        .route(
            "/hooks/{id}",
            axum::routing::post(formula_instances::create_webhook_call)
                .put(formula_instances::create_webhook_call)
                .layer(DefaultBodyLimit::max(PLATFORM_BODY_LIMIT)),
        )
        .fallback(fallback_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors)
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}
