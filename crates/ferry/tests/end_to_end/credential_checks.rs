//! Credentials a person types (an API key, a Basic user name and password) are checked when the
//! instance is created, through the connector's `identity` operation: a 401 or 403 from the
//! vendor refuses the creation, naming the fields, and stores nothing; a vendor that fails or
//! cannot be reached does not stop it (the account stays unknown). Run against the loopback
//! notes service.

use crate::deployment::free_port;
use crate::notes_service::{BASIC_PASSWORD, BASIC_USER, start_service};
use crate::support::{Reply, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An API-key connector whose identity is the tenant its key opens; `base` is where its vendor
/// is (`{origin}/tenants/{stats.tenant}`).
pub(crate) fn identified_stats_definition(key: &str, base: &str) -> Value {
    json!({
        "key": key, "name": "Tenant stats", "description": "Notes counted per tenant.",
        "hub": "general",
        "base_url": base,
        "auth": {"type": "api_key", "in": "query", "name": "api_key", "field": "stats.key"},
        "errors": {"message": "/fault/detail"},
        "identity": {"operation": "getStats", "account": "/tenant"},
        "configuration": [
            {"key": "stats.tenant", "name": "Tenant", "required": true},
            {"key": "stats.key", "name": "API key", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "getStats", "method": "GET", "path": "/stats", "summary": "Stats",
            "vendor": {"method": "GET", "path": "/stats"}
        }]
    })
}

/// An HTTP Basic connector whose identity is the account's email.
fn basic_definition(origin: &str) -> Value {
    json!({
        "key": "basic-notes", "name": "Basic notes", "description": "d", "hub": "general",
        "base_url": format!("{origin}/basic"),
        "auth": {"type": "basic", "username_field": "notes.user", "password_field": "notes.password"},
        "errors": {"message": "/fault/detail"},
        "identity": {"operation": "getMe", "account": "/account/email"},
        "configuration": [
            {"key": "notes.user", "name": "User name", "required": true},
            {"key": "notes.password", "name": "Password", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "getMe", "method": "GET", "path": "/me", "summary": "Who I am",
            "vendor": {"method": "GET", "path": "/me"}
        }]
    })
}

async fn create(sandbox: &Sandbox, key: &str, name: &str, configuration: Value) -> Reply {
    sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": key}, "name": name, "configuration": configuration})),
        )
        .await
}

fn message(reply: &Reply) -> &str {
    reply.body["message"].as_str().unwrap_or_default()
}

// An API key or Basic password the vendor refused used to make an instance anyway: it was
// stored, its account stayed unknown, and every call it made failed later.
#[tokio::test]
async fn credentials_the_vendor_refuses_make_no_instance_and_the_error_names_their_fields() {
    let (origin, _service) = start_service().await;
    let sandbox = Sandbox::start().await;
    for definition in [
        identified_stats_definition(
            "tenant-stats",
            &format!("{origin}/tenants/{{stats.tenant}}"),
        ),
        basic_definition(&origin),
    ] {
        let added = sandbox
            .api(Method::POST, "/elements", Some(definition))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    }

    // A key the vendor answers 403 to.
    let refused = create(
        &sandbox,
        "tenant-stats",
        "Stats of acme",
        json!({"stats.tenant": "acme", "stats.key": "k-not-acme"}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(
        refused.body["code"], "credentials_refused",
        "{}",
        refused.text
    );
    assert_eq!(refused.body["field"], "stats.key", "{}", refused.text);
    assert_eq!(
        refused.body["providerMessage"], "wrong key",
        "{}",
        refused.text
    );
    assert!(
        message(&refused).starts_with("the vendor refused the credentials in stats.key"),
        "{}",
        refused.text
    );
    assert!(
        !refused.text.contains("k-not-acme"),
        "the key is not echoed"
    );

    // A Basic password the vendor answers 401 to: both fields are named.
    let refused = create(
        &sandbox,
        "basic-notes",
        "Ada's notes",
        json!({"notes.user": BASIC_USER, "notes.password": "not-the-password"}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(
        refused.body["code"], "credentials_refused",
        "{}",
        refused.text
    );
    assert!(
        message(&refused)
            .starts_with("the vendor refused the credentials in notes.user and notes.password"),
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["providerMessage"], "bad user name or password",
        "{}",
        refused.text
    );
    let none = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(none.body, json!([]), "nothing refused was stored");

    // Credentials the vendor takes make instances with their accounts.
    let acme = create(
        &sandbox,
        "tenant-stats",
        "Stats of acme",
        json!({"stats.tenant": "acme", "stats.key": "k-acme"}),
    )
    .await;
    assert_eq!(acme.status, StatusCode::OK, "{}", acme.text);
    assert_eq!(acme.body["account"], "acme", "{}", acme.text);
    let ada = create(
        &sandbox,
        "basic-notes",
        "Ada's notes",
        json!({"notes.user": BASIC_USER, "notes.password": BASIC_PASSWORD}),
    )
    .await;
    assert_eq!(ada.status, StatusCode::OK, "{}", ada.text);
    assert_eq!(ada.body["account"], BASIC_USER, "{}", ada.text);
}

#[tokio::test]
async fn a_vendor_that_fails_or_cannot_be_reached_does_not_stop_an_instance_being_created() {
    let (origin, _service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    for definition in [
        identified_stats_definition(
            "tenant-stats",
            &format!("{origin}/tenants/{{stats.tenant}}"),
        ),
        identified_stats_definition("stats-offline", &format!("{unreachable}/stats-base")),
    ] {
        let added = sandbox
            .api(Method::POST, "/elements", Some(definition))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    }

    // The vendor answers 500 whatever the key: the credentials may be right.
    let failing = create(
        &sandbox,
        "tenant-stats",
        "Stats while down",
        json!({"stats.tenant": "down", "stats.key": "k-down"}),
    )
    .await;
    assert_eq!(failing.status, StatusCode::OK, "{}", failing.text);
    assert_eq!(failing.body["status"], "active", "{}", failing.text);
    assert_eq!(failing.body["account"], Value::Null, "{}", failing.text);

    // Nothing listens where the vendor should be.
    let offline = create(
        &sandbox,
        "stats-offline",
        "Stats offline",
        json!({"stats.tenant": "acme", "stats.key": "k-acme"}),
    )
    .await;
    assert_eq!(offline.status, StatusCode::OK, "{}", offline.text);
    assert_eq!(offline.body["account"], Value::Null, "{}", offline.text);

    let listed = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        listed.text
    );
}
