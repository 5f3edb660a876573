//! Cost of resolving `${…}` references in a step's properties, the work the engine does before
//! every step: whole references that keep their type, references inside text, and a larger
//! property tree as a connector request step carries.
//!
//! Run with `cargo bench -p ferry-engine --bench template`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry_engine::{StepContext, resolve};
use serde_json::{Value, json};

/// The scope of the benchmark flow's HTTP step (`bench/src/flows.rs`) after its script ran,
/// plus the Gmail walkthrough's configuration.
struct Scope {
    trigger: Value,
    steps: Value,
    info: Value,
    config: Value,
}

impl Scope {
    fn new() -> Scope {
        Scope {
            trigger: json!({
                "type": "webhook", "method": "POST",
                "headers": {"content-type": "application/json", "user-agent": "wrk"},
                "query": {},
                "body": {"subject": "hello", "to": "to@example.com", "from": "from@example.com",
                         "data": {"k": 1, "s": "abcdefghij"}}
            }),
            steps: json!({
                "trigger": {"body": {"subject": "hello"}},
                "build": {"url": "/messages", "body": {"subject": "hello", "to": "to@example.com",
                          "from": "from@example.com", "data": {"k": 1, "s": "abcdefghij"}}},
                "lookup": {"response": {"code": 200, "body": "{\"id\":\"17c2\",\"threadId\":\"17c2\",\"labelIds\":[\"INBOX\"]}"}}
            }),
            info: json!({"formulaId": 12, "formulaInstanceId": 34, "formulaExecutionId": 56}),
            config: json!({"gmail.instance": 78, "from": "noreply@example.com", "stub": "http://127.0.0.1:9"}),
        }
    }

    fn context(&self) -> StepContext<'_> {
        StepContext {
            trigger: &self.trigger,
            steps: self.steps.as_object().expect("an object"),
            info: &self.info,
            config: self.config.as_object().expect("an object"),
        }
    }
}

fn template(c: &mut Criterion) {
    let scope = Scope::new();
    let context = scope.context();
    let mut group = c.benchmark_group("template");

    // The benchmark flow's HTTP step: a URL built from text and a reference, a body that takes
    // the script's object whole.
    let http_step = json!({
        "method": "POST",
        "url": "${config.stub}${steps.build.url}",
        "body": "${steps.build.body}"
    });
    group.bench_function("http_step_properties", |b| {
        b.iter(|| resolve(black_box(&http_step), &context))
    });

    group.bench_function("whole_reference_steps", |b| {
        let value = json!("${steps.build.body}");
        b.iter(|| resolve(black_box(&value), &context))
    });

    group.bench_function("whole_reference_config_dotted_key", |b| {
        let value = json!("${config.gmail.instance}");
        b.iter(|| resolve(black_box(&value), &context))
    });

    group.bench_function("text_with_trigger_and_info", |b| {
        let value = json!("Mail ${trigger.body.subject} to ${trigger.body.to} (execution ${info.formulaExecutionId})");
        b.iter(|| resolve(black_box(&value), &context))
    });

    // A reference into an HTTP body kept as JSON text: parsed on the way.
    group.bench_function("reference_into_json_text", |b| {
        let value = json!("${steps.lookup.response.body.labelIds[0]}");
        b.iter(|| resolve(black_box(&value), &context))
    });

    group.bench_function("no_reference", |b| {
        let value =
            json!({"method": "GET", "path": "/messages", "query": {"q": "in:inbox", "max": 10}});
        b.iter(|| resolve(black_box(&value), &context))
    });

    // A connector request step with 20 properties, half of them references.
    group.bench_function("twenty_properties", |b| {
        let mut properties = serde_json::Map::new();
        for i in 0..10 {
            properties.insert(format!("plain{i}"), json!(format!("value {i}")));
            properties.insert(
                format!("ref{i}"),
                json!(format!(
                    "${{steps.build.body.subject}}-{i}-${{config.from}}"
                )),
            );
        }
        let value = Value::Object(properties);
        b.iter(|| resolve(black_box(&value), &context))
    });

    group.finish();
}

criterion_group!(benches, template);
criterion_main!(benches);
