//! Executions: the queue (claims with a lease, so a worker that dies loses nothing), one committed
//! record per step together with the engine's state, schedule ticks and event cursors that make
//! triggers fire exactly once.

use crate::journal::{ExecutionRow, FinishRow, JournalWrite, StepCommitRow, StepRow};
use crate::{Dialect, Store, StoreError, StoreResult};
use ferry_model::execution::{Execution, ExecutionStatus, StepExecution, StepStatus};
use ferry_model::{
    ExecutionId, FlowId, FlowInstanceId, InstanceId, OrganizationId, StepExecutionId,
};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tokio::sync::oneshot;

pub struct NewExecution<'a> {
    pub organization_id: OrganizationId,
    pub flow_id: FlowId,
    pub flow_instance_id: FlowInstanceId,
    pub trigger_kind: &'a str,
    pub trigger: &'a Value,
    pub state: &'a Value,
    pub attempt: i64,
    pub parent_execution_id: Option<ExecutionId>,
    pub event_id: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub run_after_ms: i64,
    /// `Some((owner, lease_until))` claims it at once for a synchronous run; `None` queues it.
    pub claimed_by: Option<(&'a str, i64)>,
    pub now_ms: i64,
}

pub struct NewStepExecution<'a> {
    pub seq: i64,
    pub step_name: &'a str,
    pub step_kind: &'a str,
    pub status: StepStatus,
    pub input: &'a Value,
    pub output: &'a Value,
    pub console: &'a [String],
    pub error: Option<&'a str>,
    pub attempts: i64,
    pub duration_us: i64,
    pub now_ms: i64,
}

/// A step to commit with the state after it; `ending` when it was the execution's last.
pub struct StepCommit<'a> {
    pub step: &'a NewStepExecution<'a>,
    pub state: &'a Value,
    pub ending: Option<(ExecutionStatus, Option<&'a str>)>,
}

/// A step commit that was sent; [`PendingCommit::confirmed`] says whether it applied.
#[must_use = "a commit that nobody confirms may have been refused"]
pub struct PendingCommit(Pending);

enum Pending {
    Done(StoreResult<bool>),
    Queued(oneshot::Receiver<StoreResult<bool>>),
}

impl PendingCommit {
    /// Waits for the write: `true` if it applied, `false` if the execution was no longer the
    /// sender's (cancelled, or taken over after its lease ran out).
    pub async fn confirmed(self) -> StoreResult<bool> {
        match self.0 {
            Pending::Done(applied) => applied,
            Pending::Queued(answer) => answer.await.map_err(|_| journal_gone())?,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct ExecutionFilter {
    pub flow_instance_id: Option<FlowInstanceId>,
    pub flow_id: Option<FlowId>,
    pub event_id: Option<String>,
    pub object_id: Option<String>,
    pub status: Option<ExecutionStatus>,
    /// Only executions older than this one (pages run newest first).
    pub before_id: Option<ExecutionId>,
    pub created_from_ms: Option<i64>,
    pub created_to_ms: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    AlreadyFinished(ExecutionStatus),
    NotFound,
}

const EXECUTION_COLUMNS: &str = "id, organization_id, flow_id, flow_instance_id, status, trigger_kind, \
     trigger_values, state, error, attempt, parent_execution_id, event_id, object_id, run_after, created_at, \
     updated_at, finished_at";

fn journal_gone() -> StoreError {
    StoreError::Corrupt("the journal thread stopped before answering".into())
}

fn step_row(step: &NewStepExecution<'_>) -> StepRow {
    StepRow {
        seq: step.seq,
        step_name: step.step_name.to_owned(),
        step_kind: step.step_kind.to_owned(),
        status: step.status.as_str(),
        input: json_text(step.input),
        output: json_text(step.output),
        console: serde_json::to_string(step.console).expect("strings serialize"),
        error: step.error.map(str::to_owned),
        attempts: step.attempts,
        duration_us: step.duration_us,
        now_ms: step.now_ms,
    }
}

fn json_text(value: &Value) -> String {
    serde_json::to_string(value).expect("JSON values serialize")
}

fn parse_json(text: &str, what: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn execution_from_row(row: &AnyRow) -> StoreResult<Execution> {
    let status: String = row.try_get("status")?;
    let trigger: String = row.try_get("trigger_values")?;
    let state: String = row.try_get("state")?;
    let parent: Option<i64> = row.try_get("parent_execution_id")?;
    Ok(Execution {
        id: ExecutionId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        flow_id: FlowId(row.try_get("flow_id")?),
        flow_instance_id: FlowInstanceId(row.try_get("flow_instance_id")?),
        status: ExecutionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown execution status {status:?}")))?,
        trigger_kind: row.try_get("trigger_kind")?,
        trigger: parse_json(&trigger, "execution trigger")?,
        state: parse_json(&state, "execution state")?,
        error: row.try_get("error")?,
        attempt: row.try_get("attempt")?,
        parent_execution_id: parent.map(ExecutionId),
        event_id: row.try_get("event_id")?,
        object_id: row.try_get("object_id")?,
        run_after_ms: row.try_get("run_after")?,
        created_at_ms: row.try_get("created_at")?,
        updated_at_ms: row.try_get("updated_at")?,
        finished_at_ms: row.try_get("finished_at")?,
    })
}

fn step_from_row(row: &AnyRow) -> StoreResult<StepExecution> {
    let status: String = row.try_get("status")?;
    let input: String = row.try_get("input")?;
    let output: String = row.try_get("output")?;
    let console: String = row.try_get("console")?;
    Ok(StepExecution {
        id: StepExecutionId(row.try_get("id")?),
        execution_id: ExecutionId(row.try_get("execution_id")?),
        seq: row.try_get("seq")?,
        step_name: row.try_get("step_name")?,
        step_kind: row.try_get("step_kind")?,
        status: if status == "success" {
            StepStatus::Success
        } else {
            StepStatus::Failed
        },
        input: parse_json(&input, "step input")?,
        output: parse_json(&output, "step output")?,
        console: serde_json::from_str(&console)
            .map_err(|e| StoreError::Corrupt(format!("step console: {e}")))?,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        duration_us: row.try_get("duration_us")?,
        created_at_ms: row.try_get("created_at")?,
    })
}

async fn insert_step(
    tx: &mut Transaction<'_, Any>,
    execution: ExecutionId,
    step: &NewStepExecution<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO step_executions (execution_id, seq, step_name, step_kind, status, input, output, console, \
         error, attempts, duration_us, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(execution.0)
    .bind(step.seq)
    .bind(step.step_name)
    .bind(step.step_kind)
    .bind(step.status.as_str())
    .bind(json_text(step.input))
    .bind(json_text(step.output))
    .bind(serde_json::to_string(step.console).expect("strings serialize"))
    .bind(step.error)
    .bind(step.attempts)
    .bind(step.duration_us)
    .bind(step.now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Binds a filter's value only when it was given, as the conditions built for it.
trait BindGiven<'q> {
    fn bind_some<T>(self, value: Option<T>) -> Self
    where
        T: 'q + sqlx::Encode<'q, Any> + sqlx::Type<Any>;
}

impl<'q> BindGiven<'q> for sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    fn bind_some<T>(self, value: Option<T>) -> Self
    where
        T: 'q + sqlx::Encode<'q, Any> + sqlx::Type<Any>,
    {
        match value {
            Some(value) => self.bind(value),
            None => self,
        }
    }
}

/// The columns and values of a new execution row ($1–$15), for both ways of inserting one.
const INSERT_EXECUTION: &str = "INSERT INTO executions (organization_id, flow_id, flow_instance_id, status, \
     trigger_kind, trigger_values, state, attempt, parent_execution_id, event_id, object_id, lease_owner, \
     lease_until, run_after, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
     $12, $13, $14, $15, $15) RETURNING id";

/// [`INSERT_EXECUTION`] with an id the journal reserved ($16; SQLite files only).
const INSERT_EXECUTION_WITH_ID: &str = "INSERT INTO executions (organization_id, flow_id, flow_instance_id, \
     status, trigger_kind, trigger_values, state, attempt, parent_execution_id, event_id, object_id, lease_owner, \
     lease_until, run_after, created_at, updated_at, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
     $12, $13, $14, $15, $15, $16) RETURNING id";

fn bind_new_execution<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    new: &NewExecution<'q>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    let (status, owner, lease_until) = match new.claimed_by {
        Some((owner, until)) => (ExecutionStatus::Pending, Some(owner), Some(until)),
        None => (ExecutionStatus::Queued, None, None),
    };
    query
        .bind(new.organization_id.0)
        .bind(new.flow_id.0)
        .bind(new.flow_instance_id.0)
        .bind(status.as_str())
        .bind(new.trigger_kind)
        .bind(json_text(new.trigger))
        .bind(json_text(new.state))
        .bind(new.attempt)
        .bind(new.parent_execution_id.map(|id| id.0))
        .bind(new.event_id)
        .bind(new.object_id)
        .bind(owner)
        .bind(lease_until)
        .bind(new.run_after_ms)
        .bind(new.now_ms)
}

/// Inserts `new` with its trigger's record in `tx`; `reserved_id` is one the journal handed out
/// ([`Store::reserved_execution_id`]), so that ids keep following the order of the inserts
/// whichever connection makes them.
pub(crate) async fn insert_execution_in(
    tx: &mut Transaction<'_, Any>,
    new: &NewExecution<'_>,
    reserved_id: Option<i64>,
) -> StoreResult<ExecutionId> {
    let insert = match reserved_id {
        Some(id) => bind_new_execution(sqlx::query(INSERT_EXECUTION_WITH_ID), new).bind(id),
        None => bind_new_execution(sqlx::query(INSERT_EXECUTION), new),
    };
    let row = insert.fetch_one(&mut **tx).await?;
    let id = ExecutionId(row.try_get("id")?);
    let nothing: [String; 0] = [];
    insert_step(
        tx,
        id,
        &NewStepExecution {
            seq: 0,
            step_name: "trigger",
            step_kind: new.trigger_kind,
            status: StepStatus::Success,
            input: &Value::Null,
            output: new.trigger,
            console: &nothing,
            error: None,
            attempts: 1,
            duration_us: 0,
            now_ms: new.now_ms,
        },
    )
    .await?;
    Ok(id)
}

impl Store {
    /// Creates an execution with the trigger's record (step 0), queued or claimed.
    pub async fn insert_execution(&self, new: &NewExecution<'_>) -> StoreResult<Execution> {
        let id = match &self.journal {
            Some(journal) => {
                let (owner, lease_until) = new
                    .claimed_by
                    .map_or((None, None), |(o, u)| (Some(o.to_owned()), Some(u)));
                let execution = ExecutionRow {
                    id: None,
                    organization_id: new.organization_id.0,
                    flow_id: new.flow_id.0,
                    flow_instance_id: new.flow_instance_id.0,
                    status: if owner.is_some() { "pending" } else { "queued" },
                    trigger_kind: new.trigger_kind.to_owned(),
                    trigger: json_text(new.trigger),
                    state: json_text(new.state),
                    attempt: new.attempt,
                    parent_execution_id: new.parent_execution_id.map(|p| p.0),
                    event_id: new.event_id.map(str::to_owned),
                    object_id: new.object_id.map(str::to_owned),
                    lease_owner: owner,
                    lease_until,
                    run_after: new.run_after_ms,
                    now_ms: new.now_ms,
                };
                // A claimed execution's row goes with its first write (journal.rs).
                let execution = match new.claimed_by {
                    Some(_) => journal.defer_insert(execution),
                    None => Err(Box::new(execution)),
                };
                match execution {
                    Ok(id) => id,
                    Err(execution) => {
                        let (reply, answer) = oneshot::channel();
                        journal.send(JournalWrite::InsertExecution {
                            execution: *execution,
                            reply: Some(reply),
                        })?;
                        answer.await.map_err(|_| journal_gone())??
                    }
                }
            }
            None if self.dialect == Dialect::Postgres => {
                self.insert_execution_in_one_statement(new).await?
            }
            None => {
                let mut tx = self.writer.begin().await?;
                let id = insert_execution_in(&mut tx, new, None).await?;
                tx.commit().await?;
                id
            }
        };
        Ok(Execution {
            id,
            organization_id: new.organization_id,
            flow_id: new.flow_id,
            flow_instance_id: new.flow_instance_id,
            status: if new.claimed_by.is_some() {
                ExecutionStatus::Pending
            } else {
                ExecutionStatus::Queued
            },
            trigger_kind: new.trigger_kind.to_owned(),
            trigger: new.trigger.clone(),
            state: new.state.clone(),
            error: None,
            attempt: new.attempt,
            parent_execution_id: new.parent_execution_id,
            event_id: new.event_id.map(str::to_owned),
            object_id: new.object_id.map(str::to_owned),
            run_after_ms: new.run_after_ms,
            created_at_ms: new.now_ms,
            updated_at_ms: new.now_ms,
            finished_at_ms: None,
        })
    }

    /// The next execution id the journal reserved, for an insert on another connection (SQLite
    /// files only; `None`: let the database pick). An id whose insert rolls back is skipped.
    pub(crate) fn reserved_execution_id(&self) -> Option<i64> {
        self.journal.as_ref()?.reserve_id()
    }

    /// Whether `id` is a claimed execution whose row waits for its first write (SQLite files
    /// only: see `journal.rs`).
    pub fn has_unwritten_row(&self, id: ExecutionId) -> bool {
        self.journal
            .as_ref()
            .is_some_and(|journal| journal.is_unwritten(id))
    }

    /// Writes `id`'s waiting row on its own, as a commit with no steps; `None` if it has none.
    pub fn send_unwritten_row(&self, id: ExecutionId) -> StoreResult<Option<PendingCommit>> {
        let Some(journal) = &self.journal else {
            return Ok(None);
        };
        Ok(journal
            .send_unwritten(id)?
            .map(|answer| PendingCommit(Pending::Queued(answer))))
    }

    /// Drops `id`'s waiting row, if it still has one: its run stopped without writing anything.
    pub fn forget_unwritten_row(&self, id: ExecutionId) {
        if let Some(journal) = &self.journal {
            journal.forget_unwritten(id);
        }
    }

    /// The execution and its trigger's record in one statement (one round trip instead of
    /// four); PostgreSQL only.
    async fn insert_execution_in_one_statement(
        &self,
        new: &NewExecution<'_>,
    ) -> StoreResult<ExecutionId> {
        let query = format!(
            "WITH created AS ({INSERT_EXECUTION}) \
             INSERT INTO step_executions (execution_id, seq, step_name, step_kind, status, input, output, console, \
             error, attempts, duration_us, created_at) \
             SELECT id, 0, 'trigger', $5, 'success', 'null', $6, '[]', NULL, 1, 0, $15 FROM created \
             RETURNING execution_id"
        );
        let row = bind_new_execution(sqlx::query(sqlx::AssertSqlSafe(query)), new)
            .fetch_one(&self.writer)
            .await?;
        Ok(ExecutionId(row.try_get("execution_id")?))
    }

    pub async fn get_execution_by_id(&self, id: ExecutionId) -> StoreResult<Option<Execution>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(execution_from_row).transpose()
    }

    pub async fn get_execution(
        &self,
        organization: OrganizationId,
        id: ExecutionId,
    ) -> StoreResult<Option<Execution>> {
        Ok(self
            .get_execution_by_id(id)
            .await?
            .filter(|execution| execution.organization_id == organization))
    }

    /// Newest first.
    pub async fn list_executions(
        &self,
        organization: OrganizationId,
        filter: &ExecutionFilter,
    ) -> StoreResult<Vec<Execution>> {
        // Only the filters given become conditions: `($n IS NULL OR column = $n)` reads the same
        // but keeps SQLite from using an index for any of them (a status filter walked the whole
        // history of the organization).
        let mut conditions = vec!["organization_id = $1".to_owned()];
        let mut condition = |column: &str, operator: &str, given: bool| {
            if given {
                conditions.push(format!("{column} {operator} ${}", conditions.len() + 1));
            }
        };
        // Unfinished executions are few and all in the `(status, run_after, id)` index; left to
        // itself SQLite reads them through the instance's index instead, walking its whole
        // history when none is waiting (6 ms at 25,000 executions). `+column` takes that index
        // out of its choice.
        let waiting = matches!(
            filter.status,
            Some(ExecutionStatus::Queued | ExecutionStatus::Pending)
        );
        let instance_column = match self.dialect {
            Dialect::Sqlite if waiting => "+flow_instance_id",
            _ => "flow_instance_id",
        };
        condition(instance_column, "=", filter.flow_instance_id.is_some());
        condition("flow_id", "=", filter.flow_id.is_some());
        condition("event_id", "=", filter.event_id.is_some());
        condition("object_id", "=", filter.object_id.is_some());
        condition("status", "=", filter.status.is_some());
        condition("id", "<", filter.before_id.is_some());
        condition("created_at", ">=", filter.created_from_ms.is_some());
        condition("created_at", "<=", filter.created_to_ms.is_some());
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE {} ORDER BY id DESC LIMIT ${}",
            conditions.join(" AND "),
            conditions.len() + 1
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(organization.0)
            .bind_some(filter.flow_instance_id.map(|id| id.0))
            .bind_some(filter.flow_id.map(|id| id.0))
            .bind_some(filter.event_id.as_deref())
            .bind_some(filter.object_id.as_deref())
            .bind_some(filter.status.map(ExecutionStatus::as_str))
            .bind_some(filter.before_id.map(|id| id.0))
            .bind_some(filter.created_from_ms)
            .bind_some(filter.created_to_ms)
            .bind(filter.limit.max(1));
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(execution_from_row).collect()
    }

    pub async fn list_step_executions(
        &self,
        execution: ExecutionId,
    ) -> StoreResult<Vec<StepExecution>> {
        let rows = sqlx::query(
            "SELECT id, execution_id, seq, step_name, step_kind, status, input, output, console, error, attempts, \
             duration_us, created_at FROM step_executions WHERE execution_id = $1 ORDER BY seq",
        )
        .bind(execution.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(step_from_row).collect()
    }

    pub async fn get_step_execution(
        &self,
        organization: OrganizationId,
        id: StepExecutionId,
    ) -> StoreResult<Option<StepExecution>> {
        let row = sqlx::query(
            "SELECT s.id, s.execution_id, s.seq, s.step_name, s.step_kind, s.status, s.input, s.output, s.console, \
             s.error, s.attempts, s.duration_us, s.created_at FROM step_executions s \
             JOIN executions e ON e.id = s.execution_id WHERE s.id = $1 AND e.organization_id = $2",
        )
        .bind(id.0)
        .bind(organization.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(step_from_row).transpose()
    }

    /// Claims up to `limit` runnable executions for `owner`: queued ones whose time has come, and
    /// running ones whose lease expired (their worker died). Each is claimed by one owner only.
    pub async fn claim_executions(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<Execution>> {
        // On PostgreSQL the claim commits without waiting for its WAL flush (one fsync saved per
        // claim). That is safe: a claim lost in a database crash only puts the execution back
        // as it was, and any later step commit of it, which does wait, flushes the claim too.
        let (relaxed, lock) = match self.dialect {
            Dialect::Sqlite => ("", ""),
            Dialect::Postgres => (
                "WITH relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)) ",
                "FOR UPDATE SKIP LOCKED",
            ),
        };
        // Which executions: on SQLite the longest due first, each kind read from the
        // `(status, run_after, id)` index of unfinished executions (`finished_at IS NULL` lets
        // the planner use it) on its own, only the first `limit` of each sorted;
        // one `OR` ordered by id made SQLite walk the whole history or sort every queued
        // execution on each claim (1–10 ms with a large history or queue, on the one writer).
        let runnable = match self.dialect {
            Dialect::Sqlite => "SELECT id FROM (\
                 SELECT * FROM (SELECT id, run_after AS due FROM executions \
                   WHERE status = 'queued' AND run_after <= $3 AND parent_execution_id IS NULL \
                   AND finished_at IS NULL \
                   ORDER BY run_after, id LIMIT $4) \
                 UNION ALL \
                 SELECT * FROM (SELECT id, lease_until AS due FROM executions \
                   WHERE status = 'pending' AND lease_until < $3 AND parent_execution_id IS NULL \
                   AND finished_at IS NULL \
                   ORDER BY lease_until, id LIMIT $4)) \
                 ORDER BY due, id LIMIT $4"
                .to_owned(),
            Dialect::Postgres => format!(
                "SELECT id FROM executions, relaxed WHERE parent_execution_id IS NULL AND finished_at IS NULL AND \
                 ((status = 'queued' AND run_after <= $3) OR (status = 'pending' AND lease_until < $3)) \
                 ORDER BY id LIMIT $4 {lock}"
            ),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{relaxed}UPDATE executions SET status = 'pending', lease_owner = $1, lease_until = $2, updated_at = $3 \
             WHERE id IN ({runnable}) RETURNING {EXECUTION_COLUMNS}"
        )))
        .bind(owner)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        let mut claimed: Vec<Execution> = rows
            .iter()
            .map(execution_from_row)
            .collect::<StoreResult<_>>()?;
        claimed.sort_by_key(|e| e.id);
        Ok(claimed)
    }

    /// The sub-flow executions a parent started (they run inside their parent, never on their own).
    pub async fn list_child_executions(&self, parent: ExecutionId) -> StoreResult<Vec<Execution>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions WHERE parent_execution_id = $1 ORDER BY id"
        )))
        .bind(parent.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(execution_from_row).collect()
    }

    /// Makes `owner` the runner of an unfinished execution whatever its lease (a resumed parent
    /// taking its child back). Returns the execution if it is unfinished.
    pub async fn take_over_execution(
        &self,
        id: ExecutionId,
        owner: &str,
        lease_until_ms: i64,
    ) -> StoreResult<Option<Execution>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE executions SET status = 'pending', lease_owner = $1, lease_until = $2 \
             WHERE id = $3 AND status IN ('queued', 'pending') RETURNING {EXECUTION_COLUMNS}"
        )))
        .bind(owner)
        .bind(lease_until_ms)
        .bind(id.0)
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(execution_from_row).transpose()
    }

    /// Extends the leases of executions `owner` is still running: one statement per 500.
    pub async fn renew_execution_leases(
        &self,
        owner: &str,
        ids: &[ExecutionId],
        until_ms: i64,
    ) -> StoreResult<u64> {
        let mut renewed = 0;
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE executions SET lease_until = $1 WHERE lease_owner = $2 AND status = 'pending' \
                 AND id IN ({})",
                placeholders.join(", ")
            )))
            .bind(until_ms)
            .bind(owner);
            for id in chunk {
                query = query.bind(id.0);
            }
            renewed += query.execute(&self.writer).await?.rows_affected();
        }
        Ok(renewed)
    }

    /// Hands an unfinished execution back to the queue (a stopping worker).
    pub async fn release_execution(
        &self,
        id: ExecutionId,
        owner: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE executions SET status = 'queued', lease_owner = NULL, lease_until = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status = 'pending'",
        )
        .bind(now_ms)
        .bind(id.0)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Commits one step's record and the engine state after it (and, for the last step, how the
    /// execution ended), atomically — only while `owner` still holds the execution (not cancelled,
    /// lease not lost). Returns whether it committed.
    pub async fn commit_step(
        &self,
        id: ExecutionId,
        owner: &str,
        commit: &StepCommit<'_>,
    ) -> StoreResult<bool> {
        self.send_step_commits(id, owner, std::slice::from_ref(commit))
            .await?
            .confirmed()
            .await
    }

    /// [`Store::commit_step`] for consecutive steps of one execution, in order, and in two
    /// halves: on SQLite this returns as soon as the write is queued (all of them in one
    /// transaction), so the caller can go on while it is written and read the outcome later.
    /// Writes queued by one caller are applied in the order they were sent. On PostgreSQL the
    /// writes are done before this returns. The outcome is `true` if every step committed; the
    /// first refused one stops the rest.
    pub async fn send_step_commits(
        &self,
        id: ExecutionId,
        owner: &str,
        commits: &[StepCommit<'_>],
    ) -> StoreResult<PendingCommit> {
        if let Some(journal) = &self.journal {
            let (reply, answer) = oneshot::channel();
            journal.send(JournalWrite::CommitSteps {
                unwritten: None,
                commits: commits
                    .iter()
                    .map(|commit| StepCommitRow {
                        id,
                        owner: owner.to_owned(),
                        step: step_row(commit.step),
                        state: json_text(commit.state),
                        ending: commit.ending.map(|(status, error)| {
                            (status.as_str().to_owned(), error.map(str::to_owned))
                        }),
                    })
                    .collect(),
                reply,
            })?;
            return Ok(PendingCommit(Pending::Queued(answer)));
        }
        for commit in commits {
            match self.commit_step_now(id, owner, commit).await {
                Ok(true) => {}
                refused_or_failed => return Ok(PendingCommit(Pending::Done(refused_or_failed))),
            }
        }
        Ok(PendingCommit(Pending::Done(Ok(true))))
    }

    async fn commit_step_now(
        &self,
        id: ExecutionId,
        owner: &str,
        commit: &StepCommit<'_>,
    ) -> StoreResult<bool> {
        let step = commit.step;
        if self.dialect == Dialect::Postgres {
            return self.commit_step_in_one_statement(id, owner, commit).await;
        }
        let mut tx = self.writer.begin().await?;
        let done = match commit.ending {
            None => {
                sqlx::query(
                    "UPDATE executions SET state = $1, updated_at = $2 \
                     WHERE id = $3 AND lease_owner = $4 AND status = 'pending'",
                )
                .bind(json_text(commit.state))
                .bind(step.now_ms)
                .bind(id.0)
                .bind(owner)
                .execute(&mut *tx)
                .await?
            }
            Some((status, error)) => {
                sqlx::query(
                    "UPDATE executions SET state = $1, updated_at = $2, status = $5, error = $6, finished_at = $2, \
                     lease_owner = NULL, lease_until = NULL WHERE id = $3 AND lease_owner = $4 AND status = 'pending'",
                )
                .bind(json_text(commit.state))
                .bind(step.now_ms)
                .bind(id.0)
                .bind(owner)
                .bind(status.as_str())
                .bind(error)
                .execute(&mut *tx)
                .await?
            }
        };
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_step(&mut tx, id, step).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// [`Store::commit_step_now`] as one statement: the owner check, the state and the step's
    /// record in one round trip instead of four (BEGIN, UPDATE, INSERT, COMMIT), atomic all the
    /// same. PostgreSQL only (SQLite has no UPDATE inside WITH).
    async fn commit_step_in_one_statement(
        &self,
        id: ExecutionId,
        owner: &str,
        commit: &StepCommit<'_>,
    ) -> StoreResult<bool> {
        let step = commit.step;
        // $13 is the execution's end status, NULL while it goes on.
        let query = "WITH held AS (UPDATE executions SET state = $1, updated_at = $2, \
             status = COALESCE($13, status), \
             error = CASE WHEN $13 IS NULL THEN error ELSE $14 END, \
             finished_at = CASE WHEN $13 IS NULL THEN finished_at ELSE $2 END, \
             lease_owner = CASE WHEN $13 IS NULL THEN lease_owner END, \
             lease_until = CASE WHEN $13 IS NULL THEN lease_until END \
             WHERE id = $3 AND lease_owner = $4 AND status = 'pending' RETURNING id) \
             INSERT INTO step_executions (execution_id, seq, step_name, step_kind, status, input, output, \
             console, error, attempts, duration_us, created_at) \
             SELECT id, $5, $6, $7, $8, $9, $10, $11, $12, $15, $16, $2 FROM held";
        let (status, error) = match commit.ending {
            Some((status, error)) => (Some(status.as_str()), error),
            None => (None, None),
        };
        let done = sqlx::query(query)
            .bind(json_text(commit.state))
            .bind(step.now_ms)
            .bind(id.0)
            .bind(owner)
            .bind(step.seq)
            .bind(step.step_name)
            .bind(step.step_kind)
            .bind(step.status.as_str())
            .bind(json_text(step.input))
            .bind(json_text(step.output))
            .bind(serde_json::to_string(step.console).expect("strings serialize"))
            .bind(step.error)
            .bind(status)
            .bind(error)
            .bind(step.attempts)
            .bind(step.duration_us)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how an execution ended; only its current owner may.
    pub async fn finish_execution(
        &self,
        id: ExecutionId,
        owner: &str,
        status: ExecutionStatus,
        error: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<bool> {
        if let Some(journal) = &self.journal {
            let (reply, answer) = oneshot::channel();
            journal.send(JournalWrite::Finish {
                unwritten: None,
                finish: FinishRow {
                    id,
                    owner: owner.to_owned(),
                    status: status.as_str().to_owned(),
                    error: error.map(str::to_owned),
                    now_ms,
                },
                reply,
            })?;
            return answer.await.map_err(|_| journal_gone())?;
        }
        let done = sqlx::query(
            "UPDATE executions SET status = $1, error = $2, finished_at = $3, updated_at = $3, lease_owner = NULL, \
             lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now_ms)
        .bind(id.0)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels a queued or running execution. A running one stops before its next step.
    pub async fn cancel_execution(
        &self,
        organization: OrganizationId,
        id: ExecutionId,
        now_ms: i64,
    ) -> StoreResult<CancelOutcome> {
        let done = sqlx::query(
            "UPDATE executions SET status = 'cancelled', error = 'cancelled by a user', finished_at = $1, \
             updated_at = $1, lease_owner = NULL, lease_until = NULL \
             WHERE id = $2 AND organization_id = $3 AND status IN ('queued', 'pending')",
        )
        .bind(now_ms)
        .bind(id.0)
        .bind(organization.0)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(CancelOutcome::Cancelled);
        }
        Ok(match self.get_execution(organization, id).await? {
            Some(execution) => CancelOutcome::AlreadyFinished(execution.status),
            None => CancelOutcome::NotFound,
        })
    }

    /// Counts executions by status (optionally of one flow instance).
    pub async fn count_executions(
        &self,
        organization: OrganizationId,
        flow_instance: Option<FlowInstanceId>,
    ) -> StoreResult<Vec<(ExecutionStatus, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM executions WHERE organization_id = $1 \
             AND ($2 IS NULL OR flow_instance_id = $2) GROUP BY status",
        )
        .bind(organization.0)
        .bind(flow_instance.map(|id| id.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok((
                    ExecutionStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown execution status {status:?}"))
                    })?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }

    /// Claims a schedule's tick; only the first caller for a (flow instance, tick) gets `true`.
    pub async fn claim_schedule_tick(
        &self,
        flow_instance: FlowInstanceId,
        tick_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO schedule_ticks (flow_instance_id, tick) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(flow_instance.0)
        .bind(tick_ms)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn event_cursor(&self, instance: InstanceId) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT cursor_value FROM event_cursors WHERE instance_id = $1")
            .bind(instance.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("cursor_value")).transpose()?)
    }

    /// Takes the right to poll an instance's events for a while (one poller per instance across
    /// processes).
    pub async fn try_acquire_event_lease(
        &self,
        instance: InstanceId,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        sqlx::query(
            "INSERT INTO event_cursors (instance_id, cursor_value, updated_at) VALUES ($1, '', $2) ON CONFLICT DO NOTHING",
        )
        .bind(instance.0)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        let done = sqlx::query(
            "UPDATE event_cursors SET lease_owner = $1, lease_until = $2 WHERE instance_id = $3 \
             AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)",
        )
        .bind(owner)
        .bind(now_ms + lease_ms)
        .bind(instance.0)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves an instance's event cursor from `expected` to `next` and queues the executions the
    /// events start, in one transaction: either both happen or neither, so events are neither
    /// lost nor doubled across restarts. Returns false if the cursor moved meanwhile.
    pub async fn advance_event_cursor(
        &self,
        instance: InstanceId,
        expected: &str,
        next: &str,
        executions: &[NewExecution<'_>],
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE event_cursors SET cursor_value = $1, updated_at = $2 WHERE instance_id = $3 AND cursor_value = $4",
        )
        .bind(next)
        .bind(now_ms)
        .bind(instance.0)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for new in executions {
            insert_execution_in(&mut tx, new, self.reserved_execution_id()).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets finished executions created before `before_ms` (history retention).
    pub async fn purge_finished_executions(&self, before_ms: i64) -> StoreResult<u64> {
        // In batches: one DELETE of a day's history at scale would hold its locks, and on SQLite
        // the one writer, for as long as it takes.
        self.purge_finished_executions_in_batches(before_ms, 2_000)
            .await
    }

    /// [`Store::purge_finished_executions`], `batch` executions (with their step records) per
    /// statement.
    pub async fn purge_finished_executions_in_batches(
        &self,
        before_ms: i64,
        batch: i64,
    ) -> StoreResult<u64> {
        let batch = batch.max(1);
        let mut purged = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM executions WHERE id IN (SELECT id FROM executions WHERE created_at < $1 \
                 AND status IN ('success', 'failed', 'cancelled', 'retry') ORDER BY created_at LIMIT $2)",
            )
            .bind(before_ms)
            .bind(batch)
            .execute(&self.writer)
            .await?;
            purged += done.rows_affected();
            if done.rows_affected() < batch as u64 {
                break;
            }
        }
        sqlx::query("DELETE FROM schedule_ticks WHERE tick < $1")
            .bind(before_ms)
            .execute(&self.writer)
            .await?;
        Ok(purged)
    }
}
