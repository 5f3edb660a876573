//! Executions survive a crash: ferry killed with SIGKILL resumes every unfinished execution from
//! its last committed step, sends no mail twice, and misses or doubles no event.

use crate::flow_support::mail_each_number;
use crate::support::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Short leases so that a restarted ferry takes over a dead one's executions quickly.
const FLAGS: [&str; 6] = [
    "--lease-seconds",
    "2",
    "--event-poll-seconds",
    "0.3",
    "--workers",
    "8",
];

#[tokio::test]
async fn two_hundred_executions_finish_exactly_once_across_a_crash() {
    let mut deployment = Sandbox::start_separate(&FLAGS).await;
    let grace = deployment.account(1);
    let gmail = deployment.gmail_instance(&deployment.account(0)).await;
    let flow = deployment.create_flow(mail_each_number(&grace)).await;
    let instance = deployment
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let instance_id = instance["id"].as_i64().unwrap();
    for n in 0..200 {
        deployment
            .start_execution(instance_id, json!({"n": n}))
            .await;
    }
    // Let some finish, then pull the plug mid-run.
    let started = Instant::now();
    loop {
        let done = deployment
            .executions_of(instance_id)
            .await
            .iter()
            .filter(|e| e["status"] == "success")
            .count();
        if done >= 30 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "executions did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    deployment.kill_ferry();
    deployment.start_ferry().await;

    let all = deployment.wait_for_executions(instance_id, 200).await;
    assert_eq!(all.len(), 200);
    for summary in &all {
        assert_eq!(summary["status"], "success", "{summary}");
    }
    for summary in all.iter().step_by(7) {
        let execution = deployment
            .finished_execution(summary["id"].as_i64().unwrap())
            .await;
        let seqs: Vec<i64> = execution["stepExecutions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [0, 1, 2], "each step recorded once: {execution}");
    }
    let inbox = deployment.mailbox(&grace).await;
    let numbers: Vec<&str> = inbox
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .filter(|s| s.starts_with("number "))
        .collect();
    let distinct: BTreeSet<&str> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), 200, "no mail sent twice, none lost");
    assert_eq!(distinct.len(), 200);
}

#[tokio::test]
async fn events_are_neither_missed_nor_doubled_across_a_restart() {
    let mut deployment = Sandbox::start_separate(&FLAGS).await;
    let ada = deployment.account(0);
    let gmail = deployment.gmail_instance(&ada).await;
    let flow = deployment
        .create_flow(json!({
            "name": "On new mail",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "event", "properties": {"elementInstanceId": "${config.gmail}"}, "onSuccess": ["note"]}],
            "steps": [{"name": "note", "type": "script", "properties": {"body": "done({id: trigger.event.objectId});"}}]
        }))
        .await;
    let instance = deployment
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let instance_id = instance["id"].as_i64().unwrap();
    let first = deployment.deliver(&ada, "before-crash").await;
    let before = deployment.wait_for_executions(instance_id, 1).await;
    assert_eq!(before.len(), 1);

    deployment.kill_ferry();
    let second = deployment.deliver(&ada, "while-down-1").await;
    let third = deployment.deliver(&ada, "while-down-2").await;
    deployment.start_ferry().await;

    let after = deployment.wait_for_executions(instance_id, 3).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let settled = deployment.executions_of(instance_id).await;
    assert_eq!(settled.len(), 3, "{after:?}");
    let objects: BTreeSet<String> = settled
        .iter()
        .map(|e| e["objectId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(objects, BTreeSet::from([first, second, third]));
    let statuses: Vec<&Value> = settled.iter().map(|e| &e["status"]).collect();
    assert!(statuses.iter().all(|s| *s == "success"), "{statuses:?}");
    let _ = deployment.api(Method::GET, "/formulas", None).await.status == StatusCode::OK;
}
