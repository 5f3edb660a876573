//! Mailbox history: every change gets an increasing id and a record, like Gmail's `historyId`.

use std::collections::VecDeque;

/// How many records a mailbox keeps; a `startHistoryId` older than the oldest kept one is
/// answered 404, as Gmail does for history it no longer has.
pub(crate) const HISTORY_LIMIT: usize = 50_000;

/// One change to one message.
#[derive(Debug, Clone)]
pub(crate) struct HistoryRecord {
    pub id: u64,
    pub message_id: u64,
    pub thread_id: u64,
    /// The message's labels after the change (before it, for a deletion).
    pub labels: Vec<String>,
    pub message_added: bool,
    pub message_deleted: bool,
    pub labels_added: Vec<String>,
    pub labels_removed: Vec<String>,
}

/// The history of one mailbox.
#[derive(Debug)]
pub(crate) struct History {
    current: u64,
    /// The oldest `startHistoryId` that can still be answered.
    floor: u64,
    records: VecDeque<HistoryRecord>,
}

impl History {
    pub(crate) fn new(start: u64) -> Self {
        Self {
            current: start,
            floor: start,
            records: VecDeque::new(),
        }
    }

    pub(crate) fn current(&self) -> u64 {
        self.current
    }

    /// Takes the next history id (for a change that is recorded with [`History::push`]).
    pub(crate) fn bump(&mut self) -> u64 {
        self.current += 1;
        self.current
    }

    pub(crate) fn push(&mut self, record: HistoryRecord) {
        self.records.push_back(record);
        while self.records.len() > HISTORY_LIMIT {
            if let Some(old) = self.records.pop_front() {
                self.floor = old.id;
            }
        }
    }

    /// Records with an id greater than `start`, or `None` when `start` is older than what is kept.
    pub(crate) fn since(&self, start: u64) -> Option<impl Iterator<Item = &HistoryRecord>> {
        if start < self.floor {
            return None;
        }
        let from = self.records.partition_point(|r| r.id <= start);
        Some(self.records.range(from..))
    }
}
