//! The background work of a ferry process: queue workers (claim, run, renew leases), the
//! scheduler of `scheduled` triggers, the event pollers of `event` triggers, and retention (of
//! history and of the ids of events received by webhook). Started by the binary; stopped
//! gracefully (running executions finish or go back to the queue).

use crate::events::{EVENT_ID_RETENTION, event_execution, event_triggers};
use crate::{App, AppError};
use ferry_connectors::InstanceContext;
use ferry_engine::{Schedule, TriggerKind};
use ferry_model::execution::{Flow, FlowInstance};
use ferry_model::{FlowInstanceId, InstanceId};
use ferry_store::NewExecution;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// Running background services; [`Services::shutdown`] stops them.
pub struct Services {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    app: App,
}

impl Services {
    /// Stops claiming work, lets running executions finish for up to `grace`, then hands what is
    /// still running back to the queue for another process.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + grace;
        while !self.app.inner.flows.running().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let owner = &self.app.inner.config.process_id;
        for id in self.app.inner.flows.running() {
            match self
                .app
                .inner
                .store
                .release_execution(id, owner, self.app.now_ms())
                .await
            {
                Ok(true) => {
                    tracing::info!(execution_id = %id, "execution handed back to the queue")
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(execution_id = %id, error = %error, "could not hand the execution back; its lease will expire")
                }
            }
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

impl App {
    /// Starts the background services this process runs.
    pub fn start_services(&self) -> Services {
        let (stop, watching) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(
            self.clone().follow_connector_definitions(watching.clone()),
        ));
        if self.inner.flows.config.run_workers {
            tasks.push(tokio::spawn(self.clone().work_queue(watching.clone())));
            tasks.push(tokio::spawn(self.clone().listen_for_work(watching.clone())));
            tasks.push(tokio::spawn(self.clone().renew_leases(watching.clone())));
            tasks.push(tokio::spawn(self.clone().run_schedules(watching.clone())));
            tasks.push(tokio::spawn(self.clone().poll_events(watching.clone())));
            tasks.push(tokio::spawn(self.clone().keep_retention(watching)));
        }
        Services {
            stop,
            tasks,
            app: self.clone(),
        }
    }

    async fn work_queue(self, mut stop: watch::Receiver<bool>) {
        let config = &self.inner.flows.config;
        let slots = Arc::new(Semaphore::new(config.worker_concurrency.max(1)));
        let owner = self.inner.config.process_id.clone();
        while !stopping(&stop) {
            let free = slots.available_permits();
            if free == 0 {
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    _ = stop.changed() => {}
                }
                continue;
            }
            let claimed = self
                .inner
                .store
                .claim_executions(
                    &owner,
                    self.now_ms(),
                    config.lease.as_millis() as i64,
                    free.min(64) as i64,
                )
                .await;
            let claimed = match claimed {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(error = %error, "could not claim executions");
                    tokio::time::sleep(config.poll_interval).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = self.inner.flows.queued.notified() => {}
                    _ = tokio::time::sleep(config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            for execution in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let app = self.clone();
                let owner = owner.clone();
                tokio::spawn(async move {
                    let outcome = app.run_execution(execution, &owner).await;
                    tracing::debug!(execution_id = %outcome.execution_id, status = outcome.status.as_str(), "execution ended");
                    drop(permit);
                });
            }
        }
    }

    /// On PostgreSQL, wakes this process's queue workers when another process queues work;
    /// a lost connection is made again (the workers poll meanwhile).
    async fn listen_for_work(self, mut stop: watch::Receiver<bool>) {
        while !stopping(&stop) {
            let mut listener = match self.inner.store.queue_listener().await {
                Ok(Some(listener)) => listener,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(error = %error, "cannot listen for queue wake-ups; polling meanwhile");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                        _ = stop.changed() => return,
                    }
                }
            };
            // Work queued before the listener was in place woke nobody: look once now.
            self.queue_woken();
            loop {
                tokio::select! {
                    woken = listener.next() => match woken {
                        Ok(()) => self.queue_woken(),
                        Err(error) => {
                            tracing::warn!(error = %error, "the queue wake-up connection dropped; listening again");
                            break;
                        }
                    },
                    _ = stop.changed() => return,
                }
            }
        }
    }

    async fn renew_leases(self, mut stop: watch::Receiver<bool>) {
        let lease = self.inner.flows.config.lease;
        let owner = self.inner.config.process_id.clone();
        while !stopping(&stop) {
            tokio::select! {
                _ = tokio::time::sleep(lease / 3) => {}
                _ = stop.changed() => continue,
            }
            let running = self.inner.flows.running();
            if running.is_empty() {
                continue;
            }
            let until = self.now_ms() + lease.as_millis() as i64;
            if let Err(error) = self
                .inner
                .store
                .renew_execution_leases(&owner, &running, until)
                .await
            {
                tracing::warn!(error = %error, "could not renew execution leases");
            }
        }
    }

    pub(crate) async fn triggered_flow_instances(
        &self,
    ) -> Result<Vec<(FlowInstance, Flow, TriggerKind)>, AppError> {
        let mut found = Vec::new();
        for (instance, flow) in self.inner.store.list_active_flow_instances().await? {
            match self.plan_of(&flow) {
                Ok(plan) => {
                    if let Some((_, kind)) = &plan.trigger {
                        found.push((instance, flow, kind.clone()));
                    }
                }
                Err(error) => {
                    tracing::warn!(flow_id = %flow.id, error = %error, "a stored flow no longer validates")
                }
            }
        }
        Ok(found)
    }

    /// Fires each schedule once per tick across every process sharing the database: a tick is
    /// claimed in the database before its execution is queued.
    async fn run_schedules(self, mut stop: watch::Receiver<bool>) {
        let mut next_fire: HashMap<FlowInstanceId, (String, chrono::DateTime<chrono::Utc>)> =
            HashMap::new();
        let mut reloaded: Option<Instant> = None;
        let mut schedules: Vec<(FlowInstance, Flow, Schedule)> = Vec::new();
        while !stopping(&stop) {
            if reloaded.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                match self.triggered_flow_instances().await {
                    Ok(found) => {
                        schedules = found
                            .into_iter()
                            .filter_map(|(instance, flow, kind)| match kind {
                                TriggerKind::Scheduled { cron } => {
                                    let text = self.resolve_for_instance(
                                        &Value::String(cron),
                                        &instance.configuration,
                                    );
                                    Schedule::parse(text.as_str()?)
                                        .ok()
                                        .map(|s| (instance, flow, s))
                                }
                                _ => None,
                            })
                            .collect();
                        reloaded = Some(Instant::now());
                    }
                    Err(error) => tracing::warn!(error = %error, "could not read schedules"),
                }
            }
            let now = chrono::DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default();
            for (instance, flow, schedule) in &schedules {
                let entry = next_fire.entry(instance.id).or_insert_with(|| {
                    (
                        schedule.text().to_owned(),
                        schedule.next_after(now).unwrap_or(now),
                    )
                });
                if entry.0 != schedule.text() {
                    *entry = (
                        schedule.text().to_owned(),
                        schedule.next_after(now).unwrap_or(now),
                    );
                }
                if entry.1 > now {
                    continue;
                }
                let tick = entry.1;
                entry.1 = schedule
                    .next_after(tick)
                    .unwrap_or(tick + chrono::Duration::days(3650));
                match self
                    .inner
                    .store
                    .claim_schedule_tick(instance.id, tick.timestamp_millis())
                    .await
                {
                    Ok(true) => {
                        let trigger =
                            json!({"type": "scheduled", "scheduledTime": tick.to_rfc3339()});
                        let queued = self
                            .enqueue(&NewExecution {
                                organization_id: instance.organization_id,
                                flow_id: flow.id,
                                flow_instance_id: instance.id,
                                trigger_kind: "scheduled",
                                trigger: &trigger,
                                state: &Value::Null,
                                attempt: 1,
                                parent_execution_id: None,
                                event_id: None,
                                object_id: None,
                                run_after_ms: self.now_ms(),
                                claimed_by: None,
                                now_ms: self.now_ms(),
                            })
                            .await;
                        if let Err(error) = queued {
                            tracing::warn!(flow_instance_id = %instance.id, error = %error, "could not queue a scheduled execution");
                        }
                    }
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(flow_instance_id = %instance.id, error = %error, "could not claim a schedule tick")
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = self.inner.flows.changed.notified() => reloaded = None,
                _ = stop.changed() => {}
            }
        }
    }

    /// Polls the change events of every connector instance an active `event` trigger names, one
    /// poller per instance across processes (a lease in the database).
    async fn poll_events(self, mut stop: watch::Receiver<bool>) {
        let mut last_poll: HashMap<InstanceId, Instant> = HashMap::new();
        while !stopping(&stop) {
            match self.event_listeners().await {
                Ok(by_instance) => {
                    for (target, flows) in by_instance {
                        let interval = self.event_interval(target).await;
                        if last_poll
                            .get(&target)
                            .is_some_and(|at| at.elapsed() < interval)
                        {
                            continue;
                        }
                        last_poll.insert(target, Instant::now());
                        if let Err(error) = self.poll_instance(target, &flows, interval).await {
                            tracing::warn!(instance_id = %target, error = %error, "event poll failed");
                        }
                    }
                }
                Err(error) => tracing::warn!(error = %error, "could not read event triggers"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = self.inner.flows.changed.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn event_interval(&self, instance: InstanceId) -> Duration {
        if let Some(interval) = self.inner.flows.config.event_poll_interval {
            return interval;
        }
        let seconds = match self.inner.store.get_instance_by_id(instance).await {
            Ok(Some(instance)) => self
                .catalog()
                .get(&instance.connector_key)
                .and_then(|c| c.def.events.as_ref().map(|e| e.interval_seconds))
                .unwrap_or(60),
            _ => 60,
        };
        Duration::from_secs(seconds)
    }

    /// One poll of one instance: the events after the stored cursor become executions of every
    /// flow instance listening, committed together with the new cursor.
    pub(crate) async fn poll_instance(
        &self,
        target: InstanceId,
        flows: &[(FlowInstance, Flow)],
        interval: Duration,
    ) -> Result<usize, AppError> {
        let store = &self.inner.store;
        let owner = &self.inner.config.process_id;
        let instance = store.get_instance_by_id(target).await?.ok_or_else(|| {
            AppError::NotFound(format!("connector instance {target} was deleted"))
        })?;
        let connector = self.instance_connector(&instance)?;
        // A connector whose events only come by webhook has nothing to poll.
        if !connector.def.events.as_ref().is_some_and(|e| e.polls()) {
            return Ok(0);
        }
        let lease = (interval * 3).max(Duration::from_secs(30));
        if !store
            .try_acquire_event_lease(target, owner, self.now_ms(), lease.as_millis() as i64)
            .await?
        {
            return Ok(0);
        }
        if instance.disabled || instance.state != ferry_model::instance::AuthorizationState::Active
        {
            return Ok(0);
        }
        let cursor = store.event_cursor(target).await?.unwrap_or_default();
        let credentials = self.credentials_for(&instance);
        let context = InstanceContext {
            instance_id: Some(instance.id.0),
            account: instance.account.as_deref(),
            configuration: Some(&instance.configuration),
            secrets: Some(&instance.secret_configuration),
        };
        let batch = self
            .inner
            .runtime
            .poll_events(
                &connector,
                &context,
                &credentials,
                Some(cursor.as_str()).filter(|c| !c.is_empty()),
            )
            .await?;
        if batch.restarted {
            tracing::warn!(instance_id = %target, "the event cursor was too old for the provider; polling restarted from now");
        }
        let now = self.now_ms();
        let triggers = event_triggers(&instance, &batch.events, now);
        let news: Vec<NewExecution<'_>> = flows
            .iter()
            .flat_map(|listener| {
                triggers
                    .iter()
                    .map(move |trigger| event_execution(listener, trigger, now))
            })
            .collect();
        if store
            .advance_event_cursor(target, &cursor, &batch.cursor, &news, now)
            .await?
            && !news.is_empty()
        {
            self.wake_queue_everywhere().await;
        }
        Ok(news.len())
    }

    /// Learns where an instance's events are now, if nobody has yet: the events a new flow instance
    /// sees are the ones after it was created.
    pub(crate) async fn prime_event_cursor(&self, target: InstanceId) {
        let fresh = match self.inner.store.event_cursor(target).await {
            Ok(cursor) => cursor.is_none_or(|c| c.is_empty()),
            Err(_) => false,
        };
        if !fresh {
            return;
        }
        let interval = self.event_interval(target).await;
        if let Err(error) = self.poll_instance(target, &[], interval).await {
            tracing::warn!(instance_id = %target, error = %error, "could not learn where the instance's events start");
        }
    }

    async fn keep_retention(self, mut stop: watch::Receiver<bool>) {
        let retention = self.inner.flows.config.retention;
        while !stopping(&stop) {
            let before = self.now_ms() - retention.as_millis() as i64;
            match self.inner.store.purge_finished_executions(before).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "old executions deleted"),
                Err(error) => tracing::warn!(error = %error, "could not delete old executions"),
            }
            let ids_before = self.now_ms() - EVENT_ID_RETENTION.as_millis() as i64;
            if let Err(error) = self.inner.store.purge_webhook_event_ids(ids_before).await {
                tracing::warn!(error = %error, "could not forget old webhook event ids");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Keeps this process's catalog in step with the connector definitions users add, replace or
    /// delete through any process.
    async fn follow_connector_definitions(self, mut stop: watch::Receiver<bool>) {
        while !stopping(&stop) {
            if let Err(error) = self.follow_user_connectors().await {
                tracing::warn!(error = %error, "could not look for changed connector definitions");
            }
            tokio::select! {
                _ = tokio::time::sleep(crate::connector_builder::CATALOG_FOLLOW_INTERVAL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
