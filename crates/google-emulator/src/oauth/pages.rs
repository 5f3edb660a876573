//! The HTML of the consent dance. Plain server-rendered pages, no external assets: each step is
//! one `<form method="post">` with hidden inputs and submit buttons, so a test (or a person)
//! follows it as a browser would.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// Where every consent form posts.
pub(crate) const FORM_ACTION: &str = "/signin/oauth/consent";

const STYLE: &str = "body{margin:0;background:#fff;font-family:Roboto,'Google Sans',Arial,sans-serif;color:#202124}\
.card{max-width:450px;margin:48px auto;border:1px solid #dadce0;border-radius:8px;padding:40px 40px 36px}\
.logo{font-size:24px;font-weight:500;letter-spacing:-1px;margin-bottom:16px}\
.logo span:nth-child(1){color:#4285f4}.logo span:nth-child(2){color:#ea4335}.logo span:nth-child(3){color:#fbbc05}\
.logo span:nth-child(4){color:#4285f4}.logo span:nth-child(5){color:#34a853}.logo span:nth-child(6){color:#ea4335}\
h1{font-size:24px;font-weight:400;margin:0 0 8px}p{font-size:14px;line-height:20px;color:#5f6368}\
.account{display:block;width:100%;text-align:left;background:#fff;border:0;border-top:1px solid #dadce0;padding:12px 8px;cursor:pointer;font-size:14px}\
.account:hover{background:#f8f9fa}.account b{display:block;color:#3c4043}\
.actions{display:flex;justify-content:flex-end;gap:8px;margin-top:32px}\
.primary{background:#1a73e8;color:#fff;border:0;border-radius:4px;padding:9px 24px;font-size:14px;cursor:pointer}\
.secondary{background:#fff;color:#1a73e8;border:1px solid #dadce0;border-radius:4px;padding:9px 24px;font-size:14px;cursor:pointer}\
.link{background:none;border:0;color:#1a73e8;padding:0;font-size:14px;cursor:pointer;text-decoration:underline}\
.warning{border-left:4px solid #d93025;padding-left:12px}.chip{display:inline-block;border:1px solid #dadce0;border-radius:16px;padding:4px 12px;font-size:14px}\
ul.scopes{padding-left:20px}ul.scopes li{margin:8px 0;font-size:14px}details{margin-top:16px;font-size:14px}\
.error{color:#d93025}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head>\
<body><div class=\"card\"><div class=\"logo\"><span>G</span><span>o</span><span>o</span><span>g</span><span>l</span><span>e</span></div>\
{body}</div></body></html>\n",
        title = text(title),
    )
}

fn hidden(flow: &str, step: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"flow\" value=\"{}\"><input type=\"hidden\" name=\"step\" value=\"{}\">",
        attr(flow),
        attr(step)
    )
}

fn account_chip(email: &str) -> String {
    format!("<p><span class=\"chip\">{}</span></p>", text(email))
}

/// "Choose an account": one submit button per hosted account.
pub(crate) fn choose_account(
    flow: &str,
    app_name: &str,
    accounts: &[(String, String)],
    hint: Option<&str>,
) -> String {
    let mut buttons = String::new();
    let mut ordered: Vec<&(String, String)> = accounts.iter().collect();
    if let Some(h) = hint {
        ordered.sort_by_key(|(email, _)| !email.eq_ignore_ascii_case(h));
    }
    for (email, name) in ordered {
        let preselected = hint.is_some_and(|h| h.eq_ignore_ascii_case(email));
        buttons.push_str(&format!(
            "<button class=\"account\" type=\"submit\" name=\"account\" value=\"{value}\"{focus}><b>{name}</b>{email}</button>",
            value = attr(email),
            focus = if preselected { " autofocus data-selected=\"true\"" } else { "" },
            name = text(name),
            email = text(email),
        ));
    }
    if accounts.is_empty() {
        buttons.push_str("<p class=\"error\">This Google emulator hosts no accounts.</p>");
    }
    layout(
        "Sign in - Google Accounts",
        &format!(
            "<h1>Choose an account</h1><p>to continue to <b>{app}</b></p>\
<form method=\"post\" action=\"{FORM_ACTION}\">{hidden}{buttons}\
<div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></div></form>",
            app = text(app_name),
            hidden = hidden(flow, "account"),
        ),
    )
}

/// "Google hasn't verified this app".
pub(crate) fn unverified(flow: &str, app_name: &str, email: &str) -> String {
    layout(
        "This app isn't verified",
        &format!(
            "<h1>Google hasn\u{2019}t verified this app</h1>{chip}\
<p class=\"warning\">The app is requesting access to sensitive info in your Google Account. \
Until the developer verifies this app with Google, you shouldn't use it.</p>\
<form method=\"post\" action=\"{FORM_ACTION}\">{hidden}\
<details><summary>Advanced</summary>\
<p>Continue only if you understand the risks and trust the developer.</p>\
<button class=\"link\" type=\"submit\" name=\"decision\" value=\"allow\">Go to {app} (unsafe)</button></details>\
<div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"decision\" value=\"deny\">Back to safety</button></div></form>",
            chip = account_chip(email),
            app = text(app_name),
            hidden = hidden(flow, "unverified"),
        ),
    )
}

/// "<app> wants to access your Google Account": one screen per sensitive scope.
pub(crate) fn scope_consent(
    flow: &str,
    step: &str,
    app_name: &str,
    email: &str,
    description: &str,
    scope_uri: &str,
) -> String {
    layout(
        &format!("Grant {app_name} permission"),
        &format!(
            "<h1>Grant {app} permission</h1>{chip}\
<p>{app} wants to:</p><ul class=\"scopes\"><li data-scope=\"{scope}\">{desc}</li></ul>\
<p>Allow {app} to do this?</p>\
<form method=\"post\" action=\"{FORM_ACTION}\">{hidden}\
<div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div></form>",
            app = text(app_name),
            chip = account_chip(email),
            scope = attr(scope_uri),
            desc = text(description),
            hidden = hidden(flow, step),
        ),
    )
}

/// "Confirm your choices": every permission about to be granted.
pub(crate) fn confirm(flow: &str, app_name: &str, email: &str, items: &[(&str, &str)]) -> String {
    let list: String = items
        .iter()
        .map(|(uri, desc)| format!("<li data-scope=\"{}\">{}</li>", attr(uri), text(desc)))
        .collect();
    layout(
        "Confirm your choices",
        &format!(
            "<h1>Confirm your choices</h1>{chip}<p>You are allowing {app} to:</p>\
<ul class=\"scopes\">{list}</ul>\
<p><b>Make sure you trust {app}</b></p><p>You may be sharing sensitive info with this site or app. \
You can always see or remove access in your Google Account.</p>\
<form method=\"post\" action=\"{FORM_ACTION}\">{hidden}\
<div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button>\
<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div></form>",
            chip = account_chip(email),
            app = text(app_name),
            hidden = hidden(flow, "confirm"),
        ),
    )
}

/// Google's error page: "Access blocked: … Error 400: redirect_uri_mismatch".
pub(crate) fn error(status: u16, error: &str, message: &str, app_name: Option<&str>) -> String {
    let headline = match app_name {
        Some(app) => format!("Access blocked: {}\u{2019}s request is invalid", text(app)),
        None => "Access blocked: Authorization Error".to_string(),
    };
    layout(
        &format!("Error {status}: {error}"),
        &format!(
            "<h1>{headline}</h1><p>{message}</p>\
<p class=\"error\"><b>Error {status}: {error}</b></p>",
            message = text(message),
            error = text(error),
        ),
    )
}
