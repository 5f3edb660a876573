//! The mailbox of one hosted account: messages with labels, threads, labels, drafts and history.
//! Everything is in memory; the account keeps it behind a read-write lock.

pub(crate) mod history;
pub(crate) mod labels;
pub(crate) mod message;
pub(crate) mod snapshot;

use crate::search::{Candidate, Query};
use history::{History, HistoryRecord};
use labels::{LabelColor, LabelDef, LabelType};
use message::ParsedMessage;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Where mailbox history ids start: above zero so that very old `startHistoryId`s answer 404.
const FIRST_HISTORY_ID: u64 = 1000;

/// A message in a mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub id: u64,
    pub thread_id: u64,
    /// `id` and `thread_id` as Gmail prints them, kept so listings do not format them each time.
    pub id_hex: String,
    pub thread_hex: String,
    pub msg: Arc<ParsedMessage>,
    pub labels: Vec<String>,
    pub history_id: u64,
    pub internal_date: i64,
    /// The message was in the inbox when it was trashed (untrash puts it back).
    pub inbox_before_trash: bool,
}

/// A failed mailbox change, mapped to Gmail's answers by the API layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MailboxError {
    NotFound,
    InvalidLabel(String),
    LabelNameExists,
    InvalidLabelName,
    SystemLabel,
}

/// Label counts as `labels.get` reports them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LabelCounts {
    pub messages_total: usize,
    pub messages_unread: usize,
    pub threads_total: usize,
    pub threads_unread: usize,
}

/// Which messages a listing wants.
pub(crate) struct Filter<'a> {
    pub label_ids: &'a [String],
    pub query: Option<&'a Query>,
    pub include_spam_trash: bool,
}

/// Position in a newest-first listing: (internal date, id).
pub(crate) type Cursor = (i64, u64);

#[derive(Debug)]
pub(crate) struct Mailbox {
    /// Messages in listing order (oldest first), so listings walk them without lookups.
    messages: BTreeMap<Cursor, Entry>,
    /// Message id → its internal date (the other half of its key in `messages`).
    index: HashMap<u64, i64>,
    threads: HashMap<u64, Vec<u64>>,
    /// Lowercased Message-ID header → the messages carrying it.
    by_message_id: HashMap<String, Vec<u64>>,
    labels: Vec<LabelDef>,
    next_user_label: u64,
    history: History,
    drafts: HashMap<String, u64>,
    /// Messages outside SPAM and TRASH: the total of an unfiltered listing, kept up to date so
    /// that such a listing stops after its page instead of walking the whole mailbox.
    outside_spam_trash: usize,
}

/// Whether labels put a message where listings do not look by default.
fn in_spam_or_trash(labels: &[String]) -> bool {
    labels.iter().any(|l| l == "SPAM" || l == "TRASH")
}

impl Default for Mailbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Mailbox {
    pub(crate) fn new() -> Self {
        Self {
            messages: BTreeMap::new(),
            index: HashMap::new(),
            threads: HashMap::new(),
            by_message_id: HashMap::new(),
            labels: labels::system_labels(),
            next_user_label: 1,
            history: History::new(FIRST_HISTORY_ID),
            drafts: HashMap::new(),
            outside_spam_trash: 0,
        }
    }

    pub(crate) fn history_id(&self) -> u64 {
        self.history.current()
    }

    pub(crate) fn history(&self) -> &History {
        &self.history
    }

    pub(crate) fn messages_total(&self) -> usize {
        self.messages.len()
    }

    pub(crate) fn threads_total(&self) -> usize {
        self.threads.len()
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Entry> {
        let date = self.index.get(&id)?;
        self.messages.get(&(*date, id))
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Entry> {
        let date = self.index.get(&id)?;
        self.messages.get_mut(&(*date, id))
    }

    /// Ids of the messages whose Message-ID header is `message_id` (any case, no brackets).
    pub(crate) fn with_message_id(&self, message_id: &str) -> &[u64] {
        self.by_message_id
            .get(&message_id.to_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Every message, oldest first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Entry> {
        self.messages.values()
    }

    /// The thread a new message joins: the requested one if it exists here, else the thread of a
    /// message it replies to (In-Reply-To / References), else none (it starts its own).
    pub(crate) fn thread_for(&self, msg: &ParsedMessage, requested: Option<u64>) -> Option<u64> {
        if let Some(t) = requested
            && self.threads.contains_key(&t)
        {
            return Some(t);
        }
        msg.thread_refs.iter().rev().find_map(|r| {
            self.with_message_id(r)
                .iter()
                .find_map(|id| self.get(*id))
                .map(|e| e.thread_id)
        })
    }

    /// Stores a message under `id`; records `messagesAdded`.
    pub(crate) fn add(
        &mut self,
        id: u64,
        msg: Arc<ParsedMessage>,
        mut label_ids: Vec<String>,
        thread: Option<u64>,
        internal_date: i64,
    ) -> &Entry {
        label_ids.dedup();
        let thread_id = thread.unwrap_or(id);
        let history_id = self.history.bump();
        if let Some(mid) = &msg.message_id {
            self.by_message_id
                .entry(mid.to_lowercase())
                .or_default()
                .push(id);
        }
        self.threads.entry(thread_id).or_default().push(id);
        if self.index.insert(id, internal_date).is_none() && !in_spam_or_trash(&label_ids) {
            self.outside_spam_trash += 1;
        }
        self.history.push(HistoryRecord {
            id: history_id,
            message_id: id,
            thread_id,
            labels: label_ids.clone(),
            message_added: true,
            message_deleted: false,
            labels_added: Vec::new(),
            labels_removed: Vec::new(),
        });
        self.messages.entry((internal_date, id)).or_insert(Entry {
            id,
            thread_id,
            id_hex: crate::ids::format_id(id),
            thread_hex: crate::ids::format_id(thread_id),
            msg,
            labels: label_ids,
            history_id,
            internal_date,
            inbox_before_trash: false,
        })
    }

    pub(crate) fn label_exists(&self, id: &str) -> bool {
        self.labels.iter().any(|l| l.id == id)
    }

    /// Checks label ids a client wants to add or remove.
    pub(crate) fn check_modifiable(&self, ids: &[String]) -> Result<(), MailboxError> {
        for id in ids {
            if !self.label_exists(id) || labels::NOT_MODIFIABLE.contains(&id.as_str()) {
                return Err(MailboxError::InvalidLabel(id.clone()));
            }
        }
        Ok(())
    }

    /// Adds and removes labels on one message; records what actually changed.
    pub(crate) fn modify(
        &mut self,
        id: u64,
        add: &[String],
        remove: &[String],
    ) -> Result<&Entry, MailboxError> {
        let date = *self.index.get(&id).ok_or(MailboxError::NotFound)?;
        let entry = self
            .messages
            .get_mut(&(date, id))
            .ok_or(MailboxError::NotFound)?;
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let hidden_before = in_spam_or_trash(&entry.labels);
        for l in add {
            if !entry.labels.contains(l) && !remove.contains(l) {
                entry.labels.push(l.clone());
                added.push(l.clone());
            }
        }
        for l in remove {
            if let Some(pos) = entry.labels.iter().position(|x| x == l) {
                entry.labels.remove(pos);
                removed.push(l.clone());
            }
        }
        match (hidden_before, in_spam_or_trash(&entry.labels)) {
            (true, false) => self.outside_spam_trash += 1,
            (false, true) => self.outside_spam_trash -= 1,
            _ => {}
        }
        if !added.is_empty() || !removed.is_empty() {
            let history_id = self.history.bump();
            entry.history_id = history_id;
            self.history.push(HistoryRecord {
                id: history_id,
                message_id: id,
                thread_id: entry.thread_id,
                labels: entry.labels.clone(),
                message_added: false,
                message_deleted: false,
                labels_added: added,
                labels_removed: removed,
            });
        }
        self.get(id).ok_or(MailboxError::NotFound)
    }

    /// Moves a message to the trash (removing it from the inbox and spam).
    pub(crate) fn trash(&mut self, id: u64) -> Result<&Entry, MailboxError> {
        let entry = self.get_mut(id).ok_or(MailboxError::NotFound)?;
        if !entry.labels.iter().any(|l| l == "TRASH") {
            entry.inbox_before_trash = entry.labels.iter().any(|l| l == "INBOX");
        }
        self.modify(
            id,
            &["TRASH".to_string()],
            &["INBOX".to_string(), "SPAM".to_string()],
        )
    }

    /// Takes a message out of the trash (back into the inbox if it came from there).
    pub(crate) fn untrash(&mut self, id: u64) -> Result<&Entry, MailboxError> {
        let entry = self.get(id).ok_or(MailboxError::NotFound)?;
        let back_to_inbox = entry.inbox_before_trash && entry.labels.iter().any(|l| l == "TRASH");
        let add: Vec<String> = if back_to_inbox {
            vec!["INBOX".to_string()]
        } else {
            Vec::new()
        };
        self.modify(id, &add, &["TRASH".to_string()])
    }

    /// Deletes a message for good; records `messagesDeleted`.
    pub(crate) fn delete(&mut self, id: u64) -> Result<(), MailboxError> {
        let date = self.index.remove(&id).ok_or(MailboxError::NotFound)?;
        let entry = self
            .messages
            .remove(&(date, id))
            .ok_or(MailboxError::NotFound)?;
        if !in_spam_or_trash(&entry.labels) {
            self.outside_spam_trash -= 1;
        }
        if let Some(list) = self.threads.get_mut(&entry.thread_id) {
            list.retain(|m| *m != id);
            if list.is_empty() {
                self.threads.remove(&entry.thread_id);
            }
        }
        if let Some(mid) = &entry.msg.message_id {
            let key = mid.to_lowercase();
            if let Some(ids) = self.by_message_id.get_mut(&key) {
                ids.retain(|m| *m != id);
                if ids.is_empty() {
                    self.by_message_id.remove(&key);
                }
            }
        }
        self.drafts.retain(|_, m| *m != id);
        let history_id = self.history.bump();
        self.history.push(HistoryRecord {
            id: history_id,
            message_id: id,
            thread_id: entry.thread_id,
            labels: entry.labels,
            message_added: false,
            message_deleted: true,
            labels_added: Vec::new(),
            labels_removed: Vec::new(),
        });
        Ok(())
    }

    fn visible(&self, e: &Entry, filter: &Filter<'_>) -> bool {
        let spam_trash_ok = filter.include_spam_trash
            || filter.query.is_some_and(|q| q.mentions_spam_or_trash)
            || filter.label_ids.iter().any(|l| l == "SPAM" || l == "TRASH");
        if !spam_trash_ok && e.labels.iter().any(|l| l == "SPAM" || l == "TRASH") {
            return false;
        }
        if !filter
            .label_ids
            .iter()
            .all(|want| e.labels.iter().any(|l| l == want))
        {
            return false;
        }
        match filter.query {
            Some(q) => q.matches(&Candidate {
                search: &e.msg.search,
                labels: &e.labels,
                internal_date: e.internal_date,
                size: e.msg.size(),
            }),
            None => true,
        }
    }

    /// Matching messages newest first, starting after `after`, at most `max`; plus the total
    /// number of matches and where the next page starts.
    pub(crate) fn list(
        &self,
        filter: &Filter<'_>,
        after: Option<Cursor>,
        max: usize,
    ) -> (Vec<&Entry>, usize, Option<Cursor>) {
        if let Some(mid) = filter.query.and_then(Query::required_message_id) {
            let mut candidates: Vec<&Entry> = self
                .with_message_id(mid)
                .iter()
                .filter_map(|id| self.get(*id))
                .collect();
            candidates.sort_by_key(|e| std::cmp::Reverse((e.internal_date, e.id)));
            return self.page(candidates.into_iter(), filter, after, max);
        }
        let unfiltered =
            filter.label_ids.is_empty() && filter.query.is_none() && !filter.include_spam_trash;
        if unfiltered {
            // The total is known, so only the page itself (and one more) is walked.
            let newest_first: Box<dyn Iterator<Item = &Entry>> = match after {
                Some(cursor) => Box::new(self.messages.range(..cursor).rev().map(|(_, e)| e)),
                None => Box::new(self.messages.values().rev()),
            };
            let mut page = Vec::with_capacity(max.min(self.outside_spam_trash));
            let mut next = None;
            for e in newest_first.filter(|e| !in_spam_or_trash(&e.labels)) {
                if page.len() == max {
                    next = page.last().map(|p: &&Entry| (p.internal_date, p.id));
                    break;
                }
                page.push(e);
            }
            return (page, self.outside_spam_trash, next);
        }
        self.page(self.messages.values().rev(), filter, after, max)
    }

    fn page<'a>(
        &self,
        newest_first: impl Iterator<Item = &'a Entry>,
        filter: &Filter<'_>,
        after: Option<Cursor>,
        max: usize,
    ) -> (Vec<&'a Entry>, usize, Option<Cursor>) {
        let mut page = Vec::new();
        let mut total = 0;
        let mut next = None;
        for e in newest_first {
            if !self.visible(e, filter) {
                continue;
            }
            total += 1;
            if after.is_some_and(|a| (e.internal_date, e.id) >= a) {
                continue;
            }
            if page.len() < max {
                page.push(e);
            } else if next.is_none() {
                next = page.last().map(|p: &&Entry| (p.internal_date, p.id));
            }
        }
        (page, total, next)
    }

    /// Threads with at least one matching message, ordered by their newest matching message.
    pub(crate) fn list_threads(
        &self,
        filter: &Filter<'_>,
        after: Option<Cursor>,
        max: usize,
    ) -> (Vec<(u64, Cursor)>, usize, Option<Cursor>) {
        let mut seen = std::collections::HashSet::new();
        let mut all = Vec::new();
        for (key, e) in self.messages.iter().rev() {
            if seen.contains(&e.thread_id) || !self.visible(e, filter) {
                continue;
            }
            seen.insert(e.thread_id);
            all.push((e.thread_id, *key));
        }
        let total = all.len();
        let start = match after {
            Some(a) => all.iter().position(|(_, k)| *k < a).unwrap_or(all.len()),
            None => 0,
        };
        let page: Vec<(u64, Cursor)> = all[start..].iter().take(max).copied().collect();
        let next = if start + page.len() < all.len() {
            page.last().map(|(_, k)| *k)
        } else {
            None
        };
        (page, total, next)
    }

    /// The messages of a thread, oldest first.
    pub(crate) fn thread(&self, thread_id: u64) -> Option<Vec<&Entry>> {
        let ids = self.threads.get(&thread_id)?;
        let mut entries: Vec<&Entry> = ids.iter().filter_map(|id| self.get(*id)).collect();
        entries.sort_by_key(|e| (e.internal_date, e.id));
        Some(entries)
    }

    // ----- labels -----

    pub(crate) fn labels(&self) -> &[LabelDef] {
        &self.labels
    }

    pub(crate) fn label(&self, id: &str) -> Option<&LabelDef> {
        self.labels.iter().find(|l| l.id == id)
    }

    /// Resolves a label name in search form (`label:my-label`) to its id.
    pub(crate) fn label_id_for_search(&self, form: &str) -> Option<String> {
        self.labels
            .iter()
            .find(|l| labels::search_form(&l.name) == form || labels::search_form(&l.id) == form)
            .map(|l| l.id.clone())
    }

    pub(crate) fn label_counts(&self, id: &str) -> LabelCounts {
        let mut counts = LabelCounts::default();
        let mut threads = HashMap::<u64, bool>::new();
        for e in self.messages.values() {
            if !e.labels.iter().any(|l| l == id) {
                continue;
            }
            let unread = e.labels.iter().any(|l| l == "UNREAD");
            counts.messages_total += 1;
            if unread {
                counts.messages_unread += 1;
            }
            let t = threads.entry(e.thread_id).or_insert(false);
            *t |= unread;
        }
        counts.threads_total = threads.len();
        counts.threads_unread = threads.values().filter(|u| **u).count();
        counts
    }

    fn check_new_name(&self, name: &str, except: Option<&str>) -> Result<(), MailboxError> {
        let name = name.trim();
        if name.is_empty() || labels::is_system_name(name) {
            return Err(MailboxError::InvalidLabelName);
        }
        if self
            .labels
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name) && Some(l.id.as_str()) != except)
        {
            return Err(MailboxError::LabelNameExists);
        }
        Ok(())
    }

    pub(crate) fn create_label(
        &mut self,
        name: &str,
        message_list_visibility: Option<String>,
        label_list_visibility: Option<String>,
        color: Option<LabelColor>,
    ) -> Result<&LabelDef, MailboxError> {
        self.check_new_name(name, None)?;
        let id = format!("Label_{}", self.next_user_label);
        self.next_user_label += 1;
        self.labels.push(LabelDef {
            id,
            name: name.trim().to_string(),
            kind: LabelType::User,
            message_list_visibility,
            label_list_visibility,
            color,
        });
        self.history.bump();
        Ok(self
            .labels
            .last()
            .unwrap_or_else(|| unreachable!("just pushed")))
    }

    /// Replaces (update) or merges (patch) a user label's fields.
    pub(crate) fn change_label(
        &mut self,
        id: &str,
        change: LabelChange,
    ) -> Result<&LabelDef, MailboxError> {
        let pos = self
            .labels
            .iter()
            .position(|l| l.id == id)
            .ok_or(MailboxError::NotFound)?;
        if self.labels[pos].kind == LabelType::System {
            return Err(MailboxError::SystemLabel);
        }
        if let Some(name) = &change.name {
            self.check_new_name(name, Some(id))?;
        } else if change.replace {
            return Err(MailboxError::InvalidLabelName);
        }
        let label = &mut self.labels[pos];
        if let Some(name) = change.name {
            label.name = name.trim().to_string();
        }
        if change.replace || change.message_list_visibility.is_some() {
            label.message_list_visibility = change.message_list_visibility;
        }
        if change.replace || change.label_list_visibility.is_some() {
            label.label_list_visibility = change.label_list_visibility;
        }
        if change.replace || change.color.is_some() {
            label.color = change.color;
        }
        self.history.bump();
        Ok(&self.labels[pos])
    }

    /// Deletes a user label and takes it off every message.
    pub(crate) fn delete_label(&mut self, id: &str) -> Result<(), MailboxError> {
        let pos = self
            .labels
            .iter()
            .position(|l| l.id == id)
            .ok_or(MailboxError::NotFound)?;
        if self.labels[pos].kind == LabelType::System {
            return Err(MailboxError::SystemLabel);
        }
        self.labels.remove(pos);
        let carrying: Vec<u64> = self
            .messages
            .values()
            .filter(|e| e.labels.iter().any(|l| l == id))
            .map(|e| e.id)
            .collect();
        for m in carrying {
            let _ = self.modify(m, &[], &[id.to_string()]);
        }
        Ok(())
    }

    // ----- drafts -----

    pub(crate) fn drafts(&self) -> impl Iterator<Item = (&String, &u64)> {
        self.drafts.iter()
    }

    pub(crate) fn draft(&self, draft_id: &str) -> Option<u64> {
        self.drafts.get(draft_id).copied()
    }

    pub(crate) fn set_draft(&mut self, draft_id: String, message_id: u64) {
        self.drafts.insert(draft_id, message_id);
    }

    pub(crate) fn remove_draft(&mut self, draft_id: &str) -> Option<u64> {
        self.drafts.remove(draft_id)
    }
}

/// A change to a user label (`labels.update` replaces, `labels.patch` merges).
#[derive(Debug, Default)]
pub(crate) struct LabelChange {
    pub replace: bool,
    pub name: Option<String>,
    pub message_list_visibility: Option<String>,
    pub label_list_visibility: Option<String>,
    pub color: Option<LabelColor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Arc<ParsedMessage> {
        Arc::new(ParsedMessage::parse(text.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn replies_join_threads_and_history_records_changes() {
        let mut mb = Mailbox::new();
        let start = mb.history_id();
        let first = msg("Message-ID: <a@x>\r\nSubject: hi\r\n\r\nbody");
        mb.add(1, first, vec!["INBOX".into()], None, 10);
        let reply = msg("Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nSubject: Re: hi\r\n\r\nbody");
        let thread = mb.thread_for(&reply, None);
        assert_eq!(thread, Some(1));
        mb.add(2, reply, vec!["INBOX".into()], thread, 20);
        assert_eq!(mb.thread(1).unwrap().len(), 2);
        mb.modify(2, &["STARRED".into()], &["INBOX".into()])
            .unwrap();
        mb.delete(1).unwrap();
        let records: Vec<_> = mb.history().since(start).unwrap().collect();
        assert_eq!(records.len(), 4);
        assert!(records[2].labels_added == vec!["STARRED".to_string()]);
        assert!(records[3].message_deleted);
        assert!(mb.history().since(1).is_none());
    }

    #[test]
    fn listing_pages_newest_first_and_hides_trash() {
        let mut mb = Mailbox::new();
        for i in 1..=5u64 {
            mb.add(
                i,
                msg("Subject: x\r\n\r\nbody"),
                vec!["INBOX".into()],
                None,
                i as i64,
            );
        }
        mb.trash(3).unwrap();
        let filter = Filter {
            label_ids: &[],
            query: None,
            include_spam_trash: false,
        };
        let (page, total, next) = mb.list(&filter, None, 2);
        assert_eq!(total, 4);
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![5, 4]);
        let (page, _, next) = mb.list(&filter, next, 2);
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 1]);
        assert!(next.is_none());
        mb.untrash(3).unwrap();
        assert!(mb.get(3).unwrap().labels.contains(&"INBOX".to_string()));
    }

    #[test]
    fn an_unfiltered_listing_pages_like_the_general_walk() {
        let mut mb = Mailbox::new();
        for i in 1..=40u64 {
            mb.add(
                i,
                msg("Subject: x\r\n\r\nbody"),
                vec!["INBOX".into()],
                None,
                (i % 7) as i64,
            );
        }
        for i in [3, 9, 10, 27] {
            mb.trash(i).unwrap();
        }
        mb.modify(12, &["SPAM".to_string()], &[]).unwrap();
        mb.untrash(9).unwrap();
        mb.delete(27).unwrap();
        mb.delete(30).unwrap();
        let filter = Filter {
            label_ids: &[],
            query: None,
            include_spam_trash: false,
        };
        for max in [1, 3, 7, 100] {
            let (mut fast_after, mut slow_after) = (None, None);
            loop {
                let fast = mb.list(&filter, fast_after, max);
                let slow = mb.page(mb.messages.values().rev(), &filter, slow_after, max);
                let ids = |page: &[&Entry]| page.iter().map(|e| e.id).collect::<Vec<_>>();
                assert_eq!(ids(&fast.0), ids(&slow.0), "max {max}");
                assert_eq!((fast.1, fast.2), (slow.1, slow.2), "max {max}");
                assert_eq!(fast.1, 35);
                if fast.2.is_none() {
                    break;
                }
                (fast_after, slow_after) = (fast.2, slow.2);
            }
        }
    }
}
