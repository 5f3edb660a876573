//! ferry-api: the HTTP edge. It owns the routes (one router, [`router`]), the wire shapes of the
//! Cloud Elements v2 compatible API (`/elements/api-v2`, the `Authorization: User …, Organization …,
//! Element …` header, `Elements-*` headers), the one JSON error body and the mapping of application
//! errors to HTTP statuses, the hub API that forwards to an instance's connector, the URL where
//! vendors deliver connector instances' webhook events, and the pages of ferry's OAuth callback. It depends on `ferry-app` for everything a request does, and on the model
//! and connectors crates for the types it shows; only this crate knows status codes.

mod callback_page;
mod console_hub;
pub mod docs;
mod docs_page;
mod elements;
mod error;
mod extract;
mod flow_wire;
mod formula_instances;
mod formulas;
mod hub;
mod instance_events;
mod instances;
mod openapi;
mod platform;
mod proxies;
mod proxy_gateway;
mod request_id;
mod routes;
mod wire;

pub use error::ApiError;
pub use platform::platform_api;
pub use routes::{platform_openapi, router};

use ferry_app::App;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub app: App,
}
