//! Bad input gets a clear error that names the field, and never a 500 or a half-created instance.

use crate::support::{Sandbox, reply};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn provisioning_mistakes_are_named() {
    let sandbox = Sandbox::start().await;
    let missing = sandbox
        .api(
            Method::GET,
            "/elements/gmail/oauth/url?callbackUrl=http://127.0.0.1/cb",
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("apiKey, apiSecret"),
        "{}",
        missing.text
    );

    let unknown = sandbox.api(Method::GET, "/elements/nope", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown = sandbox
        .api(
            Method::GET,
            "/elements/nope/oauth/url?apiKey=a&apiSecret=b&callbackUrl=http://x.test/",
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": "nope"}, "name": "x"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let no_config = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": "gmail"}, "name": "x", "providerData": {"code": "c"}})),
        )
        .await;
    assert_eq!(no_config.status, StatusCode::BAD_REQUEST);
    let message = no_config.body["message"].as_str().unwrap();
    for key in ["oauth.api.key", "oauth.api.secret", "oauth.callback.url"] {
        assert!(message.contains(key), "{message}");
    }

    let configuration = json!({
        "oauth.api.key": sandbox.client_id(),
        "oauth.api.secret": sandbox.client_secret(),
        "oauth.callback.url": sandbox.redirect_uri()
    });
    let wrong_code = sandbox
        .api(Method::POST, "/instances", Some(json!({"element": {"key": "gmail"}, "name": "x", "providerData": {"code": "4/not-a-code"}, "configuration": configuration})))
        .await;
    assert_eq!(
        wrong_code.status,
        StatusCode::BAD_REQUEST,
        "{}",
        wrong_code.text
    );
    assert!(
        wrong_code.body["providerMessage"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{}",
        wrong_code.text
    );

    // A code that worked once fails the second time, and neither attempt leaves an instance behind.
    let oauth = sandbox
        .api(
            Method::GET,
            &format!(
                "/elements/gmail/oauth/url?apiKey={}&apiSecret={}&callbackUrl={}",
                sandbox.client_id(),
                sandbox.client_secret(),
                sandbox.redirect_uri()
            ),
            None,
        )
        .await;
    let callback = url::Url::parse(
        &sandbox
            .consent(
                oauth.body["oauthUrl"].as_str().unwrap(),
                &sandbox.account(0),
                "allow",
            )
            .await,
    )
    .unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = json!({"element": {"key": "gmail"}, "name": "once", "providerData": {"code": code}, "configuration": configuration});
    assert_eq!(
        sandbox
            .api(Method::POST, "/instances", Some(body.clone()))
            .await
            .status,
        StatusCode::OK
    );
    let reused = sandbox.api(Method::POST, "/instances", Some(body)).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.text);
    assert!(
        reused.body["providerMessage"]
            .as_str()
            .unwrap()
            .contains("invalid_grant")
    );
    let listed = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        1,
        "only the successful instance exists"
    );

    let malformed = reply(
        sandbox
            .http
            .post(format!("{}/elements/api-v2/instances", sandbox.ferry()))
            .header("Authorization", sandbox.auth())
            .header("Content-Type", "application/json")
            .body("{\"element\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{}",
        malformed.text
    );
}

#[tokio::test]
async fn the_callback_refuses_forged_and_replayed_state() {
    let sandbox = Sandbox::start().await;
    let started = sandbox
        .api(
            Method::POST,
            "/instances/authorizations",
            Some(json!({"element": {"key": "gmail"}, "name": "cb", "configuration": {"oauth.api.key": sandbox.client_id(), "oauth.api.secret": sandbox.client_secret()}})),
        )
        .await;
    let callback = sandbox
        .consent(
            started.body["oauthUrl"].as_str().unwrap(),
            &sandbox.account(0),
            "allow",
        )
        .await;
    let callback_url = url::Url::parse(&callback).unwrap();
    let state = callback_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let code = callback_url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    let mut forged_state = state.clone();
    forged_state.replace_range(5..6, if &state[5..6] == "A" { "B" } else { "A" });
    let forged = sandbox
        .http
        .get(format!("{}/oauth/callback", sandbox.ferry()))
        .query(&[("state", forged_state.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert!(forged.text().await.unwrap().contains("forged"));

    let first = sandbox.http.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let replayed = sandbox.http.get(&callback).send().await.unwrap();
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    assert!(replayed.text().await.unwrap().contains("already completed"));

    let id = started.body["instance"]["id"].as_i64().unwrap();
    assert_eq!(
        sandbox
            .api(Method::GET, &format!("/instances/{id}"), None)
            .await
            .body["status"],
        "active"
    );

    // Saying no at the consent screen leaves the instance waiting, and says so.
    let declined = sandbox
        .api(
            Method::POST,
            "/instances/authorizations",
            Some(json!({"element": {"key": "gmail"}, "name": "no", "configuration": {"oauth.api.key": sandbox.client_id(), "oauth.api.secret": sandbox.client_secret()}})),
        )
        .await;
    let denied = sandbox
        .consent(
            declined.body["oauthUrl"].as_str().unwrap(),
            &sandbox.account(0),
            "deny",
        )
        .await;
    assert!(denied.contains("error=access_denied"), "{denied}");
    let page = sandbox.http.get(&denied).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("access_denied"));
    let waiting = declined.body["instance"]["id"].as_i64().unwrap();
    assert_eq!(
        sandbox
            .api(Method::GET, &format!("/instances/{waiting}"), None)
            .await
            .body["status"],
        "pending"
    );
}

#[tokio::test]
async fn hub_calls_validate_before_calling_gmail() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("validating", &sandbox.account(0))
        .await;
    let token = instance["token"].as_str().unwrap();

    let no_to = sandbox
        .hub(
            Method::POST,
            "/messages",
            token,
            Some(json!({"subject": "s", "data": "d"})),
        )
        .await;
    assert_eq!(no_to.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_to.body["field"], "to");

    let where_without_q = sandbox
        .hub(Method::GET, "/messages?where=subject:foo", token, None)
        .await;
    assert_eq!(where_without_q.status, StatusCode::BAD_REQUEST);
    assert!(
        where_without_q.body["message"]
            .as_str()
            .unwrap()
            .contains("q='"),
        "{}",
        where_without_q.text
    );

    let page_size = sandbox
        .hub(Method::GET, "/messages?pageSize=many", token, None)
        .await;
    assert_eq!(page_size.status, StatusCode::BAD_REQUEST);
    assert_eq!(page_size.body["field"], "pageSize");

    let unknown_message = sandbox
        .hub(Method::GET, "/messages/0123456789abcdef", token, None)
        .await;
    assert_eq!(
        unknown_message.status,
        StatusCode::NOT_FOUND,
        "{}",
        unknown_message.text
    );
    assert!(
        unknown_message.body["providerMessage"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{}",
        unknown_message.text
    );

    let unknown_operation = sandbox
        .hub(Method::DELETE, "/nothing-here", token, None)
        .await;
    assert_eq!(unknown_operation.status, StatusCode::NOT_FOUND);

    let broken_multipart = reply(
        sandbox
            .http
            .post(format!("{}/elements/api-v2/messages", sandbox.ferry()))
            .header("Authorization", sandbox.element_auth(token))
            .header("Content-Type", "multipart/form-data; boundary=XYZ")
            .body("--XYZ\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{\"to\":")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        broken_multipart.status,
        StatusCode::BAD_REQUEST,
        "{}",
        broken_multipart.text
    );

    let body_not_json = reply(
        sandbox
            .http
            .post(format!("{}/elements/api-v2/messages", sandbox.ferry()))
            .header("Authorization", sandbox.element_auth(token))
            .multipart(reqwest::multipart::Form::new().text("body", "{not json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body_not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(body_not_json.body["field"], "body");

    // 36 MiB of attachment cannot fit Gmail's 35 MiB limit once encoded.
    let huge = vec![b'x'; 27 * 1024 * 1024];
    let form = reqwest::multipart::Form::new()
        .text(
            "body",
            json!({"to": sandbox.account(1), "subject": "big"}).to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(huge).file_name("big.bin"),
        );
    let too_big = reply(
        sandbox
            .http
            .post(format!("{}/elements/api-v2/messages", sandbox.ferry()))
            .header("Authorization", sandbox.element_auth(token))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        too_big.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        too_big.text
    );
    let sent: usize = sandbox
        .mailbox(&sandbox.account(0))
        .await
        .iter()
        .filter(|m| m["labelIds"].to_string().contains("SENT"))
        .count();
    assert_eq!(sent, 0, "nothing was sent");
}
