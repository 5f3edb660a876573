//! Every route of ferry's HTTP API, in one place. Handlers are named `<verb>_<resource>`.

use crate::{ApiError, ApiState, callback_page, elements, hub, instances, request_id};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{any, get, post};
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
        .fallback(fallback_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors)
        .layer(middleware::from_fn(request_id::assign))
        .with_state(state)
}
