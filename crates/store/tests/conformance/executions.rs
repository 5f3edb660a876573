//! Flows, flow instances, the execution queue, step records, schedule ticks and event cursors.

use crate::support::{Tenant, backends, finish, tenant};
use ferry_model::execution::{ExecutionStatus, StepStatus};
use ferry_model::flow::FlowDef;
use ferry_model::{FlowInstanceId, InstanceId, Secret};
use ferry_store::{
    CancelOutcome, ExecutionFilter, FlowInstanceChanges, FlowInstanceFilter, NewExecution,
    NewFlowInstance, NewStepExecution, StepCommit, Store, StoreError,
};
use serde_json::{Map, Value, json};

fn flow_def(name: &str) -> FlowDef {
    serde_json::from_value(json!({
        "name": name,
        "triggers": [{"type": "manual", "onSuccess": ["a"]}],
        "steps": [{"name": "a", "type": "script", "properties": {"body": "done({})"}}]
    }))
    .unwrap()
}

pub(crate) async fn flow_instance(
    store: &Store,
    t: &Tenant,
    name: &str,
) -> (ferry_model::execution::Flow, FlowInstanceId) {
    let flow = store
        .insert_flow(t.organization.id, t.user.id, &flow_def(name), 1)
        .await
        .unwrap();
    let configuration: Map<String, Value> = json!({"gmail": 7}).as_object().unwrap().clone();
    let instance = store
        .insert_flow_instance(NewFlowInstance {
            organization_id: t.organization.id,
            flow_id: flow.id,
            name,
            active: true,
            configuration: &configuration,
            settings: &Map::new(),
            webhook_secret: Some(&Secret::new("hook-secret")),
            now_ms: 1,
        })
        .await
        .unwrap();
    (flow, instance.id)
}

pub(crate) fn queued<'a>(
    t: &Tenant,
    flow: &ferry_model::execution::Flow,
    instance: FlowInstanceId,
    trigger: &'a Value,
    run_after: i64,
) -> NewExecution<'a> {
    NewExecution {
        organization_id: t.organization.id,
        flow_id: flow.id,
        flow_instance_id: instance,
        trigger_kind: "manual",
        trigger,
        state: &Value::Null,
        attempt: 1,
        parent_execution_id: None,
        event_id: None,
        object_id: None,
        run_after_ms: run_after,
        claimed_by: None,
        now_ms: 10,
    }
}

async fn commit(
    store: &Store,
    id: ferry_model::ExecutionId,
    owner: &str,
    step: &NewStepExecution<'_>,
    state: &Value,
) -> bool {
    store
        .commit_step(
            id,
            owner,
            &StepCommit {
                step,
                state,
                ending: None,
            },
        )
        .await
        .unwrap()
}

fn step<'a>(seq: i64, output: &'a Value, console: &'a [String]) -> NewStepExecution<'a> {
    NewStepExecution {
        seq,
        step_name: "a",
        step_kind: "script",
        status: StepStatus::Success,
        input: &Value::Null,
        output,
        console,
        error: None,
        attempts: 1,
        duration_us: 120,
        now_ms: 20,
    }
}

#[tokio::test]
async fn flows_and_their_instances_round_trip() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "f").await;
        let (flow, instance) = flow_instance(&b.store, &t, "Send mail").await;
        assert_eq!(
            b.store
                .get_flow(t.organization.id, flow.id)
                .await
                .unwrap()
                .unwrap()
                .def,
            flow_def("Send mail")
        );
        assert_eq!(
            b.store.list_flows(t.organization.id).await.unwrap().len(),
            1
        );
        let got = b
            .store
            .get_flow_instance(t.organization.id, instance)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.configuration["gmail"], json!(7));
        assert_eq!(
            b.store
                .flow_instance_webhook_secret(instance)
                .await
                .unwrap()
                .unwrap()
                .expose(),
            "hook-secret"
        );
        let configuration = json!({"gmail": 8}).as_object().unwrap().clone();
        let changed = b
            .store
            .update_flow_instance(
                t.organization.id,
                instance,
                &FlowInstanceChanges {
                    name: "renamed",
                    configuration: &configuration,
                    settings: &Map::new(),
                    now_ms: 2,
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(changed.name, "renamed");
        assert!(
            b.store
                .set_flow_instance_active(t.organization.id, instance, false, 3)
                .await
                .unwrap()
        );
        assert!(
            b.store
                .list_active_flow_instances()
                .await
                .unwrap()
                .is_empty(),
            "{}",
            b.name
        );
        let all = FlowInstanceFilter {
            include_inactive: true,
            ..Default::default()
        };
        assert_eq!(
            b.store
                .list_flow_instances(t.organization.id, &all)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            matches!(
                b.store.delete_flow(t.organization.id, flow.id).await,
                Err(StoreError::Conflict(_))
            ),
            "{}",
            b.name
        );
        assert!(
            b.store
                .delete_flow_instance(t.organization.id, instance)
                .await
                .unwrap()
        );
        assert!(
            b.store
                .delete_flow(t.organization.id, flow.id)
                .await
                .unwrap()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn renewed_leases_keep_their_executions_and_only_the_owner_renews() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "renew").await;
        let (flow, instance) = flow_instance(&b.store, &t, "renew").await;
        let trigger = json!({"args": {}});
        for _ in 0..3 {
            b.store
                .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
                .await
                .unwrap();
        }
        let claimed = b
            .store
            .claim_executions("w1", 100, 1_000, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 3, "{}", b.name);
        let ids: Vec<_> = claimed.iter().map(|e| e.id).collect();
        assert_eq!(
            b.store
                .renew_execution_leases("w2", &ids, 5_000)
                .await
                .unwrap(),
            0,
            "{}: another worker renews nothing",
            b.name
        );
        assert_eq!(
            b.store
                .renew_execution_leases("w1", &ids[..2], 5_000)
                .await
                .unwrap(),
            2,
            "{}",
            b.name
        );
        // After the first lease ran out, only the execution that was not renewed is free.
        let taken = b
            .store
            .claim_executions("w2", 2_000, 1_000, 10)
            .await
            .unwrap();
        let taken: Vec<_> = taken.iter().map(|e| e.id).collect();
        assert_eq!(taken, [ids[2]], "{}", b.name);
    }
    finish(backends).await;
}

#[tokio::test]
async fn an_execution_is_claimed_by_one_worker_and_resumes_after_its_lease_expires() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "q").await;
        let (flow, instance) = flow_instance(&b.store, &t, "q").await;
        let trigger = json!({"args": {"n": 1}});
        let created = b
            .store
            .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
            .await
            .unwrap();
        assert_eq!(created.status, ExecutionStatus::Queued);
        let steps = b.store.list_step_executions(created.id).await.unwrap();
        assert_eq!(steps.len(), 1, "the trigger's record");
        assert_eq!((steps[0].seq, steps[0].step_name.as_str()), (0, "trigger"));
        assert_eq!(steps[0].output, trigger);

        let first = b
            .store
            .claim_executions("w1", 100, 1_000, 10)
            .await
            .unwrap();
        assert_eq!(first.len(), 1, "{}", b.name);
        assert!(
            b.store
                .claim_executions("w2", 200, 1_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "{}: claimed twice",
            b.name
        );

        let output = json!({"x": 1});
        assert!(
            commit(
                &b.store,
                created.id,
                "w1",
                &step(1, &output, &["hi".into()]),
                &json!({"seq": 1})
            )
            .await
        );
        assert!(
            !commit(
                &b.store,
                created.id,
                "w2",
                &step(2, &output, &[]),
                &json!({"seq": 2})
            )
            .await,
            "not the owner"
        );

        // w1 dies: after its lease, w2 takes over with the committed state.
        let taken = b
            .store
            .claim_executions("w2", 1_200, 1_000, 10)
            .await
            .unwrap();
        assert_eq!(taken.len(), 1, "{}", b.name);
        assert_eq!(taken[0].state, json!({"seq": 1}));
        assert!(
            !commit(
                &b.store,
                created.id,
                "w1",
                &step(2, &output, &[]),
                &json!({})
            )
            .await,
            "w1 lost it"
        );
        assert!(
            commit(
                &b.store,
                created.id,
                "w2",
                &step(2, &output, &[]),
                &json!({"seq": 2})
            )
            .await
        );
        assert!(
            b.store
                .finish_execution(created.id, "w2", ExecutionStatus::Success, None, 1_300)
                .await
                .unwrap()
        );
        let done = b
            .store
            .get_execution(t.organization.id, created.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, ExecutionStatus::Success);
        assert_eq!(done.finished_at_ms, Some(1_300));
        let steps = b.store.list_step_executions(created.id).await.unwrap();
        assert_eq!(steps.iter().map(|s| s.seq).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(steps[1].console, ["hi"]);
    }
    finish(backends).await;
}

#[tokio::test]
async fn claims_respect_run_after_and_concurrent_claimers_never_share() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "c").await;
        let (flow, instance) = flow_instance(&b.store, &t, "c").await;
        let trigger = json!({});
        b.store
            .insert_execution(&queued(&t, &flow, instance, &trigger, 5_000))
            .await
            .unwrap();
        assert!(
            b.store
                .claim_executions("w", 100, 1_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "not before run_after"
        );
        for _ in 0..40 {
            b.store
                .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
                .await
                .unwrap();
        }
        let store = b.store.clone();
        let claimers = (0..4).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_executions(&format!("w{i}"), 200, 60_000, 3)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|e| e.id));
                }
            })
        });
        let mut all = Vec::new();
        for claimer in claimers {
            all.extend(claimer.await.unwrap());
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            count,
            "{}: an execution was claimed twice",
            b.name
        );
        assert_eq!(count, 40, "{}", b.name);
    }
    finish(backends).await;
}

#[tokio::test]
async fn several_steps_commit_in_order_and_a_cancelled_execution_takes_none() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "m").await;
        let (flow, instance) = flow_instance(&b.store, &t, "m").await;
        let trigger = json!({});
        let execution = b
            .store
            .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
            .await
            .unwrap();
        b.store.claim_executions("w", 100, 1_000, 1).await.unwrap();
        let (first, second) = (json!({"n": 1}), json!({"n": 2}));
        let (state_1, state_2) = (json!({"after": 1}), json!({"after": 2}));
        let rows = [step(1, &first, &[]), step(2, &second, &[])];
        let pending = b
            .store
            .send_step_commits(
                execution.id,
                "w",
                &[
                    StepCommit {
                        step: &rows[0],
                        state: &state_1,
                        ending: None,
                    },
                    StepCommit {
                        step: &rows[1],
                        state: &state_2,
                        ending: None,
                    },
                ],
            )
            .await
            .unwrap();
        assert!(pending.confirmed().await.unwrap(), "{}", b.name);
        let steps = b.store.list_step_executions(execution.id).await.unwrap();
        let outputs: Vec<_> = steps.iter().map(|s| (s.seq, s.output.clone())).collect();
        assert_eq!(
            outputs,
            vec![
                (0, trigger.clone()),
                (1, first.clone()),
                (2, second.clone())
            ]
        );
        let stored = b
            .store
            .get_execution_by_id(execution.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, state_2, "the state after the last step");

        b.store
            .cancel_execution(t.organization.id, execution.id, 150)
            .await
            .unwrap();
        let third = json!({"n": 3});
        let late = [step(3, &third, &[])];
        let refused = b
            .store
            .send_step_commits(
                execution.id,
                "w",
                &[StepCommit {
                    step: &late[0],
                    state: &json!({}),
                    ending: None,
                }],
            )
            .await
            .unwrap();
        assert!(!refused.confirmed().await.unwrap(), "{}", b.name);
        assert_eq!(
            b.store
                .list_step_executions(execution.id)
                .await
                .unwrap()
                .len(),
            3
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn cancelling_stops_queued_and_running_executions_once() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "x").await;
        let (flow, instance) = flow_instance(&b.store, &t, "x").await;
        let trigger = json!({});
        let execution = b
            .store
            .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
            .await
            .unwrap();
        b.store.claim_executions("w", 100, 1_000, 1).await.unwrap();
        assert_eq!(
            b.store
                .cancel_execution(t.organization.id, execution.id, 150)
                .await
                .unwrap(),
            CancelOutcome::Cancelled
        );
        assert!(
            !commit(
                &b.store,
                execution.id,
                "w",
                &step(1, &json!({}), &[]),
                &json!({})
            )
            .await,
            "the worker stops"
        );
        assert!(
            !b.store
                .finish_execution(execution.id, "w", ExecutionStatus::Success, None, 160)
                .await
                .unwrap()
        );
        assert_eq!(
            b.store
                .cancel_execution(t.organization.id, execution.id, 170)
                .await
                .unwrap(),
            CancelOutcome::AlreadyFinished(ExecutionStatus::Cancelled)
        );
        let other = tenant(&b.store, "y").await;
        assert_eq!(
            b.store
                .cancel_execution(other.organization.id, execution.id, 170)
                .await
                .unwrap(),
            CancelOutcome::NotFound
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn executions_are_listed_newest_first_with_filters_and_pages() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "l").await;
        let (flow, instance) = flow_instance(&b.store, &t, "l").await;
        let trigger = json!({});
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut new = queued(&t, &flow, instance, &trigger, 0);
            let event = format!("event-{}", i % 2);
            new.event_id = Some(&event);
            ids.push(b.store.insert_execution(&new).await.unwrap().id);
        }
        let page = ExecutionFilter {
            flow_instance_id: Some(instance),
            limit: 2,
            ..Default::default()
        };
        let first = b
            .store
            .list_executions(t.organization.id, &page)
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|e| e.id).collect::<Vec<_>>(),
            [ids[4], ids[3]]
        );
        let next = ExecutionFilter {
            before_id: Some(first[1].id),
            ..page.clone()
        };
        let second = b
            .store
            .list_executions(t.organization.id, &next)
            .await
            .unwrap();
        assert_eq!(
            second.iter().map(|e| e.id).collect::<Vec<_>>(),
            [ids[2], ids[1]]
        );
        let by_event = ExecutionFilter {
            event_id: Some("event-1".into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            b.store
                .list_executions(t.organization.id, &by_event)
                .await
                .unwrap()
                .len(),
            2
        );
        let counts = b
            .store
            .count_executions(t.organization.id, Some(instance))
            .await
            .unwrap();
        assert_eq!(counts, vec![(ExecutionStatus::Queued, 5)]);

        // Filters combine: status, flow, instance and page at once.
        let claimed = b.store.claim_executions("w", 10, 60_000, 2).await.unwrap();
        assert_eq!(
            claimed.iter().map(|e| e.id).collect::<Vec<_>>(),
            [ids[0], ids[1]],
            "the longest-waiting executions are claimed first"
        );
        let listed = |filter: ExecutionFilter| {
            let store = &b.store;
            let organization = t.organization.id;
            async move {
                store
                    .list_executions(organization, &filter)
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.id)
                    .collect::<Vec<_>>()
            }
        };
        let queued_only = ExecutionFilter {
            flow_instance_id: Some(instance),
            flow_id: Some(flow.id),
            status: Some(ExecutionStatus::Queued),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(listed(queued_only.clone()).await, [ids[4], ids[3], ids[2]]);
        assert_eq!(
            listed(ExecutionFilter {
                before_id: Some(ids[3]),
                ..queued_only.clone()
            })
            .await,
            [ids[2]]
        );
        assert_eq!(
            listed(ExecutionFilter {
                status: Some(ExecutionStatus::Pending),
                event_id: Some("event-1".into()),
                ..queued_only.clone()
            })
            .await,
            [ids[1]]
        );
        assert_eq!(
            listed(ExecutionFilter {
                status: Some(ExecutionStatus::Success),
                ..queued_only
            })
            .await,
            Vec::<ferry_model::ExecutionId>::new()
        );
        assert_eq!(
            b.store.purge_finished_executions(i64::MAX).await.unwrap(),
            0,
            "unfinished executions stay"
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn retention_deletes_old_finished_executions_batch_by_batch_and_keeps_the_rest() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "keep").await;
        let (flow, instance) = flow_instance(&b.store, &t, "keep").await;
        let trigger = json!({});
        let mut old = Vec::new();
        for _ in 0..6 {
            old.push(
                b.store
                    .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
                    .await
                    .unwrap()
                    .id,
            );
        }
        // Five old ones finished; one old one is still queued.
        for id in &old[..5] {
            b.store
                .cancel_execution(t.organization.id, *id, 20)
                .await
                .unwrap();
        }
        let mut recent = queued(&t, &flow, instance, &trigger, 0);
        recent.now_ms = 1_000;
        let recent = b.store.insert_execution(&recent).await.unwrap().id;
        b.store
            .cancel_execution(t.organization.id, recent, 1_000)
            .await
            .unwrap();

        let purged = b
            .store
            .purge_finished_executions_in_batches(500, 2)
            .await
            .unwrap();
        assert_eq!(purged, 5, "{}: three batches of at most two", b.name);
        for id in &old[..5] {
            assert!(
                b.store
                    .get_execution(t.organization.id, *id)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(b.store.list_step_executions(*id).await.unwrap().is_empty());
        }
        assert!(
            b.store
                .get_execution(t.organization.id, old[5])
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            b.store
                .get_execution(t.organization.id, recent)
                .await
                .unwrap()
                .is_some()
        );
    }
    finish(backends).await;
}

#[tokio::test]
async fn a_schedule_tick_fires_once_and_event_cursors_move_with_their_executions() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "s").await;
        let (flow, instance) = flow_instance(&b.store, &t, "s").await;
        assert!(b.store.claim_schedule_tick(instance, 60_000).await.unwrap());
        assert!(
            !b.store.claim_schedule_tick(instance, 60_000).await.unwrap(),
            "{}",
            b.name
        );
        assert!(
            b.store
                .claim_schedule_tick(instance, 120_000)
                .await
                .unwrap()
        );

        let gmail = InstanceId(7);
        assert!(
            b.store
                .try_acquire_event_lease(gmail, "p1", 0, 1_000)
                .await
                .unwrap()
        );
        assert!(
            !b.store
                .try_acquire_event_lease(gmail, "p2", 10, 1_000)
                .await
                .unwrap(),
            "{}",
            b.name
        );
        assert_eq!(
            b.store.event_cursor(gmail).await.unwrap().as_deref(),
            Some("")
        );
        let trigger = json!({"event": {"objectId": "m1"}});
        let news = [
            queued(&t, &flow, instance, &trigger, 0),
            queued(&t, &flow, instance, &trigger, 0),
        ];
        assert!(
            b.store
                .advance_event_cursor(gmail, "", "h100", &news, 20)
                .await
                .unwrap()
        );
        assert!(
            !b.store
                .advance_event_cursor(gmail, "", "h200", &news, 30)
                .await
                .unwrap(),
            "stale cursor"
        );
        assert_eq!(
            b.store.event_cursor(gmail).await.unwrap().as_deref(),
            Some("h100")
        );
        let all = ExecutionFilter {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            b.store
                .list_executions(t.organization.id, &all)
                .await
                .unwrap()
                .len(),
            2,
            "{}",
            b.name
        );
    }
    finish(backends).await;
}

fn claimed<'a>(
    t: &Tenant,
    flow: &ferry_model::execution::Flow,
    instance: FlowInstanceId,
    trigger: &'a Value,
) -> NewExecution<'a> {
    NewExecution {
        claimed_by: Some(("w", 1_000_000)),
        ..queued(t, flow, instance, trigger, 0)
    }
}

/// A claimed execution (a synchronous webhook's, a sub-flow's) is recorded, with its trigger,
/// by its first step or its end, and executions are numbered in the order they were created,
/// whichever writer inserted them.
#[tokio::test]
async fn executions_keep_their_creation_order_and_a_claimed_one_is_recorded_by_its_first_write() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "order").await;
        let (flow, instance) = flow_instance(&b.store, &t, "order").await;
        let gmail = InstanceId(8);
        assert!(
            b.store
                .try_acquire_event_lease(gmail, "p1", 0, 1_000)
                .await
                .unwrap()
        );
        let mut created = Vec::new();
        for round in 0..3 {
            let trigger = json!({"round": round});
            let first = b
                .store
                .insert_execution(&claimed(&t, &flow, instance, &trigger))
                .await
                .unwrap();
            let queued_one = b
                .store
                .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
                .await
                .unwrap();
            let events = [
                queued(&t, &flow, instance, &trigger, 0),
                queued(&t, &flow, instance, &trigger, 0),
            ];
            let cursor = b.store.event_cursor(gmail).await.unwrap().unwrap();
            assert!(
                b.store
                    .advance_event_cursor(gmail, &cursor, &format!("h{round}"), &events, 20)
                    .await
                    .unwrap()
            );
            let failed = b
                .store
                .insert_execution(&claimed(&t, &flow, instance, &trigger))
                .await
                .unwrap();

            let output = json!({"sent": round});
            assert!(commit(&b.store, first.id, "w", &step(1, &output, &[]), &json!({})).await);
            assert!(
                b.store
                    .finish_execution(
                        failed.id,
                        "w",
                        ExecutionStatus::Failed,
                        Some("the flow's first step has no connector instance"),
                        30
                    )
                    .await
                    .unwrap(),
                "{}: an end with no step before it",
                b.name
            );
            let steps = b.store.list_step_executions(first.id).await.unwrap();
            let recorded: Vec<_> = steps.iter().map(|s| (s.seq, s.output.clone())).collect();
            assert_eq!(
                recorded,
                vec![(0, trigger.clone()), (1, output)],
                "{}",
                b.name
            );
            let stored = b
                .store
                .get_execution_by_id(failed.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored.status, ExecutionStatus::Failed, "{}", b.name);
            assert_eq!(
                stored.error.as_deref(),
                Some("the flow's first step has no connector instance")
            );
            assert_eq!(
                b.store.list_step_executions(failed.id).await.unwrap().len(),
                1
            );
            // The event executions' ids are not returned: `None` stands for them.
            created.extend([
                Some(first.id),
                Some(queued_one.id),
                None,
                None,
                Some(failed.id),
            ]);
        }
        let all = ExecutionFilter {
            limit: 100,
            ..Default::default()
        };
        let mut listed: Vec<_> = b
            .store
            .list_executions(t.organization.id, &all)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.id, e.trigger_kind.clone(), e.status))
            .collect();
        listed.reverse();
        assert_eq!(listed.len(), created.len(), "{}: {listed:?}", b.name);
        for (position, (expected, (id, _, status))) in created.iter().zip(&listed).enumerate() {
            match expected {
                Some(expected) => {
                    assert_eq!(
                        expected, id,
                        "{}: position {position} of {listed:?}",
                        b.name
                    );
                }
                None => assert_eq!(*status, ExecutionStatus::Queued, "{}: {listed:?}", b.name),
            }
        }
    }
    finish(backends).await;
}

/// Two processes on one SQLite file (or one PostgreSQL database) never hand out the same id.
#[tokio::test]
async fn two_processes_creating_executions_never_share_an_id() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "two").await;
        let (flow, instance) = flow_instance(&b.store, &t, "two").await;
        let other = b.second_process().await;
        let trigger = json!({});
        let mut ids = std::collections::BTreeSet::new();
        for _ in 0..300 {
            for store in [&b.store, &other] {
                let claimed_one = store
                    .insert_execution(&claimed(&t, &flow, instance, &trigger))
                    .await
                    .unwrap();
                assert!(
                    store
                        .finish_execution(claimed_one.id, "w", ExecutionStatus::Success, None, 30)
                        .await
                        .unwrap()
                );
                let queued_one = store
                    .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
                    .await
                    .unwrap();
                assert!(
                    ids.insert(claimed_one.id.0),
                    "{}: {:?} twice",
                    b.name,
                    claimed_one.id
                );
                assert!(
                    ids.insert(queued_one.id.0),
                    "{}: {:?} twice",
                    b.name,
                    queued_one.id
                );
            }
        }
        let all = ExecutionFilter {
            limit: 2_000,
            ..Default::default()
        };
        let listed = b
            .store
            .list_executions(t.organization.id, &all)
            .await
            .unwrap();
        assert_eq!(listed.len(), ids.len(), "{}", b.name);
        other.close().await;
    }
    finish(backends).await;
}

/// Every step record has an id of its own, whichever process and writer inserted it (on SQLite
/// the journal takes them from reserved blocks, sqlx's inserts from AUTOINCREMENT), and that id
/// finds that record.
#[tokio::test]
async fn step_records_of_every_writer_and_process_have_ids_of_their_own() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "steps").await;
        let (flow, instance) = flow_instance(&b.store, &t, "steps").await;
        let other = b.second_process().await;
        let gmail = InstanceId(9);
        assert!(
            b.store
                .try_acquire_event_lease(gmail, "p1", 0, 1_000)
                .await
                .unwrap()
        );
        let trigger = json!({});
        let mut executions = Vec::new();
        for round in 0..150 {
            for store in [&b.store, &other] {
                let run = store
                    .insert_execution(&claimed(&t, &flow, instance, &trigger))
                    .await
                    .unwrap();
                let output = json!({"round": round});
                assert!(commit(store, run.id, "w", &step(1, &output, &[]), &json!({})).await);
                assert!(
                    store
                        .finish_execution(run.id, "w", ExecutionStatus::Success, None, 30)
                        .await
                        .unwrap()
                );
                let queued_one = store
                    .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
                    .await
                    .unwrap();
                executions.push((run.id, 2));
                executions.push((queued_one.id, 1));
            }
            let cursor = b.store.event_cursor(gmail).await.unwrap().unwrap();
            let events = [queued(&t, &flow, instance, &trigger, 0)];
            assert!(
                b.store
                    .advance_event_cursor(gmail, &cursor, &format!("h{round}"), &events, 20)
                    .await
                    .unwrap()
            );
        }
        let all = ExecutionFilter {
            limit: 2_000,
            ..Default::default()
        };
        let listed = b
            .store
            .list_executions(t.organization.id, &all)
            .await
            .unwrap();
        assert_eq!(listed.len(), 150 * 5, "{}", b.name);
        let mut step_ids = std::collections::BTreeSet::new();
        let mut records = 0;
        for execution in &listed {
            let steps = b.store.list_step_executions(execution.id).await.unwrap();
            let expected = executions
                .iter()
                .find(|(id, _)| *id == execution.id)
                .map_or(1, |(_, steps)| *steps);
            assert_eq!(steps.len(), expected, "{}: {:?}", b.name, execution.id);
            for recorded in steps {
                assert!(
                    step_ids.insert(recorded.id.0),
                    "{}: step id {:?} twice",
                    b.name,
                    recorded.id
                );
                records += 1;
                if records % 37 == 0 {
                    let found = other
                        .get_step_execution(t.organization.id, recorded.id)
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(
                        (found.execution_id, found.seq),
                        (recorded.execution_id, recorded.seq),
                        "{}",
                        b.name
                    );
                }
            }
        }
        assert_eq!(records, 150 * (2 * 3 + 1), "{}", b.name);
        other.close().await;
    }
    finish(backends).await;
}

/// SQLite only: the journal leaves checkpoints to a thread of their own, so they must still
/// happen — the database file takes in what the write-ahead log holds without anyone asking.
#[tokio::test]
async fn the_sqlite_log_is_checkpointed_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    let store = Store::connect(
        &format!("sqlite://{}", path.display()),
        &ferry_store::MasterKey::generate(),
        ferry_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let t = tenant(&store, "wal").await;
    let (flow, instance) = flow_instance(&store, &t, "wal").await;
    let size_before = std::fs::metadata(&path).unwrap().len();
    let trigger = json!({"body": "x".repeat(2_000)});
    for _ in 0..600 {
        store
            .insert_execution(&queued(&t, &flow, instance, &trigger, 0))
            .await
            .unwrap();
    }
    let started = std::time::Instant::now();
    while std::fs::metadata(&path).unwrap().len() < size_before + 600 * 2_000 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the database file stayed at {} bytes",
            std::fs::metadata(&path).unwrap().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    store.close().await;
}

#[tokio::test]
async fn execution_figures_count_by_minute_status_and_flow() {
    let backends = crate::support::backends().await;
    for b in &backends {
        let t = crate::support::tenant(&b.store, "figures").await;
        let (flow, instance) = flow_instance(&b.store, &t, "figures").await;
        let flow = flow.id;
        let trigger = serde_json::json!({});
        for (at, status) in [
            (60_000, "success"),
            (61_000, "failed"),
            (62_000, "failed"),
            (130_000, "success"),
        ] {
            let execution = b
                .store
                .insert_execution(&ferry_store::NewExecution {
                    organization_id: t.organization.id,
                    flow_id: flow,
                    flow_instance_id: instance,
                    trigger_kind: "manual",
                    trigger: &trigger,
                    state: &serde_json::Value::Null,
                    attempt: 1,
                    parent_execution_id: None,
                    event_id: None,
                    object_id: None,
                    run_after_ms: at,
                    claimed_by: Some(("w", at + 60_000)),
                    now_ms: at,
                })
                .await
                .unwrap();
            let status = ferry_model::execution::ExecutionStatus::parse(status).unwrap();
            assert!(
                b.store
                    .finish_execution(execution.id, "w", status, None, at)
                    .await
                    .unwrap()
            );
        }
        let counts = b
            .store
            .execution_counts(t.organization.id, 0, 200_000, 60_000)
            .await
            .unwrap();
        let summary: Vec<(i64, &str, i64)> = counts
            .iter()
            .map(|c| (c.bucket_start_ms, c.status.as_str(), c.executions))
            .collect();
        assert_eq!(
            summary,
            vec![
                (60_000, "failed", 2),
                (60_000, "success", 1),
                (120_000, "success", 1)
            ],
            "{}",
            b.name
        );
        assert_eq!(
            b.store
                .failures_by_flow(t.organization.id, 0)
                .await
                .unwrap(),
            vec![(flow, 2)]
        );
        assert!(
            b.store
                .failures_by_flow(t.organization.id, 70_000)
                .await
                .unwrap()
                .is_empty()
        );
    }
    crate::support::finish(backends).await;
}

#[tokio::test]
async fn queued_work_wakes_listeners_in_other_processes_on_postgres() {
    let backends = crate::support::backends().await;
    for b in &backends {
        let other = b.second_process().await;
        match other.queue_listener().await.unwrap() {
            None => {
                assert_eq!(b.name, "sqlite", "only SQLite goes without a listener");
                b.store.notify_queue().await.unwrap();
            }
            Some(mut listener) => {
                b.store.notify_queue().await.unwrap();
                tokio::time::timeout(std::time::Duration::from_secs(10), listener.next())
                    .await
                    .expect("the wake-up arrives")
                    .unwrap();
            }
        }
        other.close().await;
    }
    crate::support::finish(backends).await;
}

/// SQLite only: under writes that never pause, the write-ahead log still starts over from its
/// beginning now and then, so its file stays the size of a few checkpoints' worth of pages
/// instead of growing with everything ever written.
#[tokio::test]
async fn the_sqlite_log_stays_small_under_writes_that_never_pause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.db");
    let log = dir.path().join("ferry.db-wal");
    let store = Store::connect(
        &format!("sqlite://{}", path.display()),
        &ferry_store::MasterKey::generate(),
        ferry_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let t = tenant(&store, "wal").await;
    let (flow, instance) = flow_instance(&store, &t, "wal").await;
    // Each execution's row spills onto two overflow pages: about 290 MB of log pages in all,
    // which is what the file grew to before the log started over under load. Started over, it
    // holds a checkpoint's worth (~20 MB; more on a machine too busy to checkpoint promptly).
    const WRITERS: usize = 8;
    const EACH: usize = 800;
    let trigger = json!({"body": "x".repeat(7_000)});
    let organization = t.organization.id;
    let shared = std::sync::Arc::new((t, flow, trigger));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..WRITERS {
        let (store, shared) = (store.clone(), shared.clone());
        writers.spawn(async move {
            let (t, flow, trigger) = &*shared;
            for _ in 0..EACH {
                store
                    .insert_execution(&queued(t, flow, instance, trigger, 0))
                    .await
                    .unwrap();
            }
        });
    }
    let mut largest = 0;
    while !writers.is_empty() {
        largest = largest.max(std::fs::metadata(&log).map_or(0, |m| m.len()));
        tokio::select! {
            done = writers.join_next() => done.unwrap().unwrap(),
            () = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
        }
    }
    largest = largest.max(std::fs::metadata(&log).map_or(0, |m| m.len()));
    let counted = store
        .count_executions(organization, Some(instance))
        .await
        .unwrap();
    assert_eq!(
        counted.iter().map(|(_, count)| count).sum::<i64>(),
        (WRITERS * EACH) as i64
    );
    assert!(
        largest < 96 << 20,
        "the log grew to {} MB while {} executions were written",
        largest >> 20,
        WRITERS * EACH
    );
    store.close().await;
}
