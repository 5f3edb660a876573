//! ferry's OAuth callback (`/oauth/callback`): the provider sends the browser here after consent.
//! Browsers get a page (the tab closes itself when a script opened it); failures keep their status
//! code (400 for a forged or replayed `state`) so scripts can tell.

use crate::{ApiError, ApiState};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use ferry_app::CallbackOutcome;
use html_escape::encode_text;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `close`: the instance that is now authorized; its tab tells the page that opened it (the
/// console goes on to the instance) and closes itself.
fn page(status: StatusCode, title: &str, body_html: &str, close: Option<i64>) -> Response {
    let script = match close {
        // Only a tab opened by a script may close itself; otherwise the text tells the user.
        Some(instance) => format!(
            "<script>if (window.opener) {{ try {{ window.opener.postMessage({{ferry: 'oauth-complete', instanceId: {instance}}}, '*'); }} catch (e) {{}} }} setTimeout(function () {{ window.close(); }}, 800);</script>"
        ),
        None => String::new(),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · ferry</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2937}}\
h1{{font-size:1.4rem}}.box{{border:1px solid #d1d5db;border-radius:8px;padding:1.2rem 1.4rem}}code{{background:#f3f4f6;padding:0 .25rem}}</style></head>\
<body><main class=\"box\"><h1>{title}</h1>{body_html}</main>{script}</body></html>",
        title = encode_text(title),
    );
    (status, Html(html)).into_response()
}

pub(crate) async fn oauth_callback(
    State(state): State<ApiState>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let outcome = state
        .app
        .complete_authorization(
            query.state.as_deref(),
            query.code.as_deref(),
            query.error.as_deref(),
            query.error_description.as_deref(),
        )
        .await;
    match outcome {
        Ok(CallbackOutcome::Authorized(view)) => {
            let account = view
                .instance
                .account
                .as_deref()
                .map(|a| format!(" as <strong>{}</strong>", encode_text(a)))
                .unwrap_or_default();
            page(
                StatusCode::OK,
                &format!("{} is connected", view.connector_name()),
                &format!(
                    "<p>Instance <strong>{}</strong> (id {}) is authorized{account}.</p><p>You can close this tab.</p>",
                    encode_text(&view.instance.name),
                    view.instance.id
                ),
                Some(view.instance.id.0),
            )
        }
        Ok(CallbackOutcome::Declined {
            instance,
            error,
            description,
        }) => page(
            StatusCode::OK,
            "Access was not granted",
            &format!(
                "<p>The provider answered <code>{}</code>{}. Instance <strong>{}</strong> stays waiting for authorization; start it again from ferry when you are ready.</p>",
                encode_text(&error),
                description
                    .map(|d| format!(": {}", encode_text(&d)))
                    .unwrap_or_default(),
                encode_text(&instance.instance.name)
            ),
            None,
        ),
        Err(error) => {
            let error = ApiError::from(error);
            let provider = error
                .provider_message
                .as_deref()
                .map(|m| format!("<p>The provider said: <code>{}</code></p>", encode_text(m)))
                .unwrap_or_default();
            page(
                error.status,
                "Authorization failed",
                &format!("<p>{}</p>{provider}", encode_text(&error.message)),
                None,
            )
        }
    }
}
