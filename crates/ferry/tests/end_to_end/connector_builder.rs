//! The connector builder, end to end: connectors given only as definitions (`POST /elements`)
//! against the loopback service of `notes_service` — hosted consent with PKCE and refresh after the
//! service forgets a token, every page of a page-numbered list, get, create, update, delete, mapped
//! errors, JavaScript hooks, API docs, export, clone and replace without a restart, and survival of
//! one; an API-key connector whose base URL names each instance's tenant; the client-credentials
//! grant; a declared polling event that triggers a flow; header parameters, the only headers of
//! a caller or a flow step that reach the vendor; definitions refused with messages that name
//! the place; and `ferry connectors new` / `check`.

use crate::flow_support::step;
use crate::notes_service::{CLIENT_ID, CLIENT_SECRET, start_service};
use crate::support::{Sandbox, reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The connector, only as a definition: OAuth2 code flow with PKCE, page-numbered pagination,
/// field mapping both ways, declarative error mapping, JavaScript hooks and declared polling.
fn notes_definition(origin: &str) -> Value {
    json!({
        "key": "notes",
        "name": "Notes",
        "description": "A small notes service, defined only as data.",
        "hub": "general",
        "base_url": format!("{origin}/v1"),
        "auth": {
            "type": "oauth2",
            "authorization_url": format!("{origin}/oauth/authorize"),
            "token_url": format!("{origin}/oauth/token"),
            "pkce": true,
            "default_scopes": ["notes"]
        },
        "configuration": [
            {"key": "oauth.api.key", "name": "Client id", "required": true},
            {"key": "oauth.api.secret", "name": "Client secret", "kind": "password", "required": true},
            {"key": "oauth.callback.url", "name": "Callback URL", "required": true, "provided_by_ferry": true}
        ],
        "errors": {
            "message": "/fault/detail",
            "code": "/fault/code",
            "rules": [
                {"vendor_status": 404, "code": "NOTE_MISSING", "status": 404, "message": "there is no such note"},
                {"vendor_status": 422, "status": 400, "message": "the notes service refused the note"}
            ]
        },
        "scripts": {
            "shout": "done({body: Object.assign({}, trigger.body, {title: String(trigger.body.title).toUpperCase()})});",
            "summarize": "done({summary: trigger.body.title + ' (' + trigger.status + ')'});"
        },
        "events": {
            "object_type": "notes",
            "interval_seconds": 1,
            "polling": {"operation": "listNotes", "parameter": "updatedSince", "id": "/note_id", "updated": "/updated_at", "created": "/created_at"}
        },
        "resources": [
            {
                "operation": "listNotes", "method": "GET", "path": "/notes", "summary": "List notes",
                "parameters": [{"name": "updatedSince", "in": "query", "kind": "integer", "vendor": "updated_since", "description": "Only notes changed after this"}],
                "vendor": {"method": "GET", "path": "/notes"},
                "response": {
                    "root": "/data/items", "when_missing": [],
                    "fields": {"id": "/note_id", "title": "/heading"},
                    "pagination": {"style": "page", "parameter": "page", "size_parameter": "per_page", "default_size": 3, "total": "/total"}
                }
            },
            {
                "operation": "getNote", "method": "GET", "path": "/notes/{id}", "summary": "Get a note",
                "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+", "description": "The note id"}],
                "vendor": {"method": "GET", "path": "/notes/{id}"},
                "response": {"fields": {"id": "/note_id", "title": "/heading", "body": "/content"}}
            },
            {
                "operation": "createNote", "method": "POST", "path": "/notes", "summary": "Create a note",
                "request_body": {"content": ["application/json"], "required": true,
                    "schema": {"type": "object", "additionalProperties": false, "properties": {"title": {"type": "string"}, "body": {"type": "string"}}}},
                "vendor": {"method": "POST", "path": "/notes", "body_fields": {"heading": "/title", "content": "/body"}},
                "response": {"fields": {"id": "/note_id", "title": "/heading", "body": "/content"}}
            },
            {
                "operation": "replaceNote", "method": "PUT", "path": "/notes/{id}", "summary": "Replace a note",
                "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+", "description": "The note id"}],
                "request_body": {"content": ["application/json"], "required": true},
                "vendor": {"method": "PUT", "path": "/notes/{id}", "body_fields": {"heading": "/title", "content": "/body"}},
                "response": {"fields": {"id": "/note_id", "title": "/heading", "body": "/content"}}
            },
            {
                "operation": "createLoudNote", "method": "POST", "path": "/notes/loud", "summary": "Create a note, shouting",
                "request_body": {"content": ["application/json"], "required": true},
                "hooks": {"pre_request": "shout"},
                "vendor": {"method": "POST", "path": "/notes", "body_fields": {"heading": "/title", "content": "/body"}},
                "response": {"fields": {"id": "/note_id", "title": "/heading"}}
            },
            {
                "operation": "getNoteSummary", "method": "GET", "path": "/notes/{id}/summary", "summary": "A note in one line",
                "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+", "description": "The note id"}],
                "hooks": {"post_request": "summarize"},
                "vendor": {"method": "GET", "path": "/notes/{id}"},
                "response": {"fields": {"title": "/heading"}}
            },
            {
                "operation": "deleteNote", "method": "DELETE", "path": "/notes/{id}", "summary": "Delete a note",
                "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+", "description": "The note id"}],
                "vendor": {"method": "DELETE", "path": "/notes/{id}"}
            }
        ]
    })
}

/// Hosted consent against the test's authorization server; answers the active instance.
async fn connect_notes(sandbox: &Sandbox) -> Value {
    let started = sandbox
        .api(
            Method::POST,
            "/instances/authorizations",
            Some(json!({
                "element": {"key": "notes"},
                "name": "My notes",
                "configuration": {"oauth.api.key": CLIENT_ID, "oauth.api.secret": CLIENT_SECRET}
            })),
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
    let consent = sandbox
        .http
        .get(started.body["oauthUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), StatusCode::SEE_OTHER);
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(&sandbox.ferry()), "{callback}");
    let page = sandbox.http.get(&callback).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "{}",
        page.text().await.unwrap()
    );
    let id = started.body["instance"]["id"].as_i64().unwrap();
    let instance = sandbox
        .api(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(instance.body["status"], "active", "{}", instance.text);
    instance.body
}

#[tokio::test]
async fn a_connector_written_only_as_a_definition_does_what_gmail_does() {
    let (origin, service) = start_service().await;
    let sandbox = Sandbox::start().await;

    let created = sandbox
        .api(Method::POST, "/elements", Some(notes_definition(&origin)))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.body["key"], "notes");
    assert_eq!(created.body["authentication"]["type"], "oauth2");
    assert_eq!(created.body["private"], true, "added through the API");
    let id = created.body["id"].as_i64().unwrap();
    assert!(id >= 100_000, "ferry gives user connectors an id: {id}");
    let keys = sandbox.api(Method::GET, "/elements/keys", None).await;
    assert!(
        keys.body.as_array().unwrap().contains(&json!("notes")),
        "{}",
        keys.text
    );
    let by_id = sandbox
        .api(Method::GET, &format!("/elements/{id}"), None)
        .await;
    assert_eq!(by_id.body["key"], "notes");
    let again = sandbox
        .api(Method::POST, "/elements", Some(notes_definition(&origin)))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    // The authorization-code flow with PKCE, hosted by ferry.
    let instance = connect_notes(&sandbox).await;
    assert!(
        service.lock().unwrap().pkce_checked,
        "the code came with a verifier"
    );
    let token = instance["token"].as_str().unwrap().to_owned();

    // Every page of a page-numbered list, the Cloud Elements way.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for page in 1..=5 {
        let path = match &next {
            Some(token) => format!("/hubs/general/notes?pageSize=3&nextPage={token}"),
            None => "/hubs/general/notes?pageSize=3".to_owned(),
        };
        let listed = sandbox.hub(Method::GET, &path, &token, None).await;
        assert_eq!(
            listed.status,
            StatusCode::OK,
            "page {page}: {}",
            listed.text
        );
        for note in listed.body.as_array().unwrap() {
            assert_eq!(
                note.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["id", "title"],
                "mapped fields only: {note}"
            );
            seen.push(note["id"].as_u64().unwrap());
        }
        next = listed.header("elements-next-page-token").map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(seen, (1..=7).collect::<Vec<_>>(), "all 7 notes in 3 pages");

    // Get, create, update, delete.
    let got = sandbox
        .hub(Method::GET, "/hubs/general/notes/2", &token, None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body, json!({"id": 2, "title": "Note 2", "body": "…"}));
    let made = sandbox
        .hub(
            Method::POST,
            "/hubs/general/notes",
            &token,
            Some(json!({"title": "Groceries", "body": "eggs"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(
        made.body,
        json!({"id": 8, "title": "Groceries", "body": "eggs"})
    );
    let stored = service.lock().unwrap().notes[&8].clone();
    assert_eq!(
        (&stored["heading"], &stored["content"]),
        (&json!("Groceries"), &json!("eggs")),
        "the body was mapped to the vendor's names: {stored}"
    );
    let replaced = sandbox
        .hub(
            Method::PUT,
            "/hubs/general/notes/8",
            &token,
            Some(json!({"title": "Groceries", "body": "eggs, milk"})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.body["body"], "eggs, milk");
    let deleted = sandbox
        .hub(Method::DELETE, "/hubs/general/notes/8", &token, None)
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    assert!(!service.lock().unwrap().notes.contains_key(&8));

    // JavaScript hooks, in the flow scripts' sandbox: one changes the request, one the reply.
    let loud = sandbox
        .hub(
            Method::POST,
            "/hubs/general/notes/loud",
            &token,
            Some(json!({"title": "quiet please", "body": "x"})),
        )
        .await;
    assert_eq!(loud.status, StatusCode::CREATED, "{}", loud.text);
    assert_eq!(loud.body["title"], "QUIET PLEASE");
    let summary = sandbox
        .hub(Method::GET, "/hubs/general/notes/2/summary", &token, None)
        .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    assert_eq!(summary.body, json!({"summary": "Note 2 (200)"}));

    // Mapped errors: the vendor's 404 with its code, and its 422.
    let gone = sandbox
        .hub(Method::GET, "/hubs/general/notes/8", &token, None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    assert_eq!(gone.body["message"], "there is no such note");
    assert_eq!(gone.body["providerMessage"], "note 8 does not exist");
    let refused = sandbox
        .hub(
            Method::POST,
            "/hubs/general/notes",
            &token,
            Some(json!({"body": "no title"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "the notes service refused the note"
    );
    assert_eq!(refused.body["providerMessage"], "heading is required");
    let unknown_field = sandbox
        .hub(
            Method::POST,
            "/hubs/general/notes",
            &token,
            Some(json!({"title": "x", "colour": "red"})),
        )
        .await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown_field.body["field"], "colour",
        "{}",
        unknown_field.text
    );

    // The service forgets every access token: ferry refreshes once and the call goes through.
    service.lock().unwrap().valid_tokens.clear();
    let after = sandbox
        .hub(Method::GET, "/hubs/general/notes/1", &token, None)
        .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert_eq!(service.lock().unwrap().refreshes, 1);
    let again = sandbox
        .hub(Method::GET, "/hubs/general/notes/3", &token, None)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(
        service.lock().unwrap().refreshes,
        1,
        "the new token is kept"
    );

    // The format's JSON Schema is served, generated from the same types that parse definitions.
    let schema: Value = sandbox
        .http
        .get(format!(
            "{}/connector-definition.schema.json",
            sandbox.ferry()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schema["$ref"], "#/$defs/ConnectorDef");
    assert!(schema["$defs"]["PaginationDef"].is_object());

    // API docs come from the definition.
    let docs = sandbox.api(Method::GET, "/elements/notes/docs", None).await;
    assert_eq!(docs.status, StatusCode::OK, "{}", docs.text);
    assert!(
        docs.body["paths"]["/notes/{id}"]["put"].is_object(),
        "{}",
        docs.text
    );
    let list_parameters = docs.body["paths"]["/notes"]["get"]["parameters"].to_string();
    assert!(list_parameters.contains("nextPage"), "{list_parameters}");

    // Export gives the definition back; a clone is a connector of its own.
    let exported = sandbox
        .api(Method::GET, "/elements/notes/export", None)
        .await;
    assert_eq!(exported.status, StatusCode::OK);
    assert_eq!(exported.body["base_url"], format!("{origin}/v1"));
    assert_eq!(exported.body["resources"].as_array().unwrap().len(), 7);
    let cloned = sandbox
        .api(
            Method::POST,
            "/elements/notes/clone",
            Some(json!({"key": "notes-eu", "name": "Notes (EU)"})),
        )
        .await;
    assert_eq!(cloned.status, StatusCode::OK, "{}", cloned.text);
    assert_eq!(cloned.body["name"], "Notes (EU)");
    assert_ne!(cloned.body["id"], created.body["id"]);
    let gmail_copy = sandbox
        .api(Method::POST, "/elements/gmail/clone", None)
        .await;
    assert_eq!(gmail_copy.status, StatusCode::OK, "{}", gmail_copy.text);
    assert_eq!(gmail_copy.body["key"], "gmail-copy");

    // PUT replaces it: a new operation is there at once, without a restart.
    let mut changed = notes_definition(&origin);
    changed["resources"].as_array_mut().unwrap().push(json!({
        "operation": "countNotes", "method": "GET", "path": "/notes/count", "summary": "How many notes",
        "vendor": {"method": "GET", "path": "/notes"},
        "response": {"fields": {"count": "/total"}}
    }));
    let put = sandbox
        .api(Method::PUT, "/elements/notes", Some(changed))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["id"], created.body["id"], "the id stays");
    let counted = sandbox
        .hub(Method::GET, "/hubs/general/notes/count", &token, None)
        .await;
    assert_eq!(counted.status, StatusCode::OK, "{}", counted.text);
    assert_eq!(
        counted.body,
        json!({"count": 8}),
        "seven notes and the loud one"
    );
    let bundled = sandbox
        .api(
            Method::PUT,
            "/elements/gmail",
            Some(notes_definition(&origin)),
        )
        .await;
    assert_eq!(bundled.status, StatusCode::CONFLICT, "{}", bundled.text);

    // The definitions are in the database: a restart keeps them, and the instance works.
    let dir = sandbox.stop();
    let sandbox = Sandbox::start_in(dir, &[]).await;
    let after_restart = sandbox
        .hub(Method::GET, "/hubs/general/notes/count", &token, None)
        .await;
    assert_eq!(
        after_restart.status,
        StatusCode::OK,
        "{}",
        after_restart.text
    );

    // Delete takes a connector no instance uses out of the catalog.
    let removed = sandbox
        .api(Method::DELETE, "/elements/notes-eu", None)
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    let missing = sandbox.api(Method::GET, "/elements/notes-eu", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let delete_bundled = sandbox.api(Method::DELETE, "/elements/gmail", None).await;
    assert_eq!(delete_bundled.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn invalid_definitions_are_refused_naming_the_place() {
    let sandbox = Sandbox::start().await;
    let origin = "http://127.0.0.1:9";
    let base = notes_definition(origin);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut definition = base.clone();
        change(&mut definition);
        definition
    };
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "an unknown field",
            with(&|d| d["resources"][1]["sumary"] = json!("typo")),
            "resources[1]",
            "sumary",
        ),
        (
            "a missing auth endpoint",
            with(&|d| {
                d["auth"].as_object_mut().unwrap().remove("token_url");
            }),
            "auth",
            "token_url",
        ),
        (
            "an authorization-code grant without its consent page",
            with(&|d| {
                d["auth"]
                    .as_object_mut()
                    .unwrap()
                    .remove("authorization_url");
            }),
            "auth.authorization_url",
            "authorization_code",
        ),
        (
            "a resource referencing an undefined hook",
            with(&|d| d["resources"][0]["hooks"] = json!({"request": "notes.make_body"})),
            "resources[0].hooks.request",
            "notes.make_body",
        ),
        (
            "a resource referencing an undefined script hook",
            with(&|d| d["resources"][1]["hooks"] = json!({"post_request": "tidy"})),
            "resources[1].hooks.post_request",
            "\"tidy\"",
        ),
        (
            "a script that does not parse",
            with(&|d| d["scripts"]["shout"] = json!("done({")),
            "scripts.shout",
            "",
        ),
        (
            "a bad JSON pointer",
            with(&|d| d["resources"][0]["response"]["root"] = json!("data/items")),
            "resources[0].response.root",
            "JSON pointer",
        ),
        (
            "a bad pointer in field mapping",
            with(&|d| d["resources"][1]["response"]["fields"]["title"] = json!("heading")),
            "resources[1].response.fields.title",
            "JSON pointer",
        ),
        (
            "a base URL naming no configuration field",
            with(&|d| d["base_url"] = json!("https://{tenant}.notes.test/v1")),
            "base_url",
            "{tenant}",
        ),
        (
            "an API key from an undeclared field",
            with(&|d| {
                d["auth"] = json!({"type": "api_key", "in": "header", "name": "X-Key", "field": "notes.key"})
            }),
            "auth.field",
            "notes.key",
        ),
        (
            "an error rule with a status that is no error",
            with(&|d| d["errors"]["rules"][0]["status"] = json!(200)),
            "errors.rules[0].status",
            "400",
        ),
    ];
    for (what, definition, field, words) in cases {
        let refused = sandbox
            .api(Method::POST, "/elements", Some(definition))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            refused.text
        );
        assert_eq!(
            refused.body["code"], "invalid_input",
            "{what}: {}",
            refused.text
        );
        let named = refused.body["field"].as_str().unwrap_or_default();
        assert!(
            named.starts_with(field),
            "{what}: field {named:?}, not {field:?}"
        );
        let message = refused.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(words),
            "{what}: {message:?} lacks {words:?}"
        );
    }
    let not_an_object = sandbox
        .api(Method::POST, "/elements", Some(json!(["notes"])))
        .await;
    assert_eq!(
        not_an_object.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_an_object.text
    );
    let keys = sandbox.api(Method::GET, "/elements/keys", None).await;
    assert!(
        !keys.body.as_array().unwrap().contains(&json!("notes")),
        "nothing refused was added: {}",
        keys.text
    );
}

#[tokio::test]
async fn an_api_key_connector_takes_its_key_and_tenant_from_each_instance() {
    let (origin, _service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let catalog = sandbox.api(Method::GET, "/elements/keys", None).await;
    for bundled in ["gmail", "github", "jira"] {
        assert!(
            catalog.body.as_array().unwrap().contains(&json!(bundled)),
            "{}",
            catalog.text
        );
    }
    let definition = json!({
        "key": "tenant-stats", "name": "Tenant stats", "description": "d", "hub": "general",
        "base_url": format!("{origin}/tenants/{{stats.tenant}}"),
        "auth": {"type": "api_key", "in": "query", "name": "api_key", "field": "stats.key"},
        "errors": {"message": "/fault/detail"},
        "configuration": [
            {"key": "stats.tenant", "name": "Tenant", "required": true},
            {"key": "stats.key", "name": "API key", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "getStats", "method": "GET", "path": "/stats", "summary": "Stats",
            "vendor": {"method": "GET", "path": "/stats"}
        }]
    });
    let created = sandbox
        .api(Method::POST, "/elements", Some(definition))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.body["authentication"]["type"], "custom");

    let incomplete = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": "tenant-stats"}, "name": "No key", "configuration": {"stats.tenant": "acme"}})),
        )
        .await;
    assert_eq!(
        incomplete.status,
        StatusCode::BAD_REQUEST,
        "{}",
        incomplete.text
    );
    assert!(incomplete.text.contains("stats.key"), "{}", incomplete.text);

    let mut tokens = Vec::new();
    for (tenant, key) in [
        ("acme", "k-acme"),
        ("globex", "k-globex"),
        ("initech", "wrong"),
    ] {
        let instance = sandbox
            .api(
                Method::POST,
                "/instances",
                Some(json!({
                    "element": {"key": "tenant-stats"}, "name": format!("Stats of {tenant}"),
                    "configuration": {"stats.tenant": tenant, "stats.key": key}
                })),
            )
            .await;
        assert!(instance.status.is_success(), "{}", instance.text);
        assert_eq!(instance.body["configuration"]["stats.key"], "********");
        tokens.push(instance.body["token"].as_str().unwrap().to_owned());
    }
    for (token, tenant) in tokens.iter().zip(["acme", "globex"]) {
        let stats = sandbox
            .hub(Method::GET, "/hubs/general/stats", token, None)
            .await;
        assert_eq!(stats.status, StatusCode::OK, "{}", stats.text);
        assert_eq!(stats.body, json!({"tenant": tenant, "notes": 7}));
    }
    let refused = sandbox
        .hub(Method::GET, "/hubs/general/stats", &tokens[2], None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.body["providerMessage"], "wrong key");
}

/// Runs `ferry ARGS…`; answers (success, stdout + stderr).
fn ferry(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry runs");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn connectors_new_scaffolds_a_folder_that_check_validates_and_tests() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let (ok, out) = ferry(&["connectors", "new", "acme-items", "--dir", root]);
    assert!(ok, "{out}");
    let folder = dir.path().join("acme-items");
    for file in ["connector.yaml", "fixtures.yaml", "tests.yaml"] {
        assert!(folder.join(file).exists(), "{file}: {out}");
    }
    let (ok, out) = ferry(&["connectors", "new", "acme-items", "--dir", root]);
    assert!(!ok, "a second scaffold over the first is refused: {out}");
    let (ok, out) = ferry(&["connectors", "check", folder.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("3 calls answered as expected"), "{out}");

    let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../connectors");
    for key in ["github", "jira"] {
        let (ok, out) = ferry(&["connectors", "check", bundled.join(key).to_str().unwrap()]);
        assert!(ok, "{key}: {out}");
    }

    // A case that expects something else fails, naming the case.
    let tests = folder.join("tests.yaml");
    let text = std::fs::read_to_string(&tests).unwrap();
    std::fs::write(
        &tests,
        text.replace("provider_message: No item 9", "provider_message: No item 8"),
    )
    .unwrap();
    let (ok, out) = ferry(&["connectors", "check", folder.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("a missing item is a 404"), "{out}");

    // An invalid definition is refused naming file and field.
    let definition = folder.join("connector.yaml");
    let text = std::fs::read_to_string(&definition).unwrap();
    std::fs::write(&definition, text.replace("root: /items", "root: items")).unwrap();
    let (ok, out) = ferry(&["connectors", "check", folder.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("acme-items/connector.yaml: resources[0].response.root"),
        "{out}"
    );
}

#[tokio::test]
async fn a_declared_polling_event_triggers_a_flow() {
    let (origin, service) = start_service().await;
    let sandbox = Sandbox::start_with(&["--event-poll-seconds", "0.3"]).await;
    let created = sandbox
        .api(Method::POST, "/elements", Some(notes_definition(&origin)))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let metadata = sandbox
        .api(Method::GET, "/elements/notes/metadata", None)
        .await;
    assert_eq!(metadata.body["events"]["methods"], json!(["polling"]));
    let notes = connect_notes(&sandbox).await;
    let flow = sandbox
        .create_flow(json!({
            "name": "On a note",
            "configuration": [{"key": "notes", "type": "elementInstance"}],
            "triggers": [{"type": "event", "properties": {"elementInstanceId": "${config.notes}"}, "onSuccess": ["seen"]}],
            "steps": [{"name": "seen", "type": "script", "properties": {"body": "done({id: trigger.event.objectId, kind: trigger.event.eventType, heading: trigger.raw.heading});"}}]
        }))
        .await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"notes": notes["id"]}))
        .await;
    let instance_id = instance["id"].as_i64().unwrap();
    // The first poll learns where the service is: the seven notes from before trigger nothing.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert!(sandbox.executions_of(instance_id).await.is_empty());

    let (first, second) = {
        let mut state = service.lock().unwrap();
        (state.add_note("Call Ada"), state.add_note("Buy milk"))
    };
    let executions = sandbox.wait_for_executions(instance_id, 2).await;
    let mut seen = Vec::new();
    for summary in &executions {
        let execution = sandbox
            .finished_execution(summary["id"].as_i64().unwrap())
            .await;
        assert_eq!(execution["status"], "success", "{execution}");
        let output = &step(&execution, "seen")["output"];
        assert_eq!(output["kind"], "CREATED", "{output}");
        seen.push((
            output["id"].as_str().unwrap().to_owned(),
            output["heading"].clone(),
        ));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            (first.to_string(), json!("Call Ada")),
            (second.to_string(), json!("Buy milk"))
        ]
    );

    // A change to an old note is an update, seen once.
    {
        let mut state = service.lock().unwrap();
        let at = state.tick();
        let note = state.notes.get_mut(&3).unwrap();
        note["heading"] = json!("Note 3, edited");
        note["updated_at"] = json!(at);
    }
    let executions = sandbox.wait_for_executions(instance_id, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(
        sandbox.executions_of(instance_id).await.len(),
        3,
        "no event twice"
    );
    let mut kinds = Vec::new();
    for summary in &executions {
        let execution = sandbox
            .finished_execution(summary["id"].as_i64().unwrap())
            .await;
        kinds.push(
            step(&execution, "seen")["output"]["kind"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    kinds.sort();
    assert_eq!(kinds, ["CREATED", "CREATED", "UPDATED"]);
}

#[tokio::test]
async fn a_client_credentials_connector_gets_and_renews_its_own_token() {
    let (origin, service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let definition = json!({
        "key": "notes-service", "name": "Notes (service account)", "description": "d", "hub": "general",
        "base_url": format!("{origin}/v1"),
        "auth": {"type": "oauth2", "grant": "client_credentials", "token_url": format!("{origin}/oauth/token")},
        "configuration": [
            {"key": "oauth.api.key", "name": "Client id", "required": true},
            {"key": "oauth.api.secret", "name": "Client secret", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "getNote", "method": "GET", "path": "/notes/{id}", "summary": "Get a note",
            "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+"}],
            "vendor": {"method": "GET", "path": "/notes/{id}"},
            "response": {"fields": {"id": "/note_id", "title": "/heading"}}
        }]
    });
    let created = sandbox
        .api(Method::POST, "/elements", Some(definition))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let consent = sandbox
        .api(
            Method::GET,
            "/elements/notes-service/oauth/url?apiKey=a&apiSecret=b&callbackUrl=http://127.0.0.1:1/cb",
            None,
        )
        .await;
    assert_eq!(consent.status, StatusCode::BAD_REQUEST, "{}", consent.text);
    assert!(
        consent.text.contains("client-credentials"),
        "{}",
        consent.text
    );

    let wrong = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": "notes-service"}, "name": "Wrong",
                "configuration": {"oauth.api.key": CLIENT_ID, "oauth.api.secret": "nope"}})),
        )
        .await;
    assert!(wrong.status.is_client_error(), "{}", wrong.text);
    let instance = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(
                json!({"element": {"key": "notes-service"}, "name": "Service",
                "configuration": {"oauth.api.key": CLIENT_ID, "oauth.api.secret": CLIENT_SECRET}}),
            ),
        )
        .await;
    assert!(instance.status.is_success(), "{}", instance.text);
    assert_eq!(service.lock().unwrap().client_grants, 1);
    let token = instance.body["token"].as_str().unwrap().to_owned();
    let got = sandbox
        .hub(Method::GET, "/hubs/general/notes/4", &token, None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body, json!({"id": 4, "title": "Note 4"}));

    // The service forgets the token: ferry asks for a new one with the client's credentials.
    service.lock().unwrap().valid_tokens.clear();
    let again = sandbox
        .hub(Method::GET, "/hubs/general/notes/5", &token, None)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let state = service.lock().unwrap();
    assert_eq!(state.client_grants, 2);
    assert_eq!(state.refreshes, 0, "no refresh token is involved");
}

#[tokio::test]
async fn a_connectors_directory_is_read_at_start() {
    let connectors = tempfile::tempdir().unwrap();
    let (ok, out) = ferry(&[
        "connectors",
        "new",
        "acme-items",
        "--dir",
        connectors.path().to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let sandbox =
        Sandbox::start_with(&["--connectors-dir", connectors.path().to_str().unwrap()]).await;
    let keys = sandbox.api(Method::GET, "/elements/keys", None).await;
    assert!(
        keys.body.as_array().unwrap().contains(&json!("acme-items")),
        "{}",
        keys.text
    );
    let docs = sandbox
        .api(Method::GET, "/elements/acme-items/docs", None)
        .await;
    assert!(
        docs.body["paths"]["/items/{id}"]["get"].is_object(),
        "{}",
        docs.text
    );
    let replaced = sandbox
        .api(
            Method::PUT,
            "/elements/acme-items",
            Some(json!({"key": "acme-items"})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::CONFLICT, "{}", replaced.text);
    let copy = sandbox
        .api(Method::POST, "/elements/acme-items/clone", Some(json!({})))
        .await;
    assert_eq!(copy.status, StatusCode::OK, "{}", copy.text);
    assert_eq!(copy.body["key"], "acme-items-copy");
}

/// The connector keys the catalog lists once `wanted` holds for them, within the time a process
/// takes to notice a change on a busy machine.
async fn keys_once(sandbox: &Sandbox, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let keys = sandbox.api(Method::GET, "/elements/keys", None).await;
        let keys = keys.body.as_array().cloned().unwrap_or_default();
        if wanted(&keys) || started.elapsed() > std::time::Duration::from_secs(20) {
            return keys;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_folder_dropped_into_the_connectors_directory_joins_the_catalog_without_a_restart() {
    let connectors = tempfile::tempdir().unwrap();
    let sandbox =
        Sandbox::start_with(&["--connectors-dir", connectors.path().to_str().unwrap()]).await;
    let acme = json!("acme-items");
    let keys = sandbox.api(Method::GET, "/elements/keys", None).await;
    assert!(
        !keys.body.as_array().unwrap().contains(&acme),
        "{}",
        keys.text
    );

    let (ok, out) = ferry(&[
        "connectors",
        "new",
        "acme-items",
        "--dir",
        connectors.path().to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let keys = keys_once(&sandbox, |keys| keys.contains(&acme)).await;
    assert!(
        keys.contains(&acme),
        "the dropped folder never joined: {keys:?}"
    );
    let docs = sandbox
        .api(Method::GET, "/elements/acme-items/docs", None)
        .await;
    assert!(
        docs.body["paths"]["/items/{id}"]["get"].is_object(),
        "{}",
        docs.text
    );

    // A folder that does not load leaves the catalog as it was.
    let broken = connectors.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("connector.yaml"),
        "key: broken\nname: Broken\nnot_a_field: 1\n",
    )
    .unwrap();
    std::fs::write(
        connectors.path().join("acme-items/connector.yaml"),
        "key: acme-items\n",
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let keys = sandbox.api(Method::GET, "/elements/keys", None).await;
    let keys = keys.body.as_array().unwrap();
    assert!(
        keys.contains(&acme) && !keys.contains(&json!("broken")),
        "{keys:?}"
    );
    let docs = sandbox
        .api(Method::GET, "/elements/acme-items/docs", None)
        .await;
    assert!(
        docs.body["paths"]["/items/{id}"]["get"].is_object(),
        "the broken edit replaced it: {}",
        docs.text
    );

    // Once the directory loads again, what it holds is the catalog: here, neither folder.
    std::fs::remove_dir_all(&broken).unwrap();
    std::fs::remove_dir_all(connectors.path().join("acme-items")).unwrap();
    let keys = keys_once(&sandbox, |keys| !keys.contains(&acme)).await;
    assert!(!keys.contains(&acme), "the removed folder stayed: {keys:?}");
    assert!(keys.contains(&json!("gmail")), "{keys:?}");
}

#[tokio::test]
async fn declared_header_parameters_reach_the_vendor_and_no_other_header_does() {
    let (origin, service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let definition = json!({
        "key": "echo", "name": "Echo", "description": "d", "hub": "general",
        "base_url": format!("{origin}/v1"),
        "auth": {"type": "oauth2", "grant": "client_credentials", "token_url": format!("{origin}/oauth/token")},
        "configuration": [
            {"key": "oauth.api.key", "name": "Client id", "required": true},
            {"key": "oauth.api.secret", "name": "Client secret", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "echo", "method": "GET", "path": "/echo", "summary": "What the service received",
            "parameters": [
                {"name": "X-Request-Tag", "in": "header", "required": true, "description": "Tags the call in the service's log"},
                {"name": "X-Locale", "in": "header", "vendor": "Accept-Language"}
            ],
            "vendor": {"method": "GET", "path": "/echo"}
        }]
    });
    let created = sandbox
        .api(Method::POST, "/elements", Some(definition))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let instance = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": "echo"}, "name": "Echo",
                "configuration": {"oauth.api.key": CLIENT_ID, "oauth.api.secret": CLIENT_SECRET}})),
        )
        .await;
    assert!(instance.status.is_success(), "{}", instance.text);
    let token = instance.body["token"].as_str().unwrap().to_owned();
    let hub_url = format!("{}/elements/api-v2/hubs/general/echo", sandbox.ferry());

    // The hub API: the declared headers go on (under the vendor's name), nothing else does.
    let echoed = reply(
        sandbox
            .http
            .get(&hub_url)
            .header("Authorization", sandbox.element_auth(&token))
            .header("X-Request-Tag", "from-the-api")
            .header("x-locale", "fr")
            .header("X-Other", "not for the vendor")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(echoed.status, StatusCode::OK, "{}", echoed.text);
    let received = &echoed.body["headers"];
    assert_eq!(received["x-request-tag"], "from-the-api", "{received}");
    assert_eq!(received["accept-language"], "fr", "{received}");
    assert!(received.get("x-other").is_none(), "{received}");
    assert!(received.get("x-locale").is_none(), "{received}");
    assert!(
        received["authorization"]
            .as_str()
            .is_some_and(|v| v.starts_with("Bearer access-")),
        "the instance's own token, not ferry's secrets: {received}"
    );

    let missing = sandbox
        .hub(Method::GET, "/hubs/general/echo", &token, None)
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(missing.body["field"], "X-Request-Tag", "{}", missing.text);
    assert!(
        missing.text.contains("header X-Request-Tag is required"),
        "{}",
        missing.text
    );

    // A HEAD is the GET without its body; the vendor is asked with a GET.
    let head = reply(
        sandbox
            .http
            .head(&hub_url)
            .header("Authorization", sandbox.element_auth(&token))
            .header("X-Request-Tag", "a-head")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK, "{}", head.text);
    assert_eq!(head.text, "");
    assert_eq!(head.header("content-type"), Some("application/json"));
    let (method, headers) = service.lock().unwrap().echoed.last().cloned().unwrap();
    assert_eq!(method, "GET");
    assert_eq!(headers["x-request-tag"], "a-head");

    // A flow's elementRequest step: its headers, resolved, under the same rule.
    let flow = sandbox
        .create_flow(json!({
            "name": "Tagged calls",
            "configuration": [{"key": "echo", "type": "elementInstance"}],
            "triggers": [{"type": "manual", "onSuccess": ["tagged"]}],
            "steps": [
                {"name": "tagged", "type": "elementRequest", "onSuccess": ["untagged"], "properties": {
                    "elementInstanceId": "${config.echo}", "method": "GET", "api": "/echo",
                    "headers": {"X-Request-Tag": "${trigger.args.tag}", "x-locale": "de", "Authorization": "evil", "X-Other": "no"}
                }},
                {"name": "untagged", "type": "elementRequest", "properties": {
                    "elementInstanceId": "${config.echo}", "method": "GET", "api": "/echo",
                    "acceptableStatusCodes": "400"
                }}
            ]
        }))
        .await;
    let flow_instance = sandbox
        .create_flow_instance(flow, json!({"echo": instance.body["id"]}))
        .await;
    let execution_id = sandbox
        .start_execution(
            flow_instance["id"].as_i64().unwrap(),
            json!({"tag": "from-a-flow"}),
        )
        .await;
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    let tagged = &step(&execution, "tagged")["output"];
    let received = &tagged["response"]["body"]["headers"];
    assert_eq!(received["x-request-tag"], "from-a-flow", "{tagged}");
    assert_eq!(received["accept-language"], "de", "{tagged}");
    assert!(received.get("x-other").is_none(), "{tagged}");
    assert!(
        received["authorization"]
            .as_str()
            .is_some_and(|v| v.starts_with("Bearer access-")),
        "a step cannot replace the instance's credentials: {tagged}"
    );
    assert_eq!(
        tagged["request"]["headers"],
        json!({"X-Request-Tag": "from-a-flow", "x-locale": "de", "Authorization": "********", "X-Other": "no"})
    );
    let untagged = &step(&execution, "untagged")["output"]["response"];
    assert_eq!(untagged["code"], 400, "{untagged}");
    assert!(
        untagged["body"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("header X-Request-Tag is required")),
        "{untagged}"
    );
}
