//! The authorization endpoint (`GET /o/oauth2/v2/auth`) and the consent pages behind it.

use super::{AuthCode, PendingFlow, Pkce, PkceMethod, Step, pages, scopes};
use crate::Emulator;
use crate::ids;
use crate::params::Params;
use crate::state::{StoreOptions, read, write};
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;

fn error_page(status: u16, error: &str, message: &str, app: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Html(pages::error(status, error, message, app))).into_response()
}

fn redirect(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
        Html(format!(
            "<HTML><HEAD><TITLE>Moved Temporarily</TITLE></HEAD><BODY>The document has moved <A HREF=\"{}\">here</A>.</BODY></HTML>",
            html_escape::encode_double_quoted_attribute(location)
        )),
    )
        .into_response()
}

/// `redirect_uri` with the given pairs appended to its query.
fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            redirect(url.as_str())
        }
        Err(_) => error_page(400, "redirect_uri_mismatch", "Invalid redirect_uri.", None),
    }
}

fn denied(flow: &PendingFlow) -> Response {
    let mut pairs = vec![("error", "access_denied")];
    if let Some(state) = &flow.state {
        pairs.push(("state", state.as_str()));
    }
    redirect_with(&flow.redirect_uri, &pairs)
}

/// Whether `requested` may be used with a client that registered `registered`: the same string,
/// or, as Google allows for loopback redirects of installed apps, a registered
/// `http://127.0.0.1`, `http://[::1]` or `http://localhost` without a port matching any port.
fn redirect_allowed(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback = matches!(
        reg.host_str(),
        Some("127.0.0.1") | Some("[::1]") | Some("localhost")
    );
    loopback
        && reg.scheme() == "http"
        && reg.port().is_none()
        && req.scheme() == "http"
        && req.host_str() == reg.host_str()
        && req.port().is_some()
        && (reg.path() == "/" || req.path() == reg.path())
}

/// `GET /o/oauth2/v2/auth`: validates the request like Google, then shows "Choose an account".
pub(crate) async fn get_authorize(State(emu): State<Emulator>, uri: Uri) -> Response {
    let shared = emu.shared();
    let p = Params::from_query(&uri);
    let Some(client_id) = p.non_empty("client_id") else {
        return error_page(
            400,
            "invalid_request",
            "Missing required parameter: client_id",
            None,
        );
    };
    let Some(client) = shared.client(client_id) else {
        return error_page(
            401,
            "invalid_client",
            "The OAuth client was not found.",
            None,
        );
    };
    let app = Some(client.app_name.as_str());
    let Some(redirect_uri) = p.non_empty("redirect_uri") else {
        return error_page(
            400,
            "invalid_request",
            "Missing required parameter: redirect_uri",
            app,
        );
    };
    if !client
        .redirect_uris
        .iter()
        .any(|u| redirect_allowed(u, redirect_uri))
    {
        return error_page(
            400,
            "redirect_uri_mismatch",
            &format!(
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. \
If you're the app developer, register the redirect URI in the Google Cloud Console. Request details: redirect_uri={redirect_uri}"
            ),
            app,
        );
    }
    match p.non_empty("response_type") {
        None => {
            return error_page(
                400,
                "invalid_request",
                "Required parameter is missing: response_type",
                app,
            );
        }
        Some("code") => {}
        Some(other) => {
            return error_page(
                400,
                "invalid_request",
                &format!("Unsupported response_type: {other}"),
                app,
            );
        }
    }
    let requested: Vec<String> = p
        .get("scope")
        .unwrap_or_default()
        .split([' ', '+'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if requested.is_empty() {
        return error_page(
            400,
            "invalid_request",
            "Missing required parameter: scope",
            app,
        );
    }
    let unknown: Vec<&str> = requested
        .iter()
        .filter(|s| scopes::lookup(s).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return error_page(
            400,
            "invalid_scope",
            &format!(
                "Some requested scopes were invalid. {{invalid=[{}]}}",
                unknown.join(", ")
            ),
            app,
        );
    }
    let pkce = match (
        p.non_empty("code_challenge"),
        p.non_empty("code_challenge_method"),
    ) {
        (None, None) => None,
        (None, Some(_)) => {
            return error_page(
                400,
                "invalid_request",
                "Missing required parameter: code_challenge",
                app,
            );
        }
        (Some(challenge), method) => {
            let method = match method.unwrap_or("plain") {
                m if m.eq_ignore_ascii_case("S256") => PkceMethod::S256,
                m if m.eq_ignore_ascii_case("plain") => PkceMethod::Plain,
                other => {
                    return error_page(
                        400,
                        "invalid_request",
                        &format!("Invalid code_challenge_method: {other}"),
                        app,
                    );
                }
            };
            Some(Pkce {
                challenge: challenge.to_string(),
                method,
            })
        }
    };
    let mut deduped = Vec::new();
    for s in requested {
        if !deduped.contains(&s) {
            deduped.push(s);
        }
    }
    let flow = PendingFlow {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        scopes: deduped,
        state: p.get("state").map(str::to_string),
        offline: p.get("access_type") == Some("offline"),
        include_granted_scopes: p.flag("include_granted_scopes").unwrap_or(false),
        pkce,
        login_hint: p.non_empty("login_hint").map(str::to_string),
        nonce: p.non_empty("nonce").map(str::to_string),
        account: None,
        step: Step::ChooseAccount,
        created: shared.now(),
    };
    let flow_id = ids::random_token(24);
    let page = render_step(&emu, &flow_id, &flow);
    {
        let mut oauth = write(&shared.oauth);
        oauth.sweep(shared.now());
        oauth.flows.insert(flow_id, flow);
    }
    (
        [(
            header::CACHE_CONTROL,
            "no-cache, no-store, max-age=0, must-revalidate",
        )],
        Html(page),
    )
        .into_response()
}

fn render_step(emu: &Emulator, flow_id: &str, flow: &PendingFlow) -> String {
    let shared = emu.shared();
    let app_name = shared
        .client(&flow.client_id)
        .map(|c| c.app_name.clone())
        .unwrap_or_default();
    let email = flow
        .account
        .as_ref()
        .map(|a| a.email.clone())
        .unwrap_or_default();
    match flow.step {
        Step::ChooseAccount => {
            let mut accounts: Vec<(String, String)> = read(&shared.accounts)
                .values()
                .map(|a| (a.email.clone(), a.display_name.clone()))
                .collect();
            accounts.sort();
            pages::choose_account(flow_id, &app_name, &accounts, flow.login_hint.as_deref())
        }
        Step::Unverified => pages::unverified(flow_id, &app_name, &email),
        Step::Scope(n) => {
            let scopes = flow.consent_scopes();
            let scope = scopes[n.min(scopes.len().saturating_sub(1))];
            pages::scope_consent(
                flow_id,
                &flow.step.name(),
                &app_name,
                &email,
                scope.description,
                scope.uri,
            )
        }
        Step::Confirm => {
            let items: Vec<(&str, &str)> = flow
                .scopes
                .iter()
                .filter_map(|s| scopes::lookup(s))
                .map(|s| (s.uri, s.description))
                .collect();
            pages::confirm(flow_id, &app_name, &email, &items)
        }
    }
}

/// The step after `step` for this flow.
fn next_step(flow: &PendingFlow, verified: bool) -> Step {
    let n_scopes = flow.consent_scopes().len();
    let first_scope = || {
        if n_scopes > 0 {
            Step::Scope(0)
        } else {
            Step::Confirm
        }
    };
    match flow.step {
        Step::ChooseAccount if !verified => Step::Unverified,
        Step::ChooseAccount | Step::Unverified => first_scope(),
        Step::Scope(n) if n + 1 < n_scopes => Step::Scope(n + 1),
        Step::Scope(_) | Step::Confirm => Step::Confirm,
    }
}

/// `POST /signin/oauth/consent`: one step of the dance, decided by the pressed button.
pub(crate) async fn post_consent(State(emu): State<Emulator>, body: Bytes) -> Response {
    let shared = emu.shared();
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let flow_id = form.get("flow").unwrap_or_default().to_string();
    let Some(mut flow) = read(&shared.oauth).flows.get(&flow_id).cloned() else {
        return error_page(
            400,
            "invalid_request",
            "This sign-in request has expired or was already completed. Start again from the app.",
            None,
        );
    };
    if form.get("step") != Some(flow.step.name().as_str()) {
        // A stale form (back button, double submit): show the current step again.
        return Html(render_step(&emu, &flow_id, &flow)).into_response();
    }
    let Some(client) = shared.client(&flow.client_id) else {
        return error_page(
            401,
            "invalid_client",
            "The OAuth client was not found.",
            None,
        );
    };
    let decision = form.get("decision");
    if decision == Some("deny") {
        write(&shared.oauth).flows.remove(&flow_id);
        return denied(&flow);
    }
    if flow.step == Step::ChooseAccount {
        let chosen = form
            .non_empty("account")
            .and_then(|email| shared.account(email));
        match chosen {
            Some(account) => flow.account = Some(account),
            None => return Html(render_step(&emu, &flow_id, &flow)).into_response(),
        }
    } else if decision != Some("allow") {
        return Html(render_step(&emu, &flow_id, &flow)).into_response();
    }
    if flow.step == Step::Confirm {
        return finish(&emu, &flow_id, flow, &client.app_name);
    }
    flow.step = next_step(&flow, client.verified);
    let page = render_step(&emu, &flow_id, &flow);
    write(&shared.oauth).flows.insert(flow_id, flow);
    Html(page).into_response()
}

/// Everything allowed: issue the code, send the security alert, redirect back to the app.
fn finish(emu: &Emulator, flow_id: &str, flow: PendingFlow, app_name: &str) -> Response {
    let shared = emu.shared();
    let Some(account) = flow.account.clone() else {
        return error_page(400, "invalid_request", "No account was chosen.", None);
    };
    let code = ids::authorization_code();
    let scopes = {
        let mut oauth = write(&shared.oauth);
        if oauth.flows.remove(flow_id).is_none() {
            return error_page(
                400,
                "invalid_request",
                "This sign-in request was already completed.",
                None,
            );
        }
        let key = (account.email.to_lowercase(), flow.client_id.clone());
        let mut scopes = flow.scopes.clone();
        if flow.include_granted_scopes
            && let Some(before) = oauth.granted.get(&key)
        {
            for s in before {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
        }
        oauth
            .granted
            .entry(key)
            .or_default()
            .extend(flow.scopes.iter().cloned());
        oauth.codes.insert(
            code.clone(),
            AuthCode {
                client_id: flow.client_id.clone(),
                redirect_uri: flow.redirect_uri.clone(),
                scopes: scopes.clone(),
                account: account.clone(),
                pkce: flow.pkce.clone(),
                nonce: flow.nonce.clone(),
                offline: flow.offline,
                expires_at: shared.now() + shared.code_lifetime,
                exchanged_into: None,
            },
        );
        scopes
    };
    tracing::info!(account = %account.email, client_id = %flow.client_id, scopes = %scopes.join(" "), "access granted");
    let alert = crate::demo::security_alert(&account, app_name, shared.now());
    if let Err(e) = shared.store(
        &account,
        alert,
        StoreOptions {
            labels: vec![
                "UNREAD".into(),
                "IMPORTANT".into(),
                "CATEGORY_UPDATES".into(),
                "INBOX".into(),
            ],
            ..Default::default()
        },
    ) {
        tracing::warn!(error = %e, "could not deliver the security alert");
    }
    let scope = scopes.join(" ");
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(state) = &flow.state {
        pairs.push(("state", state.as_str()));
    }
    pairs.push(("code", code.as_str()));
    pairs.push(("scope", scope.as_str()));
    pairs.push(("authuser", "0"));
    pairs.push(("prompt", "consent"));
    redirect_with(&flow.redirect_uri, &pairs)
}

#[cfg(test)]
mod tests {
    use super::redirect_allowed;

    #[test]
    fn loopback_redirects_without_a_port_match_any_port() {
        assert!(redirect_allowed(
            "http://a.example/cb",
            "http://a.example/cb"
        ));
        assert!(!redirect_allowed(
            "http://a.example/cb",
            "http://a.example/cb2"
        ));
        assert!(redirect_allowed(
            "http://127.0.0.1",
            "http://127.0.0.1:53682/"
        ));
        assert!(redirect_allowed(
            "http://localhost/cb",
            "http://localhost:8080/cb"
        ));
        assert!(!redirect_allowed(
            "http://localhost/cb",
            "http://localhost:8080/other"
        ));
        assert!(!redirect_allowed(
            "http://127.0.0.1:9/cb",
            "http://127.0.0.1:10/cb"
        ));
        assert!(!redirect_allowed(
            "http://127.0.0.1",
            "http://evil.example:80/"
        ));
    }
}
