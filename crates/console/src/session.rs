//! Signing in and out, the session cookie, and the extractor every signed-in page uses.

use crate::ConsoleState;
use crate::pages::{SignedIn, render};
use askama::Template;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_app::ConsoleSession;
use serde::Deserialize;

use ferry_app::SESSION_COOKIE as COOKIE;

fn session_token(headers: &HeaderMap) -> Option<String> {
    ferry_app::session_cookie(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok()),
    )
}

fn cookie(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a session token is cookie-safe text")
}

/// A signed-in person; pages without one send the browser to the sign-in page.
pub(crate) struct Person {
    pub session: ConsoleSession,
    pub token: String,
}

impl Person {
    pub fn signed_in(&self) -> SignedIn {
        SignedIn {
            email: self.session.principal.user.email.clone(),
            csrf: self.session.csrf_token.clone(),
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_form(&self, csrf: &str) -> Result<(), ForeignForm> {
        if self.session.accepts(csrf) {
            Ok(())
        } else {
            Err(ForeignForm)
        }
    }
}

/// A form without this session's CSRF token: out of date, or sent from another site.
pub(crate) struct ForeignForm;

impl IntoResponse for ForeignForm {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "This form is out of date or came from another site. Go back, reload the page and try again.",
        )
            .into_response()
    }
}

impl FromRequestParts<ConsoleState> for Person {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let wanted = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/console");
        let to_sign_in = || {
            let next: String = url_encoded(wanted);
            Redirect::to(&format!("/console/sign-in?next={next}")).into_response()
        };
        let token = session_token(&parts.headers).ok_or_else(to_sign_in)?;
        match state.app.console_session(&token).await {
            Ok(session) => Ok(Person { session, token }),
            Err(_) => Err(to_sign_in()),
        }
    }
}

fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Where to go after signing in: a console page, never another site.
fn console_page(next: &str) -> &str {
    if next.starts_with("/console") && !next.starts_with("/console/sign-") && !next.contains("//") {
        next
    } else {
        "/console"
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    signed_in: Option<SignedIn>,
    problem: Option<String>,
    email: String,
    next: String,
}

#[derive(Deserialize)]
pub(crate) struct NextPage {
    #[serde(default)]
    next: String,
}

pub(crate) async fn sign_in_page(Query(query): Query<NextPage>) -> Response {
    render(&SignInPage {
        signed_in: None,
        problem: None,
        email: String::new(),
        next: console_page(&query.next).to_owned(),
    })
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub(crate) async fn sign_in(
    State(state): State<ConsoleState>,
    Form(form): Form<SignInForm>,
) -> Response {
    match state.app.sign_in(&form.email, &form.password).await {
        Ok((token, _)) => {
            let secure = state.app.config().public_url.starts_with("https://");
            let mut response = Redirect::to(console_page(&form.next)).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                cookie(token.expose(), 12 * 3600, secure),
            );
            response
        }
        // The form again, with the problem above it (a page, not an error: browsers log 4xx
        // page loads as errors).
        Err(error) => render(&SignInPage {
            signed_in: None,
            problem: Some(crate::pages::in_words(&error)),
            email: form.email,
            next: console_page(&form.next).to_owned(),
        }),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub(crate) async fn sign_out(
    State(state): State<ConsoleState>,
    person: Person,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = person.check_form(&form.csrf) {
        return refused.into_response();
    }
    if let Err(error) = state.app.sign_out(&person.token).await {
        tracing::warn!(error = %error, "could not end a console session");
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, false));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_in_returns_only_to_console_pages() {
        assert_eq!(console_page("/console/proxies/3"), "/console/proxies/3");
        assert_eq!(console_page("https://evil.example/console"), "/console");
        assert_eq!(console_page("/console//evil.example"), "/console");
        assert_eq!(console_page("/console/sign-in"), "/console");
        assert_eq!(url_encoded("/console/x?q=a b"), "/console/x%3Fq%3Da%20b");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; ferry_session=abc123; other=1"),
        );
        assert_eq!(session_token(&headers).as_deref(), Some("abc123"));
        let mut empty = HeaderMap::new();
        empty.insert(header::COOKIE, HeaderValue::from_static("ferry_session="));
        assert_eq!(session_token(&empty), None);
    }
}
