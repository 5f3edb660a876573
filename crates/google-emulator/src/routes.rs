//! Every route of the emulator, in one place. One origin serves the paths that Google serves on
//! `accounts.google.com`, `oauth2.googleapis.com` and `gmail.googleapis.com`.

use crate::Emulator;
use crate::control;
use crate::gmail::{self, batch, drafts, history, labels, messages, send, threads};
use crate::oauth::{consent, token, userinfo};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

/// Gmail accepts messages up to 35 MB (send) and 150 MB (insert/import) of upload.
const BODY_LIMIT: usize = 160 * 1024 * 1024;

pub(crate) fn router(emu: Emulator) -> Router {
    const G: &str = "/gmail/v1/users/{userId}";
    const U: &str = "/upload/gmail/v1/users/{userId}";
    let gmail_routes = Router::new()
        // users
        .route(&format!("{G}/profile"), get(messages::get_profile))
        // users.messages
        .route(
            &format!("{G}/messages"),
            get(messages::list_messages).post(send::insert_message),
        )
        .route(&format!("{G}/messages/send"), post(send::send_message))
        .route(&format!("{G}/messages/import"), post(send::import_message))
        .route(
            &format!("{G}/messages/batchModify"),
            post(messages::batch_modify_messages),
        )
        .route(
            &format!("{G}/messages/batchDelete"),
            post(messages::batch_delete_messages),
        )
        .route(
            &format!("{G}/messages/{{id}}"),
            get(messages::get_message).delete(messages::delete_message),
        )
        .route(
            &format!("{G}/messages/{{id}}/modify"),
            post(messages::modify_message),
        )
        .route(
            &format!("{G}/messages/{{id}}/trash"),
            post(messages::trash_message),
        )
        .route(
            &format!("{G}/messages/{{id}}/untrash"),
            post(messages::untrash_message),
        )
        .route(
            &format!("{G}/messages/{{messageId}}/attachments/{{id}}"),
            get(messages::get_attachment),
        )
        .route(&format!("{U}/messages"), post(send::upload_insert_message))
        .route(
            &format!("{U}/messages/send"),
            post(send::upload_send_message),
        )
        .route(
            &format!("{U}/messages/import"),
            post(send::upload_import_message),
        )
        // users.labels
        .route(
            &format!("{G}/labels"),
            get(labels::list_labels).post(labels::create_label),
        )
        .route(
            &format!("{G}/labels/{{id}}"),
            get(labels::get_label)
                .put(labels::update_label)
                .patch(labels::patch_label)
                .delete(labels::delete_label),
        )
        // users.threads
        .route(&format!("{G}/threads"), get(threads::list_threads))
        .route(
            &format!("{G}/threads/{{id}}"),
            get(threads::get_thread).delete(threads::delete_thread),
        )
        .route(
            &format!("{G}/threads/{{id}}/modify"),
            post(threads::modify_thread),
        )
        .route(
            &format!("{G}/threads/{{id}}/trash"),
            post(threads::trash_thread),
        )
        .route(
            &format!("{G}/threads/{{id}}/untrash"),
            post(threads::untrash_thread),
        )
        // users.history
        .route(&format!("{G}/history"), get(history::list_history))
        // users.drafts
        .route(
            &format!("{G}/drafts"),
            get(drafts::list_drafts).post(drafts::create_draft),
        )
        .route(&format!("{G}/drafts/send"), post(drafts::send_draft))
        .route(
            &format!("{G}/drafts/{{id}}"),
            get(drafts::get_draft)
                .put(drafts::update_draft)
                .delete(drafts::delete_draft),
        )
        .route(&format!("{U}/drafts"), post(drafts::upload_create_draft))
        .route(&format!("{U}/drafts/send"), post(drafts::upload_send_draft))
        .route(
            &format!("{U}/drafts/{{id}}"),
            axum::routing::put(drafts::upload_update_draft),
        )
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
        .route("/_emulator/health", get(control::get_health));

    Router::new()
        .merge(gmail_routes)
        .merge(oauth_routes)
        .merge(control_routes)
        .route(
            "/_emulator/accounts/{email}",
            delete(control::method_not_allowed),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(emu)
}
