//! `POST /instances/{id}/events`: where a vendor delivers the webhook events of a connector
//! instance. The caller is the vendor, not a ferry user: no `Authorization` header, but a
//! signature over the raw body that ferry checks before it reads the body (decision 0009).

use crate::error::ErrorBody;
use crate::formula_instances::raw_body;
use crate::instances::instance_id;
use crate::{ApiError, ApiState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use ferry_app::EventDelivery;
use serde::Serialize;

/// Cloud Elements took event payloads up to 8 MB; so does ferry.
pub(crate) const EVENT_DELIVERY_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// What a delivery started.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventDeliveryResponse {
    /// How many events the delivery carried.
    events: usize,
    /// How many of them ferry had received before: they started nothing this time.
    duplicates: usize,
    /// The executions queued, one per new event and formula instance listening.
    execution_ids: Vec<i64>,
}

/// Deliver webhook events
///
/// The instance's `eventsWebhookUrl`, for connectors that declare `events.webhook`: give it to
/// the vendor. No `Authorization` header: the delivery must carry the signature the connector's
/// `events.webhook.signature` describes — an HMAC of the raw body (and of a timestamp, when the
/// connector signs one), keyed with the secret in the instance's configuration. A missing or
/// wrong signature, or a timestamp outside the tolerance (a replay), is a 401 whose `field` names
/// the header. Each event not received before starts one execution of every active formula
/// instance whose `event` trigger names this instance; an event delivered again starts nothing.
#[utoipa::path(post, path = "/instances/{id}/events", tag = "instances",
    params(("id" = i64, Path, description = "The connector instance id")),
    request_body(content = Value, description = "The vendor's delivery, byte for byte as it signed it", content_type = "application/json"),
    responses(
        (status = 200, description = "The delivery was received", body = EventDeliveryResponse),
        (status = 401, description = "The signature (or its timestamp) is missing, malformed, wrong or too old; `code` is `invalid_signature` and `field` names the header", body = ErrorBody),
        (status = 404, description = "No instance of that id receives webhook events", body = ErrorBody),
        (status = 409, description = "The instance is disabled", body = ErrorBody),
    ))]
pub(crate) async fn create_instance_events(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<EventDeliveryResponse>, ApiError> {
    let id = instance_id(&id)?;
    let body = raw_body(body)?;
    let receipt = state
        .app
        .receive_event_delivery(
            id,
            EventDelivery {
                headers: &headers,
                body: &body,
            },
        )
        .await?;
    Ok(Json(EventDeliveryResponse {
        events: receipt.events,
        duplicates: receipt.duplicates,
        execution_ids: receipt.executions.iter().map(|id| id.0).collect(),
    }))
}
