//! A mailbox as saved to a state file and read back: messages (raw bytes, labels, thread, date),
//! the user's labels, drafts and the history id. History records are not kept: a
//! `startHistoryId` from before a restart is answered 404, as Gmail answers history it no longer
//! has, and a client reads the mailbox afresh.

use super::labels::{LabelColor, LabelDef, LabelType};
use super::message::ParsedMessage;
use super::{History, Mailbox};
use crate::ids::{format_id, parse_id};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MailboxSnapshot {
    pub history_id: u64,
    pub next_user_label: u64,
    pub labels: Vec<LabelSnapshot>,
    pub messages: Vec<MessageSnapshot>,
    /// Draft id → message id.
    pub drafts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LabelSnapshot {
    pub id: String,
    pub name: String,
    pub message_list_visibility: Option<String>,
    pub label_list_visibility: Option<String>,
    pub color: Option<LabelColor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MessageSnapshot {
    pub id: String,
    pub thread_id: String,
    pub labels: Vec<String>,
    pub internal_date: i64,
    pub inbox_before_trash: bool,
    /// The RFC 822 bytes, base64url.
    pub raw: String,
}

impl Mailbox {
    pub(crate) fn snapshot(&self) -> MailboxSnapshot {
        MailboxSnapshot {
            history_id: self.history.current(),
            next_user_label: self.next_user_label,
            labels: self
                .labels
                .iter()
                .filter(|l| l.kind == LabelType::User)
                .map(|l| LabelSnapshot {
                    id: l.id.clone(),
                    name: l.name.clone(),
                    message_list_visibility: l.message_list_visibility.clone(),
                    label_list_visibility: l.label_list_visibility.clone(),
                    color: l.color.clone(),
                })
                .collect(),
            messages: self
                .messages
                .values()
                .map(|e| MessageSnapshot {
                    id: e.id_hex.clone(),
                    thread_id: e.thread_hex.clone(),
                    labels: e.labels.clone(),
                    internal_date: e.internal_date,
                    inbox_before_trash: e.inbox_before_trash,
                    raw: URL_SAFE_NO_PAD.encode(&e.msg.raw),
                })
                .collect(),
            drafts: self
                .drafts
                .iter()
                .map(|(draft, message)| (draft.clone(), format_id(*message)))
                .collect(),
        }
    }

    /// A mailbox holding what a snapshot saved; messages that cannot be read back are skipped
    /// (and named in the answer), so one bad entry does not lose a whole mailbox.
    pub(crate) fn restore(snapshot: &MailboxSnapshot) -> (Mailbox, Vec<String>) {
        let mut mailbox = Mailbox::new();
        let mut skipped = Vec::new();
        for message in &snapshot.messages {
            let parsed = URL_SAFE_NO_PAD
                .decode(message.raw.trim_end_matches('='))
                .ok()
                .and_then(|raw| ParsedMessage::parse(raw).ok());
            let (Some(id), Some(thread), Some(parsed)) =
                (parse_id(&message.id), parse_id(&message.thread_id), parsed)
            else {
                skipped.push(message.id.clone());
                continue;
            };
            mailbox.add(
                id,
                Arc::new(parsed),
                message.labels.clone(),
                Some(thread),
                message.internal_date,
            );
            if let Some(entry) = mailbox.get_mut(id) {
                entry.inbox_before_trash = message.inbox_before_trash;
            }
        }
        for label in &snapshot.labels {
            mailbox.labels.push(LabelDef {
                id: label.id.clone(),
                name: label.name.clone(),
                kind: LabelType::User,
                message_list_visibility: label.message_list_visibility.clone(),
                label_list_visibility: label.label_list_visibility.clone(),
                color: label.color.clone(),
            });
        }
        mailbox.next_user_label = snapshot.next_user_label.max(1);
        for (draft, message) in &snapshot.drafts {
            if let Some(id) = parse_id(message).filter(|id| mailbox.get(*id).is_some()) {
                mailbox.drafts.insert(draft.clone(), id);
            }
        }
        let history_id = snapshot.history_id.max(mailbox.history.current());
        mailbox.history = History::new(history_id);
        for entry in mailbox.messages.values_mut() {
            entry.history_id = entry.history_id.min(history_id);
        }
        (mailbox, skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_survives_a_snapshot() {
        let mut mailbox = Mailbox::new();
        let raw = |s: &str| {
            Arc::new(
                ParsedMessage::parse(
                    format!(
                        "From: a@x.test\r\nSubject: {s}\r\nMessage-ID: <{s}@x.test>\r\n\r\nbody\r\n"
                    )
                    .into_bytes(),
                )
                .unwrap(),
            )
        };
        mailbox.add(0x10, raw("one"), vec!["INBOX".into()], None, 1_000);
        mailbox.add(
            0x20,
            raw("two"),
            vec!["INBOX".into(), "UNREAD".into()],
            Some(0x10),
            2_000,
        );
        let label = mailbox
            .create_label("Work", None, None, None)
            .unwrap()
            .id
            .clone();
        mailbox
            .modify(0x20, std::slice::from_ref(&label), &[])
            .unwrap();
        mailbox.trash(0x10).unwrap();
        mailbox.set_draft("r42".into(), 0x20);
        let saved = mailbox.snapshot();
        let text = serde_json::to_string(&saved).unwrap();
        let (restored, skipped) = Mailbox::restore(&serde_json::from_str(&text).unwrap());
        assert!(skipped.is_empty());
        assert_eq!(restored.history_id(), mailbox.history_id());
        assert_eq!(restored.get(0x20).unwrap().thread_id, 0x10);
        assert!(restored.get(0x20).unwrap().labels.contains(&label));
        assert_eq!(restored.label(&label).unwrap().name, "Work");
        assert_eq!(restored.draft("r42"), Some(0x20));
        assert_eq!(restored.with_message_id("two@x.test"), [0x20]);
        // Untrash still knows the message came from the inbox.
        let mut restored = restored;
        assert!(
            restored
                .untrash(0x10)
                .unwrap()
                .labels
                .contains(&"INBOX".to_string())
        );
        // A new label does not reuse an old id.
        assert_ne!(
            restored.create_label("Home", None, None, None).unwrap().id,
            label
        );
    }
}
