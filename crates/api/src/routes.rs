//! Every route of ferry's HTTP API, in one place. Handlers are named `<verb>_<resource>`; a
//! handler's `#[utoipa::path]` attribute gives its path and documentation, and `routes!` here
//! registers both, so the OpenAPI document and the router cannot disagree.

use crate::{
    ApiError, ApiState, callback_page, console_hub, docs_page, elements, formula_instances,
    formulas, hub, instance_events, instances, openapi, proxies, proxy_gateway, request_id,
};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{any, get};
use ferry_app::App;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// The JSON Schema of connector definitions (docs/connectors.md), for editors and generators.
async fn get_connector_definition_schema() -> axum::Json<serde_json::Value> {
    axum::Json(ferry_model::connector::ConnectorDef::json_schema())
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

/// Every documented route of `/elements/api-v2` and beside it; [`router`] adds the fallbacks.
fn documented_routes() -> OpenApiRouter<ApiState> {
    let api = OpenApiRouter::new()
        .routes(routes!(elements::list_elements, elements::create_element))
        .routes(routes!(elements::list_element_keys))
        .routes(routes!(
            elements::get_element,
            elements::replace_element,
            elements::delete_element
        ))
        .routes(routes!(elements::export_element))
        .routes(routes!(elements::clone_element))
        .routes(routes!(elements::get_element_metadata))
        .routes(routes!(
            elements::get_element_oauth_url,
            elements::create_element_oauth_url
        ))
        .routes(routes!(elements::get_element_docs))
        .routes(routes!(
            instances::list_element_instances,
            instances::create_element_instance
        ))
        .routes(routes!(
            instances::list_instances,
            instances::create_instance
        ))
        .routes(routes!(instances::create_instance_authorization))
        .routes(routes!(
            instances::get_instance,
            instances::update_instance,
            instances::replace_instance,
            instances::delete_instance
        ))
        .routes(routes!(
            instances::enable_instance,
            instances::disable_instance
        ))
        .routes(routes!(instances::reauthorize_instance))
        .routes(routes!(instances::get_instance_configuration))
        .routes(routes!(instances::get_instance_docs))
        .routes(routes!(proxies::list_proxies, proxies::create_proxy))
        .routes(routes!(
            proxies::get_proxy,
            proxies::update_proxy,
            proxies::delete_proxy
        ))
        .routes(routes!(proxies::list_proxy_keys, proxies::create_proxy_key))
        .routes(routes!(proxies::revoke_proxy_key))
        .routes(routes!(proxies::get_proxy_usage))
        .routes(routes!(proxies::export_proxy_calls))
        .routes(routes!(proxies::get_proxy_docs))
        .routes(routes!(formulas::list_formulas, formulas::create_formula))
        .routes(routes!(formula_instances::list_all_formula_instances))
        .routes(routes!(
            formula_instances::get_formula_execution,
            formula_instances::update_formula_execution
        ))
        .routes(routes!(formula_instances::list_formula_execution_steps))
        .routes(routes!(formula_instances::get_formula_execution_values))
        .routes(routes!(formula_instances::list_formula_execution_errors))
        .routes(routes!(formula_instances::retry_formula_execution))
        .routes(routes!(formula_instances::get_formula_step_execution))
        .routes(routes!(
            formula_instances::list_formula_step_execution_values
        ))
        .routes(routes!(
            formula_instances::get_formula_instance,
            formula_instances::replace_formula_instance,
            formula_instances::delete_formula_instance
        ))
        .routes(routes!(
            formula_instances::activate_formula_instance,
            formula_instances::deactivate_formula_instance
        ))
        .routes(routes!(
            formula_instances::list_formula_executions,
            formula_instances::create_formula_execution
        ))
        .routes(routes!(
            formulas::get_formula,
            formulas::replace_formula,
            formulas::update_formula,
            formulas::delete_formula
        ))
        .routes(routes!(formulas::export_formula))
        .routes(routes!(formulas::create_formula_step))
        .routes(routes!(
            formulas::replace_formula_step,
            formulas::delete_formula_step
        ))
        .routes(routes!(formulas::create_formula_trigger))
        .routes(routes!(
            formulas::get_formula_trigger,
            formulas::replace_formula_trigger,
            formulas::delete_formula_trigger
        ))
        .routes(routes!(formulas::create_formula_variable))
        .routes(routes!(
            formulas::replace_formula_variable,
            formulas::delete_formula_variable
        ))
        .routes(routes!(
            formula_instances::list_formula_instances,
            formula_instances::create_formula_instance
        ))
        .routes(routes!(
            formula_instances::get_formula_instance_by_formula,
            formula_instances::replace_formula_instance_by_formula,
            formula_instances::delete_formula_instance_by_formula
        ))
        .routes(routes!(
            formula_instances::activate_formula_instance_by_formula,
            formula_instances::deactivate_formula_instance_by_formula
        ))
        .routes(routes!(
            formula_instances::list_formula_executions_by_formula,
            formula_instances::create_formula_execution_by_formula
        ))
        .layer(DefaultBodyLimit::max(PLATFORM_BODY_LIMIT));
    // Vendors deliver events; their bodies may be larger than a platform call's.
    let event_deliveries = OpenApiRouter::new()
        .routes(routes!(instance_events::create_instance_events))
        .layer(DefaultBodyLimit::max(
            instance_events::EVENT_DELIVERY_BODY_LIMIT,
        ));
    OpenApiRouter::with_openapi(openapi::base_document())
        .nest("/elements/api-v2", api)
        .nest("/elements/api-v2", event_deliveries)
        .merge(
            OpenApiRouter::new()
                .routes(routes!(
                    formula_instances::create_webhook_call,
                    formula_instances::create_webhook_call_by_put
                ))
                .layer(DefaultBodyLimit::max(PLATFORM_BODY_LIMIT)),
        )
}

/// ferry's platform API document, as the router serves it at `/openapi.json`.
pub fn platform_openapi() -> utoipa::openapi::OpenApi {
    let (_, mut document) = documented_routes().split_for_parts();
    openapi::complete(&mut document);
    document
}

pub fn router(app: App) -> Router {
    let state = ApiState { app };
    let (documented, mut document) = documented_routes().split_for_parts();
    openapi::complete(&mut document);
    let document = std::sync::Arc::new(document);
    let hub = Router::new()
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
    documented
        .nest("/elements/api-v2", hub)
        .merge(docs_page::routes(document))
        .route("/health", get(get_health))
        .route(
            "/connector-definition.schema.json",
            get(get_connector_definition_schema),
        )
        .route("/oauth/callback", get(callback_page::oauth_callback))
        .layer(cors)
        // Proxies answer browsers by their own CORS origins, not the platform's.
        .merge(proxy_gateway::routes())
        .merge(console_hub::routes())
        .fallback(fallback_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}
