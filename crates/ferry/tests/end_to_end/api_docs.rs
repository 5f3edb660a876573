//! The API documentation: ferry's platform document, each instance's document, and the bundled
//! Swagger UI pages, served by the real binary.

use crate::support::{Sandbox, reply};
use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

#[tokio::test]
async fn every_documented_platform_path_is_routed_and_the_docs_page_needs_no_network() {
    let sandbox = Sandbox::start().await;
    let served = reply(
        sandbox
            .http
            .get(format!("{}/openapi.json", sandbox.ferry()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(served.status, StatusCode::OK);
    let document = served.body;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

    // Every documented operation reaches its handler: with an id that names nothing, the answer
    // is the handler's "no such …", never the router's "not a path of ferry".
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let concrete = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "987654"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let response = sandbox
                .http
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    format!("{}{concrete}", sandbox.ferry()),
                )
                .header("Authorization", sandbox.auth())
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let answer = reply(response).await;
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert!(
                !answer.text.contains("is not a path of ferry")
                    && !answer.text.contains("is not an API of ferry"),
                "{method} {path} is documented but not routed: {}",
                answer.text
            );
            assert!(
                answer.status.as_u16() < 500,
                "{method} {path}: {}",
                answer.text
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} operations documented");

    let page = reply(
        sandbox
            .http
            .get(format!("{}/docs", sandbox.ferry()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = Html::parse_document(&page.text);
    let linked = Selector::parse("script[src], link[href]").unwrap();
    let mut assets = 0;
    for element in html.select(&linked) {
        let target = element
            .value()
            .attr("src")
            .or_else(|| element.value().attr("href"))
            .unwrap();
        assert!(
            target.starts_with("/docs/assets/"),
            "the page loads {target} from elsewhere"
        );
        let asset = sandbox
            .http
            .get(format!("{}{target}", sandbox.ferry()))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), StatusCode::OK, "{target}");
        let bytes = asset.bytes().await.unwrap();
        assert!(bytes.len() > 1000, "{target} is only {} bytes", bytes.len());
        assets += 1;
    }
    assert_eq!(
        assets, 3,
        "swagger-ui.css, swagger-ui-bundle.js and ferry-docs.js"
    );
    let secrets_form = Selector::parse("form input[type=password]").unwrap();
    assert_eq!(
        html.select(&secrets_form).count(),
        2,
        "the page asks for both secrets"
    );
}

#[tokio::test]
async fn an_instance_document_describes_its_gmail_api_and_its_calls_work_as_documented() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Docs mail", &sandbox.account(0))
        .await;
    let id = instance["id"].as_i64().unwrap();
    let token = instance["token"].as_str().unwrap();

    let unauthenticated = sandbox
        .call(Method::GET, &format!("/instances/{id}/docs"), None, "")
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    for field in ["requestId", "message", "code"] {
        assert!(
            unauthenticated.body[field].is_string(),
            "{}",
            unauthenticated.text
        );
    }

    let docs = sandbox
        .api(Method::GET, &format!("/instances/{id}/docs"), None)
        .await;
    assert_eq!(docs.status, StatusCode::OK, "{}", docs.text);
    let document = docs.body;
    assert!(
        document["info"]["title"]
            .as_str()
            .unwrap()
            .contains("Docs mail")
    );
    assert!(
        !docs.text.contains(token),
        "the document must not carry the instance token"
    );
    let send = &document["paths"]["/messages"]["post"];
    let form = &send["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"];
    assert!(
        form["body"].is_object() && form["file"].is_object(),
        "{send}"
    );
    assert!(document["paths"]["/messages/{id}"]["get"].is_object());

    // The documented server and path make a working URL for a hub call signed with the token.
    let server = document["servers"][0]["url"].as_str().unwrap();
    let listed = reply(
        sandbox
            .http
            .get(format!("{}{server}/messages?pageSize=5", sandbox.ferry()))
            .header("Authorization", sandbox.element_auth(token))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(listed.body.is_array());

    let page = sandbox
        .http
        .get(format!("{}/docs/instances/{id}", sandbox.ferry()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains(&format!("data-instance=\"{id}\"")));
    assert!(!text.contains(token));
    let missing = sandbox
        .http
        .get(format!("{}/docs/instances/not-an-id", sandbox.ferry()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn docs_export_writes_the_documents_a_client_generator_reads() {
    let sandbox = Sandbox::start().await;
    let out = sandbox.dir.path().join("openapi");
    let (ok, stdout, stderr) = sandbox.ferry_command(&[
        "docs",
        "export",
        "--out",
        out.to_str().unwrap(),
        "--server",
        &sandbox.ferry(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let platform = read("platform.openapi.json");
    assert_eq!(platform["servers"][0]["url"], sandbox.ferry());
    let served: Value = sandbox
        .http
        .get(format!("{}/openapi.json", sandbox.ferry()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(platform["paths"], served["paths"]);
    let gmail = read("gmail.openapi.json");
    assert_eq!(
        gmail["servers"][0]["url"],
        format!("{}/elements/api-v2", sandbox.ferry())
    );
    assert!(gmail["paths"]["/messages"]["get"].is_object());
}
