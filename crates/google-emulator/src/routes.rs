//! Every route of the emulator, in one place. One origin serves the paths that Google serves on
//! `accounts.google.com`, `oauth2.googleapis.com`, `gmail.googleapis.com` and (a small part of)
//! `console.cloud.google.com`.

use crate::Emulator;
use crate::gmail::error::GmailError;
use crate::gmail::{self, batch, drafts, history, labels, messages, send, threads};
use crate::oauth::{consent, token, userinfo};
use crate::{console, control};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};

/// Gmail accepts messages up to 35 MB (send) and 150 MB (insert/import) of upload.
const BODY_LIMIT: usize = 160 * 1024 * 1024;

/// One Gmail API method as the emulator serves it: the discovery document's method id, HTTP
/// method and path, and the query parameters it takes besides Google's standard ones.
#[derive(Debug, Clone, Copy)]
pub struct GmailRoute {
    pub id: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub query: &'static [&'static str],
    handler: fn() -> MethodRouter<Emulator>,
}

/// The parameters every Google API method takes (the discovery document's top-level `parameters`).
pub const STANDARD_QUERY: &[&str] = &[
    "$.xgafv",
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "uploadType",
    "upload_protocol",
];

const LIST: &[&str] = &[
    "includeSpamTrash",
    "labelIds",
    "maxResults",
    "pageToken",
    "q",
];
const GET: &[&str] = &["format", "metadataHeaders"];
const INSERT: &[&str] = &["deleted", "internalDateSource"];
const IMPORT: &[&str] = &[
    "deleted",
    "internalDateSource",
    "neverMarkSpam",
    "processForCalendar",
];

macro_rules! gmail {
    ($id:literal, $method:literal, $path:literal, $query:expr, $handler:expr) => {
        GmailRoute {
            id: $id,
            method: $method,
            path: $path,
            query: $query,
            handler: || $handler,
        }
    };
}

/// Every Gmail method the emulator serves; the router is built from this table, and a test checks
/// it against the discovery document.
pub const GMAIL_ROUTES: &[GmailRoute] = &[
    gmail!(
        "gmail.users.getProfile",
        "GET",
        "/gmail/v1/users/{userId}/profile",
        &[],
        get(messages::get_profile)
    ),
    gmail!(
        "gmail.users.messages.list",
        "GET",
        "/gmail/v1/users/{userId}/messages",
        LIST,
        get(messages::list_messages)
    ),
    gmail!(
        "gmail.users.messages.insert",
        "POST",
        "/gmail/v1/users/{userId}/messages",
        INSERT,
        post(send::insert_message)
    ),
    gmail!(
        "gmail.users.messages.insert",
        "POST",
        "/upload/gmail/v1/users/{userId}/messages",
        INSERT,
        post(send::upload_insert_message)
    ),
    gmail!(
        "gmail.users.messages.send",
        "POST",
        "/gmail/v1/users/{userId}/messages/send",
        &[],
        post(send::send_message)
    ),
    gmail!(
        "gmail.users.messages.send",
        "POST",
        "/upload/gmail/v1/users/{userId}/messages/send",
        &[],
        post(send::upload_send_message)
    ),
    gmail!(
        "gmail.users.messages.import",
        "POST",
        "/gmail/v1/users/{userId}/messages/import",
        IMPORT,
        post(send::import_message)
    ),
    gmail!(
        "gmail.users.messages.import",
        "POST",
        "/upload/gmail/v1/users/{userId}/messages/import",
        IMPORT,
        post(send::upload_import_message)
    ),
    gmail!(
        "gmail.users.messages.batchModify",
        "POST",
        "/gmail/v1/users/{userId}/messages/batchModify",
        &[],
        post(messages::batch_modify_messages)
    ),
    gmail!(
        "gmail.users.messages.batchDelete",
        "POST",
        "/gmail/v1/users/{userId}/messages/batchDelete",
        &[],
        post(messages::batch_delete_messages)
    ),
    gmail!(
        "gmail.users.messages.get",
        "GET",
        "/gmail/v1/users/{userId}/messages/{id}",
        GET,
        get(messages::get_message)
    ),
    gmail!(
        "gmail.users.messages.delete",
        "DELETE",
        "/gmail/v1/users/{userId}/messages/{id}",
        &[],
        delete(messages::delete_message)
    ),
    gmail!(
        "gmail.users.messages.modify",
        "POST",
        "/gmail/v1/users/{userId}/messages/{id}/modify",
        &[],
        post(messages::modify_message)
    ),
    gmail!(
        "gmail.users.messages.trash",
        "POST",
        "/gmail/v1/users/{userId}/messages/{id}/trash",
        &[],
        post(messages::trash_message)
    ),
    gmail!(
        "gmail.users.messages.untrash",
        "POST",
        "/gmail/v1/users/{userId}/messages/{id}/untrash",
        &[],
        post(messages::untrash_message)
    ),
    gmail!(
        "gmail.users.messages.attachments.get",
        "GET",
        "/gmail/v1/users/{userId}/messages/{messageId}/attachments/{id}",
        &[],
        get(messages::get_attachment)
    ),
    gmail!(
        "gmail.users.labels.list",
        "GET",
        "/gmail/v1/users/{userId}/labels",
        &[],
        get(labels::list_labels)
    ),
    gmail!(
        "gmail.users.labels.create",
        "POST",
        "/gmail/v1/users/{userId}/labels",
        &[],
        post(labels::create_label)
    ),
    gmail!(
        "gmail.users.labels.get",
        "GET",
        "/gmail/v1/users/{userId}/labels/{id}",
        &[],
        get(labels::get_label)
    ),
    gmail!(
        "gmail.users.labels.update",
        "PUT",
        "/gmail/v1/users/{userId}/labels/{id}",
        &[],
        put(labels::update_label)
    ),
    gmail!(
        "gmail.users.labels.patch",
        "PATCH",
        "/gmail/v1/users/{userId}/labels/{id}",
        &[],
        patch(labels::patch_label)
    ),
    gmail!(
        "gmail.users.labels.delete",
        "DELETE",
        "/gmail/v1/users/{userId}/labels/{id}",
        &[],
        delete(labels::delete_label)
    ),
    gmail!(
        "gmail.users.threads.list",
        "GET",
        "/gmail/v1/users/{userId}/threads",
        LIST,
        get(threads::list_threads)
    ),
    gmail!(
        "gmail.users.threads.get",
        "GET",
        "/gmail/v1/users/{userId}/threads/{id}",
        GET,
        get(threads::get_thread)
    ),
    gmail!(
        "gmail.users.threads.delete",
        "DELETE",
        "/gmail/v1/users/{userId}/threads/{id}",
        &[],
        delete(threads::delete_thread)
    ),
    gmail!(
        "gmail.users.threads.modify",
        "POST",
        "/gmail/v1/users/{userId}/threads/{id}/modify",
        &[],
        post(threads::modify_thread)
    ),
    gmail!(
        "gmail.users.threads.trash",
        "POST",
        "/gmail/v1/users/{userId}/threads/{id}/trash",
        &[],
        post(threads::trash_thread)
    ),
    gmail!(
        "gmail.users.threads.untrash",
        "POST",
        "/gmail/v1/users/{userId}/threads/{id}/untrash",
        &[],
        post(threads::untrash_thread)
    ),
    gmail!(
        "gmail.users.history.list",
        "GET",
        "/gmail/v1/users/{userId}/history",
        &[
            "historyTypes",
            "labelId",
            "maxResults",
            "pageToken",
            "startHistoryId"
        ],
        get(history::list_history)
    ),
    gmail!(
        "gmail.users.drafts.list",
        "GET",
        "/gmail/v1/users/{userId}/drafts",
        &["includeSpamTrash", "maxResults", "pageToken", "q"],
        get(drafts::list_drafts)
    ),
    gmail!(
        "gmail.users.drafts.create",
        "POST",
        "/gmail/v1/users/{userId}/drafts",
        &[],
        post(drafts::create_draft)
    ),
    gmail!(
        "gmail.users.drafts.create",
        "POST",
        "/upload/gmail/v1/users/{userId}/drafts",
        &[],
        post(drafts::upload_create_draft)
    ),
    gmail!(
        "gmail.users.drafts.send",
        "POST",
        "/gmail/v1/users/{userId}/drafts/send",
        &[],
        post(drafts::send_draft)
    ),
    gmail!(
        "gmail.users.drafts.send",
        "POST",
        "/upload/gmail/v1/users/{userId}/drafts/send",
        &[],
        post(drafts::upload_send_draft)
    ),
    gmail!(
        "gmail.users.drafts.get",
        "GET",
        "/gmail/v1/users/{userId}/drafts/{id}",
        &["format"],
        get(drafts::get_draft)
    ),
    gmail!(
        "gmail.users.drafts.update",
        "PUT",
        "/gmail/v1/users/{userId}/drafts/{id}",
        &[],
        put(drafts::update_draft)
    ),
    gmail!(
        "gmail.users.drafts.update",
        "PUT",
        "/upload/gmail/v1/users/{userId}/drafts/{id}",
        &[],
        put(drafts::upload_update_draft)
    ),
    gmail!(
        "gmail.users.drafts.delete",
        "DELETE",
        "/gmail/v1/users/{userId}/drafts/{id}",
        &[],
        delete(drafts::delete_draft)
    ),
];

/// Google refuses a query parameter the method does not have, before anything else.
async fn known_query_only(
    State(allowed): State<&'static [&'static str]>,
    request: Request,
    next: Next,
) -> Response {
    let params = crate::params::Params::from_query(request.uri());
    if let Some(unknown) = params
        .names()
        .find(|name| !allowed.contains(name) && !STANDARD_QUERY.contains(name))
    {
        return GmailError::unknown_parameter(unknown).into_response();
    }
    next.run(request).await
}

pub(crate) fn router(emu: Emulator) -> Router {
    let mut gmail_routes = Router::new();
    for route in GMAIL_ROUTES {
        gmail_routes = gmail_routes.route(
            route.path,
            (route.handler)().layer(from_fn_with_state(route.query, known_query_only)),
        );
    }
    let gmail_routes = gmail_routes
        // discovery
        .route("/$discovery/rest", get(crate::discovery::get_discovery))
        .route(
            "/discovery/v1/apis/gmail/v1/rest",
            get(crate::discovery::get_discovery),
        )
        // batch
        .route("/batch/gmail/v1", post(batch::post_batch))
        .route("/batch", post(batch::post_batch))
        .route(
            "/gmail/v1/{*rest}",
            axum::routing::any(gmail::fallback_not_found),
        )
        .route(
            "/upload/gmail/v1/{*rest}",
            axum::routing::any(gmail::fallback_not_found),
        );

    let oauth_routes = Router::new()
        // accounts.google.com
        .route("/o/oauth2/v2/auth", get(consent::get_authorize))
        .route("/o/oauth2/auth", get(consent::get_authorize))
        .route(
            crate::oauth::pages::FORM_ACTION,
            post(consent::post_consent),
        )
        // oauth2.googleapis.com
        .route("/token", post(token::post_token))
        .route("/o/oauth2/token", post(token::post_token))
        .route("/revoke", post(token::post_revoke).get(token::post_revoke))
        .route(
            "/o/oauth2/revoke",
            post(token::post_revoke).get(token::post_revoke),
        )
        .route(
            "/tokeninfo",
            get(token::get_tokeninfo).post(token::get_tokeninfo),
        )
        // openidconnect.googleapis.com / www.googleapis.com
        .route("/v1/userinfo", get(userinfo::get_userinfo))
        .route("/oauth2/v3/userinfo", get(userinfo::get_userinfo));

    let control_routes = Router::new()
        .route("/_emulator/state", get(control::get_state))
        .route("/_emulator/accounts", post(control::create_account))
        .route("/_emulator/clients", post(control::create_client))
        .route(
            "/_emulator/accounts/{email}/revoke",
            post(control::revoke_account),
        )
        .route(
            "/_emulator/accounts/{email}/expire-tokens",
            post(control::expire_account_tokens),
        )
        .route(
            "/_emulator/accounts/{email}/grants",
            post(control::create_grant),
        )
        .route(
            "/_emulator/accounts/{email}/faults",
            post(control::create_fault).delete(control::delete_faults),
        )
        .route(
            "/_emulator/accounts/{email}/messages",
            get(control::list_account_messages).post(control::deliver_account_message),
        )
        .route("/_emulator/health", get(control::get_health))
        .route(
            "/_emulator/projects",
            get(console::api::list_projects).post(console::api::create_project),
        )
        .route(
            "/_emulator/projects/{project}",
            get(console::api::get_project),
        )
        .route(
            "/_emulator/projects/{project}/apis/{api}/{action}",
            post(console::api::set_api),
        )
        .route(
            "/_emulator/projects/{project}/consent-screen",
            put(console::api::put_consent_screen),
        )
        .route(
            "/_emulator/projects/{project}/clients",
            post(console::api::create_client),
        );

    // console.cloud.google.com
    let console_pages = Router::new()
        .route("/console", get(console::pages::get_console))
        .route("/console/projects", post(console::pages::post_project))
        .route(
            "/console/projects/{project}",
            get(console::pages::get_project),
        )
        .route(
            "/console/projects/{project}/apis/gmail",
            post(console::pages::post_gmail_api),
        )
        .route(
            "/console/projects/{project}/consent-screen",
            post(console::pages::post_consent_screen),
        )
        .route(
            "/console/projects/{project}/clients",
            post(console::pages::post_client),
        );

    Router::new()
        .merge(gmail_routes)
        .merge(oauth_routes)
        .merge(control_routes)
        .merge(console_pages)
        .route(
            "/_emulator/accounts/{email}",
            delete(control::method_not_allowed),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(emu)
}
