//! Mail Google itself puts into an account: the welcome mails of a new inbox and the security
//! alert sent when an app is granted access.

use crate::ids::random_token;
use crate::state::Account;
use chrono::{DateTime, Utc};
use std::time::SystemTime;

fn rfc2822(at: SystemTime) -> String {
    DateTime::<Utc>::from(at)
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

fn message_id() -> String {
    format!("<{}@google.com>", random_token(18))
}

struct Mail<'a> {
    from: &'a str,
    to: &'a str,
    subject: &'a str,
    text: &'a str,
    html: &'a str,
    at: SystemTime,
}

fn alternative(mail: Mail<'_>) -> Vec<u8> {
    let boundary = format!("000000000000{}", random_token(9).replace(['-', '_'], "0"));
    format!(
        "MIME-Version: 1.0\r\n\
Date: {date}\r\n\
Message-ID: {mid}\r\n\
Subject: {subject}\r\n\
From: {from}\r\n\
To: {to}\r\n\
Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\
\r\n\
--{boundary}\r\n\
Content-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
{text}\r\n\
\r\n\
--{boundary}\r\n\
Content-Type: text/html; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
{html}\r\n\
\r\n\
--{boundary}--\r\n",
        date = rfc2822(mail.at),
        mid = message_id(),
        subject = mail.subject,
        from = mail.from,
        to = mail.to,
        text = mail.text.replace('\n', "\r\n"),
        html = mail.html,
    )
    .into_bytes()
}

/// The welcome mails of a fresh Gmail inbox.
pub(crate) fn welcome_mails(account: &Account, now: SystemTime) -> Vec<Vec<u8>> {
    let to = format!("{} <{}>", account.display_name, account.email);
    let first = account
        .display_name
        .split_whitespace()
        .next()
        .unwrap_or("there");
    let tips_text = format!(
        "Hi {first},\n\nTips for using your new inbox:\n\n\
Find emails fast: search for any word, sender or date with the search box.\n\
Stay organized: labels and categories sort your mail for you.\n\
Go mobile: get the Gmail app for Android and iPhone.\n\n\
Happy emailing,\nThe Gmail Team"
    );
    let tips_html = format!(
        "<html><body><p>Hi {first},</p><p>Tips for using your new inbox:</p><ul>\
<li>Find emails fast: search for any word, sender or date.</li>\
<li>Stay organized: labels and categories sort your mail for you.</li>\
<li>Go mobile: get the Gmail app for Android and iPhone.</li></ul>\
<p>Happy emailing,<br>The Gmail Team</p></body></html>"
    );
    let app_text = "Get the official Gmail app\n\nThe best features of Gmail are only available on \
your phone and tablet with the official Gmail app. Download the app or go to gmail.com on your \
computer or mobile device to get started.\n\nThe Gmail Team";
    let app_html = "<html><body><h2>Get the official Gmail app</h2><p>The best features of Gmail \
are only available on your phone and tablet with the official Gmail app.</p>\
<p>The Gmail Team</p></body></html>";
    vec![
        alternative(Mail {
            from: "Gmail Team <mail-noreply@google.com>",
            to: &to,
            subject: "Get the official Gmail app",
            text: app_text,
            html: app_html,
            at: now,
        }),
        alternative(Mail {
            from: "Gmail Team <mail-noreply@google.com>",
            to: &to,
            subject: "Tips for using your new inbox",
            text: &tips_text,
            html: &tips_html,
            at: now,
        }),
    ]
}

/// Google's "Security alert" after an app was granted access to the account.
pub(crate) fn security_alert(account: &Account, app_name: &str, now: SystemTime) -> Vec<u8> {
    let email = &account.email;
    let text = format!(
        "{app_name} was granted access to your Google Account\n{email}\n\n\
If you did not grant access, you should check this activity and secure your account.\n\
Check activity\n\n\
You received this email to let you know about important changes to your Google Account and services.\n\
Google LLC, 1600 Amphitheatre Parkway, Mountain View, CA 94043, USA"
    );
    let app_html = html_escape::encode_text(app_name);
    let email_html = html_escape::encode_text(email);
    let html = format!(
        "<html><body><div style=\"font-family:Roboto,Arial,sans-serif\">\
<p style=\"font-size:24px\">{app_html} was granted access to your Google Account</p>\
<p>{email_html}</p>\
<p>If you did not grant access, you should check this activity and secure your account.</p>\
<p><a href=\"https://myaccount.google.com/notifications\">Check activity</a></p>\
<p style=\"font-size:11px\">You received this email to let you know about important changes to your \
Google Account and services.<br>&copy; Google LLC, 1600 Amphitheatre Parkway, Mountain View, CA 94043, USA</p>\
</div></body></html>"
    );
    alternative(Mail {
        from: "Google <no-reply@accounts.google.com>",
        to: email,
        subject: "Security alert",
        text: &text,
        html: &html,
        at: now,
    })
}
