//! Secrets shown once after a form: the form's answer keeps them (sealed, in the session) and
//! redirects; the page it redirects to takes them. Reloading that page shows nothing and
//! creates nothing.

use crate::ConsoleState;
use crate::session::Person;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub(crate) enum Notice {
    NewKey {
        proxy: i64,
        name: String,
        secret: String,
    },
    NewSecrets {
        user: String,
        organization: String,
    },
}

pub(crate) async fn remember(state: &ConsoleState, person: &Person, notice: &Notice) {
    let text = serde_json::to_string(notice).expect("a notice serializes");
    if let Err(error) = state
        .app
        .remember_console_notice(&person.token, &text)
        .await
    {
        tracing::warn!(error = %error, "could not keep a notice for the next page");
    }
}

/// The session's notice, if it is one that `wanted` accepts (others stay unshown and are dropped).
pub(crate) async fn take(
    state: &ConsoleState,
    person: &Person,
    wanted: impl Fn(&Notice) -> bool,
) -> Option<Notice> {
    let text = state
        .app
        .take_console_notice(&person.token)
        .await
        .ok()
        .flatten()?;
    serde_json::from_str::<Notice>(text.expose())
        .ok()
        .filter(wanted)
}
