//! Webhook event ids: an event starts its executions once, whichever delivery of it comes first,
//! and its id is forgotten after the retention.

use crate::executions::{flow_instance, queued};
use crate::support::{backends, finish, tenant};
use ferry_model::InstanceId;
use ferry_store::{DeliveredEvent, ExecutionFilter};
use serde_json::json;

#[tokio::test]
async fn a_delivered_event_starts_its_executions_once_until_its_id_is_forgotten() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "hooks").await;
        let (flow, listener) = flow_instance(&b.store, &t, "hooks").await;
        let notes = InstanceId(41);
        let other_instance = InstanceId(42);
        let trigger = json!({"type": "event", "event": {"objectId": "8"}});
        let delivery = |ids: &[&'static str]| -> Vec<DeliveredEvent<'_>> {
            ids.iter()
                .map(|id| DeliveredEvent {
                    event_id: id,
                    executions: vec![queued(&t, &flow, listener, &trigger, 0)],
                })
                .collect()
        };
        let first = b
            .store
            .record_delivered_events(notes, &delivery(&["ev1", "ev2", "ev1"]), 1_000)
            .await
            .unwrap();
        assert!(
            first[0].as_ref().is_some_and(|e| e.len() == 1),
            "{}",
            b.name
        );
        assert!(
            first[1].as_ref().is_some_and(|e| e.len() == 1),
            "{}",
            b.name
        );
        assert_eq!(
            first[2], None,
            "{}: the same id twice in one delivery",
            b.name
        );

        let again = b
            .store
            .record_delivered_events(notes, &delivery(&["ev2", "ev3"]), 2_000)
            .await
            .unwrap();
        assert_eq!(again[0], None, "{}: redelivered", b.name);
        assert!(again[1].is_some(), "{}", b.name);
        let elsewhere = b
            .store
            .record_delivered_events(other_instance, &delivery(&["ev1"]), 2_000)
            .await
            .unwrap();
        assert!(elsewhere[0].is_some(), "{}: ids are per instance", b.name);

        let all = ExecutionFilter {
            limit: 50,
            ..Default::default()
        };
        let executions = b
            .store
            .list_executions(t.organization.id, &all)
            .await
            .unwrap();
        assert_eq!(executions.len(), 4, "{}", b.name);

        // Retention: what was received before 2 000 is forgotten, the rest is kept.
        assert_eq!(
            b.store.purge_webhook_event_ids(2_000).await.unwrap(),
            2,
            "{}",
            b.name
        );
        let after = b
            .store
            .record_delivered_events(notes, &delivery(&["ev1", "ev3"]), 3_000)
            .await
            .unwrap();
        assert!(after[0].is_some(), "{}: forgotten, so new again", b.name);
        assert_eq!(after[1], None, "{}: still remembered", b.name);
    }
    finish(backends).await;
}

/// Two processes receive the same event at once (a vendor retrying a slow delivery): one of
/// them starts its execution, the other nothing.
#[tokio::test]
async fn racing_deliveries_of_one_event_start_it_once() {
    let backends = backends().await;
    for b in &backends {
        let t = tenant(&b.store, "race").await;
        let (flow, listener) = flow_instance(&b.store, &t, "race").await;
        let other = b.second_process().await;
        let trigger = json!({"type": "event"});
        for round in 0..10 {
            let id = format!("ev-{round}");
            let events = || {
                vec![DeliveredEvent {
                    event_id: &id,
                    executions: vec![queued(&t, &flow, listener, &trigger, 0)],
                }]
            };
            let (here, there) = (events(), events());
            let (one, two) = tokio::join!(
                b.store.record_delivered_events(InstanceId(7), &here, 10),
                other.record_delivered_events(InstanceId(7), &there, 10),
            );
            let started = [one.unwrap(), two.unwrap()]
                .iter()
                .filter(|outcome| outcome[0].is_some())
                .count();
            assert_eq!(started, 1, "{} round {round}", b.name);
        }
        other.close().await;
    }
    finish(backends).await;
}
