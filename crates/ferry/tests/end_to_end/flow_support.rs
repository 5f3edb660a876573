//! Helpers for flow tests: create flows and instances, start and wait for executions.

use crate::support::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The seed's JS Script step, as the walkthrough writes it (its closing braces restored), sending
/// to `to`.
pub fn seed_script(to: &str) -> String {
    format!(
        r#"let url = '/messages';

let form = {{
  body: JSON.stringify({{
   "subject": "Integration Builder Gmail Connector",
  "to": "{to}",
  "from": "noreply-support@axway.com",
  "data": "Integration Builder is cool! Try it out!"
  }})
}};

done({{url:url, form:form}});"#
    )
}

pub fn seed_flow(to: &str) -> Value {
    json!({
        "name": "Send an email with Gmail",
        "configuration": [{"key": "gmail", "name": "Gmail", "type": "elementInstance"}],
        "triggers": [{"type": "manual", "name": "trigger", "onSuccess": ["prepareSendEmailToCustomer"]}],
        "steps": [
            {"name": "prepareSendEmailToCustomer", "type": "script", "properties": {"body": seed_script(to)}, "onSuccess": ["sendEmailToCustomer"]},
            {"name": "sendEmailToCustomer", "type": "elementRequest", "properties": {
                "elementInstanceId": "${config.gmail}", "method": "POST",
                "api": "${steps.prepareSendEmailToCustomer.url}", "form": "${steps.prepareSendEmailToCustomer.form}"
            }}
        ]
    })
}

impl Sandbox {
    pub async fn create_flow(&self, flow: Value) -> i64 {
        let created = self.api(Method::POST, "/formulas", Some(flow)).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        created.body["id"].as_i64().unwrap()
    }

    pub async fn create_flow_instance(&self, flow: i64, configuration: Value) -> Value {
        let created = self
            .api(
                Method::POST,
                &format!("/formulas/{flow}/instances"),
                Some(json!({"name": "instance", "configuration": configuration})),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        created.body
    }

    pub async fn start_execution(&self, flow_instance: i64, args: Value) -> i64 {
        let started = self
            .api(
                Method::POST,
                &format!("/formulas/instances/{flow_instance}/executions"),
                Some(args),
            )
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.text);
        started.body[0]["id"].as_i64().unwrap()
    }

    /// Waits until the execution has ended; returns it with its step executions.
    pub async fn finished_execution(&self, id: i64) -> Value {
        let started = Instant::now();
        loop {
            let execution = self
                .api(
                    Method::GET,
                    &format!("/formulas/instances/executions/{id}"),
                    None,
                )
                .await;
            assert_eq!(execution.status, StatusCode::OK, "{}", execution.text);
            if !matches!(
                execution.body["status"].as_str(),
                Some("queued" | "pending")
            ) {
                return execution.body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "execution {id} did not end: {}",
                execution.text
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn executions_of(&self, flow_instance: i64) -> Vec<Value> {
        let list = self
            .api(
                Method::GET,
                &format!("/formulas/instances/{flow_instance}/executions?pageSize=500"),
                None,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        list.body.as_array().cloned().unwrap_or_default()
    }

    /// Waits until `count` executions of the flow instance exist and have ended.
    pub async fn wait_for_executions(&self, flow_instance: i64, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let all = self.executions_of(flow_instance).await;
            let ended = all
                .iter()
                .filter(|e| !matches!(e["status"].as_str(), Some("queued" | "pending")))
                .count();
            if all.len() >= count && ended == all.len() {
                return all;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "only {} of {count} executions: {all:?}",
                all.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `"<step>.<field>"` → value, from an execution's step executions.
pub fn values(execution: &Value) -> std::collections::HashMap<String, String> {
    execution["stepExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["stepExecutionValues"].as_array().unwrap().clone())
        .map(|v| {
            (
                v["key"].as_str().unwrap().to_owned(),
                v["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn step<'a>(execution: &'a Value, name: &str) -> &'a Value {
    execution["stepExecutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stepName"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {execution}"))
}

/// A flow that mails `to` one message per run, subject `number <trigger.args.n>`: a script builds
/// the form, a Connector API Request sends it through the instance bound as `gmail`.
pub fn mail_each_number(to: &str) -> Value {
    json!({
        "name": "Mail each number",
        "configuration": [{"key": "gmail", "type": "elementInstance"}],
        "triggers": [{"type": "manual", "onSuccess": ["prepare"]}],
        "steps": [
            {"name": "prepare", "type": "script", "properties": {"body": format!(
                "done({{url: '/messages', form: {{body: JSON.stringify({{to: '{to}', subject: 'number ' + trigger.args.n, data: 'n=' + trigger.args.n}})}}}});"
            )}, "onSuccess": ["send"]},
            {"name": "send", "type": "elementRequest", "properties": {
                "elementInstanceId": "${config.gmail}", "method": "POST",
                "api": "${steps.prepare.url}", "form": "${steps.prepare.form}"
            }}
        ]
    })
}
