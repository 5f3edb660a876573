//! Instances outlive their connector only in a state that says so: a connector taken out of the
//! connectors directory before a restart leaves its instances listed, readable and deletable,
//! their calls answering 409 naming the connector — in the API and in the console. A connector
//! added through the API is not deleted while instances use it.

use crate::console::{password, sign_in};
use crate::credential_checks::identified_stats_definition;
use crate::notes_service::start_service;
use crate::support::{Reply, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn create(sandbox: &Sandbox, key: &str, name: &str, tenant: &str) -> Reply {
    let created = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({
                "element": {"key": key}, "name": name,
                "configuration": {"stats.tenant": tenant, "stats.key": format!("k-{tenant}")}
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    created
}

fn by_name<'a>(listed: &'a Reply, name: &str) -> &'a Value {
    listed
        .body
        .as_array()
        .and_then(|all| all.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no instance {name}: {}", listed.text))
}

// Listing instances needed every instance's connector, so one instance whose connector was gone
// made `GET /instances` and the console's Instances page answer 404 for all of them.
#[tokio::test]
async fn an_instance_whose_connector_left_the_directory_is_listed_explained_and_deletable() {
    let (origin, _service) = start_service().await;
    let connectors = tempfile::tempdir().unwrap();
    let folder = connectors.path().join("dir-stats");
    std::fs::create_dir(&folder).unwrap();
    let mut definition =
        identified_stats_definition("dir-stats", &format!("{origin}/tenants/{{stats.tenant}}"));
    definition["id"] = json!(700_001);
    // JSON is YAML: the folder's connector.yaml.
    std::fs::write(folder.join("connector.yaml"), definition.to_string()).unwrap();
    let directory = ["--connectors-dir", connectors.path().to_str().unwrap()];
    let sandbox = Sandbox::start_with(&directory).await;
    let added = sandbox
        .api(
            Method::POST,
            "/elements",
            Some(identified_stats_definition(
                "api-stats",
                &format!("{origin}/tenants/{{stats.tenant}}"),
            )),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let orphan = create(&sandbox, "dir-stats", "Stats of acme", "acme").await;
    let orphan_id = orphan.body["id"].as_i64().unwrap();
    let orphan_token = orphan.body["token"].as_str().unwrap().to_owned();
    create(&sandbox, "api-stats", "Stats of globex", "globex").await;

    // The operator takes the folder out and restarts ferry.
    let dir = sandbox.stop();
    std::fs::remove_dir_all(&folder).unwrap();
    let sandbox = Sandbox::start_in(dir, &directory).await;

    let listed = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.header("elements-total-count"), Some("2"));
    let healthy = by_name(&listed, "Stats of globex");
    assert_eq!(healthy["status"], "active", "{}", listed.text);
    assert_eq!(healthy["element"]["key"], "api-stats");
    let missing = by_name(&listed, "Stats of acme");
    assert_eq!(missing["status"], "connector_missing", "{}", listed.text);
    assert_eq!(missing["valid"], false);
    assert_eq!(missing["element"]["key"], "dir-stats");
    assert_eq!(missing["element"]["id"], Value::Null);
    assert_eq!(missing["account"], "acme", "what was known is kept");
    assert_eq!(missing["configuration"]["stats.key"], "********");
    assert_eq!(
        missing["statusReason"],
        "its connector dir-stats is no longer installed; add the connector again or delete the instance"
    );
    let got = sandbox
        .api(Method::GET, &format!("/instances/{orphan_id}"), None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body["status"], "connector_missing");

    // What needs the connector answers 409 naming it, never 404 or 500.
    let call = sandbox
        .hub(Method::GET, "/hubs/general/stats", &orphan_token, None)
        .await;
    assert_eq!(call.status, StatusCode::CONFLICT, "{}", call.text);
    assert_eq!(call.body["code"], "connector_missing", "{}", call.text);
    assert_eq!(
        call.body["message"],
        format!(
            "instance {orphan_id}: its connector dir-stats is no longer installed; add the connector again or delete the instance"
        )
    );
    let docs = sandbox
        .api(Method::GET, &format!("/instances/{orphan_id}/docs"), None)
        .await;
    assert_eq!(docs.status, StatusCode::CONFLICT, "{}", docs.text);
    let renamed = sandbox
        .api(
            Method::PATCH,
            &format!("/instances/{orphan_id}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::CONFLICT, "{}", renamed.text);

    // The console's Instances page and the instance's page say what happened.
    let cookie = sign_in(&sandbox, &password(&sandbox)).await.unwrap();
    for path in [
        "/console/instances".to_owned(),
        format!("/console/instances/{orphan_id}"),
    ] {
        let page = sandbox
            .http
            .get(format!("{}{path}", sandbox.ferry()))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Its connector dir-stats is no longer installed"),
            "{path}: {html}"
        );
    }

    // Deleting it works, and leaves the other.
    let deleted = sandbox
        .api(Method::DELETE, &format!("/instances/{orphan_id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    let listed = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(listed.header("elements-total-count"), Some("1"));
    by_name(&listed, "Stats of globex");
}

#[tokio::test]
async fn a_connector_is_deleted_only_once_no_instance_uses_it() {
    let (origin, _service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let added = sandbox
        .api(
            Method::POST,
            "/elements",
            Some(identified_stats_definition(
                "tenant-stats",
                &format!("{origin}/tenants/{{stats.tenant}}"),
            )),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let first = create(&sandbox, "tenant-stats", "Stats of acme", "acme").await;
    let second = create(&sandbox, "tenant-stats", "Stats of globex", "globex").await;

    let refused = sandbox
        .api(Method::DELETE, "/elements/tenant-stats", None)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "the tenant-stats connector still has 2 instances; delete them first (DELETE /instances/{id}), then the connector"
    );
    // Nothing was lost: the connector and its instances work as before.
    let stats = sandbox
        .hub(
            Method::GET,
            "/hubs/general/stats",
            first.body["token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.text);

    for instance in [&first, &second] {
        let deleted = sandbox
            .api(
                Method::DELETE,
                &format!("/instances/{}", instance.body["id"]),
                None,
            )
            .await;
        assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    }
    let removed = sandbox
        .api(Method::DELETE, "/elements/tenant-stats", None)
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    let gone = sandbox
        .api(Method::GET, "/elements/tenant-stats", None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
}
