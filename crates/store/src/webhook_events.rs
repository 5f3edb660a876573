//! The events connector instances receive by webhook: each event's id is recorded in the
//! transaction that queues the executions it starts, so an event delivered again starts nothing —
//! even when two deliveries of it race, since the id's primary key lets one of them in. Ids are
//! forgotten after a retention the caller chooses, so the table stays bounded.

use crate::executions::insert_execution_in;
use crate::{NewExecution, Store, StoreResult};
use ferry_model::{ExecutionId, InstanceId};

/// One event of a delivery, with the executions it starts if it is new.
pub struct DeliveredEvent<'a> {
    /// The vendor's id of the event.
    pub event_id: &'a str,
    pub executions: Vec<NewExecution<'a>>,
}

impl Store {
    /// Records the ids of a delivery's events for `instance` and queues the executions of those
    /// not seen before, all in one transaction. Answers, event by event, the executions it
    /// started, or `None` for an event seen before (in an earlier delivery or this one).
    pub async fn record_delivered_events(
        &self,
        instance: InstanceId,
        events: &[DeliveredEvent<'_>],
        now_ms: i64,
    ) -> StoreResult<Vec<Option<Vec<ExecutionId>>>> {
        let mut tx = self.writer.begin().await?;
        let mut outcome = Vec::with_capacity(events.len());
        for event in events {
            let recorded = sqlx::query(
                "INSERT INTO webhook_event_ids (instance_id, event_id, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(instance.0)
            .bind(event.event_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            if recorded.rows_affected() == 0 {
                outcome.push(None);
                continue;
            }
            let mut started = Vec::with_capacity(event.executions.len());
            for new in &event.executions {
                started
                    .push(insert_execution_in(&mut tx, new, self.reserved_execution_id()).await?);
            }
            outcome.push(Some(started));
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Forgets the ids of events received before `before_ms`; a delivery of one of them after
    /// that is new again.
    pub async fn purge_webhook_event_ids(&self, before_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM webhook_event_ids WHERE received_at < $1")
            .bind(before_ms)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
