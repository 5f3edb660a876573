//! Labels: Gmail's system labels and the user's own.

use serde::{Deserialize, Serialize};

/// Whether Gmail owns the label or the user made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LabelType {
    System,
    User,
}

/// `LabelColor` of the Gmail API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LabelColor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
}

/// One label of a mailbox (without counts, which are computed when asked).
#[derive(Debug, Clone)]
pub(crate) struct LabelDef {
    pub id: String,
    pub name: String,
    pub kind: LabelType,
    pub message_list_visibility: Option<String>,
    pub label_list_visibility: Option<String>,
    pub color: Option<LabelColor>,
}

/// System labels in the order Gmail lists them, with the visibilities Gmail reports.
const SYSTEM: &[(&str, Option<&str>, Option<&str>)] = &[
    ("CHAT", Some("hide"), Some("labelHide")),
    ("SENT", Some("hide"), Some("labelShow")),
    ("INBOX", Some("hide"), Some("labelShow")),
    ("IMPORTANT", Some("hide"), Some("labelShow")),
    ("TRASH", Some("hide"), Some("labelHide")),
    ("DRAFT", Some("hide"), Some("labelShow")),
    ("SPAM", Some("hide"), Some("labelHide")),
    ("CATEGORY_FORUMS", None, None),
    ("CATEGORY_UPDATES", None, None),
    ("CATEGORY_PERSONAL", None, None),
    ("CATEGORY_PROMOTIONS", None, None),
    ("CATEGORY_SOCIAL", None, None),
    ("STARRED", Some("hide"), Some("labelShow")),
    ("UNREAD", None, None),
];

/// Labels a client may not put on or take off a message with `modify`.
pub(crate) const NOT_MODIFIABLE: &[&str] = &["DRAFT", "SENT", "CHAT"];

pub(crate) fn system_labels() -> Vec<LabelDef> {
    SYSTEM
        .iter()
        .map(|(id, mlv, llv)| LabelDef {
            id: (*id).to_string(),
            name: (*id).to_string(),
            kind: LabelType::System,
            message_list_visibility: mlv.map(str::to_string),
            label_list_visibility: llv.map(str::to_string),
            color: None,
        })
        .collect()
}

pub(crate) fn is_system_name(name: &str) -> bool {
    SYSTEM
        .iter()
        .any(|(id, _, _)| id.eq_ignore_ascii_case(name))
}

/// The form of a label name used by the search language: lowercase, spaces and slashes as `-`.
pub(crate) fn search_form(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '/' { '-' } else { c })
        .collect()
}
