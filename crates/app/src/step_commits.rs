//! How one execution's step records reach the store without making every step wait for a disk
//! write. A step that may harmlessly run again (script, filter, loop bookkeeping) is held back
//! and written in one transaction with the step after it, or on its own once it has waited
//! [`HOLD`] (so a slow next step does not hide it from the history). Any other step is written,
//! together with what is held, and confirmed before the execution goes on; and the executor
//! flushes what is held before such a step starts. A crash can therefore only lose steps that run
//! again harmlessly on recovery, and never between them and an effect that used their results.
//! A claimed execution whose row the store has not written yet (it goes with the execution's
//! first write) counts as held from the start: it too is written before any effect, or once it
//! has waited [`HOLD`].

use crate::AppError;
use ferry_engine::{Finished, StepRecord};
use ferry_model::ExecutionId;
use ferry_store::{NewStepExecution, PendingCommit, StepCommit, Store};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Longest a held step waits for the next one before it is written on its own.
const HOLD: Duration = Duration::from_millis(20);
/// Most steps held at once (a fast loop of scripts), so one transaction stays small.
const MAX_HELD: usize = 64;

struct HeldStep {
    record: Box<StepRecord>,
    /// The engine state right after the step, as JSON.
    state: Value,
    now_ms: i64,
}

pub(crate) struct StepCommits<'a> {
    store: &'a Store,
    execution: ExecutionId,
    owner: &'a str,
    held: Vec<HeldStep>,
    held_since: Option<Instant>,
    /// Sent but not yet confirmed (held steps whose time ran out).
    sent: Vec<PendingCommit>,
    /// The execution's own row is not written yet (a claimed execution on a SQLite file): it is
    /// held like a harmless step and goes with the first write.
    row_unwritten: bool,
}

impl<'a> StepCommits<'a> {
    pub(crate) fn new(store: &'a Store, execution: ExecutionId, owner: &'a str) -> Self {
        let row_unwritten = store.has_unwritten_row(execution);
        StepCommits {
            store,
            execution,
            owner,
            held: Vec::new(),
            held_since: row_unwritten.then(Instant::now),
            sent: Vec::new(),
            row_unwritten,
        }
    }

    /// When the held steps must be written even if no other step has finished by then.
    pub(crate) fn hold_until(&self) -> Option<Instant> {
        self.held_since.map(|since| since + HOLD)
    }

    /// Writes the held steps without waiting for the write; [`StepCommits::confirm`] reads the
    /// outcome.
    pub(crate) async fn send_held(&mut self) -> Result<(), AppError> {
        if !self.held.is_empty() {
            return self.send(None).await;
        }
        if std::mem::take(&mut self.row_unwritten) {
            self.held_since = None;
            if let Some(pending) = self.store.send_unwritten_row(self.execution)? {
                self.sent.push(pending);
            }
        }
        Ok(())
    }

    /// Sends every held step in one write, the last with how the execution ended (if it did).
    async fn send(&mut self, ending: Option<&Finished>) -> Result<(), AppError> {
        let held = std::mem::take(&mut self.held);
        self.held_since = None;
        // The store adds the execution's row to this write.
        self.row_unwritten = false;
        let rows: Vec<_> = held.iter().map(HeldStep::row).collect();
        let last = held.len().saturating_sub(1);
        let commits: Vec<_> = held
            .iter()
            .zip(&rows)
            .enumerate()
            .map(|(index, (held, row))| StepCommit {
                step: row,
                state: &held.state,
                ending: ending
                    .filter(|_| index == last)
                    .map(|f| (f.status, f.error.as_deref())),
            })
            .collect();
        let pending = self
            .store
            .send_step_commits(self.execution, self.owner, &commits)
            .await?;
        self.sent.push(pending);
        Ok(())
    }

    /// Whether everything sent so far was committed (`false`: the execution is no longer ours).
    pub(crate) async fn confirm(&mut self) -> Result<bool, AppError> {
        for pending in self.sent.drain(..) {
            if !pending.confirmed().await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Records a step that ran, with the state after it and, for the last step, how the
    /// execution ended. Returns `false` when the execution is no longer ours.
    pub(crate) async fn record(
        &mut self,
        record: Box<StepRecord>,
        state: Value,
        ending: Option<&Finished>,
        now_ms: i64,
    ) -> Result<bool, AppError> {
        let step = HeldStep {
            record,
            state,
            now_ms,
        };
        if step.record.runs_again_harmlessly && ending.is_none() && self.held.len() < MAX_HELD {
            self.held_since.get_or_insert_with(Instant::now);
            self.held.push(step);
            return Ok(true);
        }
        self.held.push(step);
        self.send(ending).await?;
        self.confirm().await
    }

    /// Writes and confirms whatever is held (the execution is about to end without a step).
    pub(crate) async fn flush(&mut self) -> Result<bool, AppError> {
        self.send_held().await?;
        self.confirm().await
    }
}

impl HeldStep {
    fn row(&self) -> NewStepExecution<'_> {
        let record = &self.record;
        NewStepExecution {
            seq: record.seq,
            step_name: &record.name,
            step_kind: record.kind,
            status: record.status,
            input: &record.input,
            output: &record.output,
            console: &record.console,
            error: record.error.as_deref(),
            attempts: record.attempts,
            duration_us: record.duration.as_micros() as i64,
            now_ms: self.now_ms,
        }
    }
}
