//! The API documentation pages: Swagger UI (bundled in the binary, no CDN) for the platform at
//! `/docs` and for one instance at `/docs/instances/{id}`, where "Try it out" works at once. The
//! pages hold no secret: the browser asks for the user and organization secrets, keeps them in
//! its session storage (never in a URL), fetches the instance's token and document with them and
//! signs every call it makes.

use crate::{ApiError, ApiState};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use utoipa::openapi::OpenApi;

const PAGE: &str = include_str!("docs_page/page.html");
const SCRIPT: &str = include_str!("docs_page/ferry-docs.js");
const PROXY_PAGE: &str = include_str!("docs_page/proxy.html");
const PROXY_SCRIPT: &str = include_str!("docs_page/ferry-proxy-docs.js");

pub(crate) fn routes(platform_document: Arc<OpenApi>) -> Router<ApiState> {
    let document = platform_document.clone();
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route("/docs", get(get_platform_docs_page))
        .route("/docs/", get(get_platform_docs_page))
        .route("/docs/instances/{id}", get(get_instance_docs_page))
        .route("/docs/proxies/{base_path}", get(get_proxy_docs_page))
        .route(
            "/docs/proxies/{base_path}/openapi.json",
            get(get_published_proxy_document),
        )
        .route("/docs/assets/{file}", get(get_docs_asset))
}

fn page(title: &str, instance_id: Option<i64>) -> Html<String> {
    let instance = instance_id.map(|id| id.to_string()).unwrap_or_default();
    Html(
        PAGE.replace("{{title}}", &html_escape::encode_text(title))
            .replace("{{instance}}", &instance),
    )
}

async fn get_platform_docs_page() -> Html<String> {
    page("ferry platform API", None)
}

async fn get_instance_docs_page(Path(id): Path<String>) -> Result<Html<String>, ApiError> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no instance {id:?}")))?;
    Ok(page(&format!("Instance {id}"), Some(id)))
}

/// A published proxy's page: public, like the API it documents; calls need the caller's key.
async fn get_proxy_docs_page(
    State(state): State<ApiState>,
    Path(base_path): Path<String>,
) -> Result<Html<String>, ApiError> {
    let (proxy, _) = state.app.published_proxy(&base_path).await?;
    Ok(Html(
        PROXY_PAGE
            .replace("{{title}}", &html_escape::encode_text(&proxy.name))
            .replace(
                "{{base_path}}",
                &html_escape::encode_double_quoted_attribute(&proxy.base_path),
            ),
    ))
}

async fn get_published_proxy_document(
    State(state): State<ApiState>,
    Path(base_path): Path<String>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let (proxy, connector) = state.app.published_proxy(&base_path).await?;
    Ok(axum::Json(crate::docs::proxy_document(
        &connector.def,
        &proxy,
        &crate::proxies::proxy_path(&proxy.base_path),
    )))
}

fn swagger_config() -> Arc<utoipa_swagger_ui::Config<'static>> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(utoipa_swagger_ui::Config::new(["/openapi.json"])))
        .clone()
}

async fn get_docs_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    if file == "ferry-proxy-docs.js" {
        return Ok(asset(
            Bytes::from_static(PROXY_SCRIPT.as_bytes()),
            "text/javascript",
            false,
        ));
    }
    if file == "ferry-docs.js" {
        return Ok(asset(
            Bytes::from_static(SCRIPT.as_bytes()),
            "text/javascript",
            false,
        ));
    }
    let missing = || ApiError::not_found(format!("no documentation asset {file:?}"));
    match utoipa_swagger_ui::serve(&file, swagger_config()) {
        Ok(Some(found)) => {
            let bytes = match found.bytes {
                Cow::Borrowed(bytes) => Bytes::from_static(bytes),
                Cow::Owned(bytes) => Bytes::from(bytes),
            };
            Ok(asset(bytes, &found.content_type, found.gzpipped))
        }
        Ok(None) | Err(_) => Err(missing()),
    }
}

fn asset(bytes: Bytes, content_type: &str, gzipped: bool) -> Response {
    let mut response = bytes.into_response();
    if gzipped {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
