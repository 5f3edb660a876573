//! Per-run cost of a script step, end to end: fresh (or warm) runtime, inputs in, body, result out.
//!
//! Run with `cargo bench -p ferry-sandbox --bench script_step`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ferry_sandbox::{Sandbox, ScriptInput, ScriptKind};
use serde_json::json;

const SIMPLE: &str = "let url='/messages'; let form={body: JSON.stringify({subject:'s', to:'a@b.c', \
                      from:'x@y.z', data:'hi'})}; done({url, form});";

/// Inputs shaped like a real execution of the Gmail walkthrough flow.
fn input() -> ScriptInput {
    ScriptInput {
        trigger: json!({
            "type": "manual",
            "args": {"to": "someone@example.com", "subject": "Hello", "data": "Body text"}
        }),
        steps: json!({
            "trigger": {"args": {"to": "someone@example.com"}},
            "lookup": {"response": {"code": 200, "body": {"id": "17c2", "threadId": "17c2"}}}
        }),
        info: json!({
            "formulaId": 12, "formulaName": "send-mail", "formulaInstanceId": 34,
            "formulaInstanceName": "send-mail-1", "formulaExecutionId": 56
        }),
        config: json!({"gmail.instance": 78, "from": "noreply@example.com"}),
    }
}

fn script_step(c: &mut Criterion) {
    let sandbox = Sandbox::default();
    let input = input();
    let mut group = c.benchmark_group("script_step");

    group.bench_function("simple_script", |b| {
        b.iter(|| {
            let outcome = sandbox.run(ScriptKind::Script, black_box(SIMPLE), &input);
            assert!(outcome.result.is_ok());
            outcome
        })
    });

    // What a flow waits for when the thread built its engine ahead (between runs).
    group.bench_function("simple_script_engine_built_ahead", |b| {
        b.iter_batched(
            || sandbox.prepare_next_run_on_this_thread(),
            |()| {
                let outcome = sandbox.run(ScriptKind::Script, black_box(SIMPLE), &input);
                assert!(outcome.result.is_ok());
                outcome
            },
            criterion::BatchSize::PerIteration,
        )
    });

    // What a flow's later runs of the same script pay: the engine and the compiled body kept warm
    // for the flow (`Sandbox::run_warm`).
    group.bench_function("simple_script_warm_engine", |b| {
        b.iter(|| {
            let outcome =
                sandbox.run_warm(ScriptKind::Script, black_box(SIMPLE), &input, "org/flow");
            assert!(outcome.result.is_ok());
            outcome
        })
    });

    // The script of `bench/src/flows.rs` (the peers' workload) on a webhook trigger.
    group.bench_function("bench_flow_script", |b| {
        let source = "const b = trigger.body || {};\ndone({url: '/messages', body: {subject: b.subject || 'hello', \
                      to: b.to || 'to@example.com', from: b.from || 'from@example.com', data: b.data || {n: 1}}});";
        let webhook = ScriptInput {
            trigger: json!({
                "type": "webhook", "method": "POST",
                "headers": {"content-type": "application/json"}, "query": {},
                "body": {"subject": "hello", "to": "to@example.com", "from": "from@example.com",
                         "data": {"k": 1, "s": "abcdefghij"}}
            }),
            ..input.clone()
        };
        b.iter(|| {
            let outcome = sandbox.run(ScriptKind::Script, black_box(source), &webhook);
            assert!(outcome.result.is_ok());
            outcome
        })
    });

    group.bench_function("done_only_empty_inputs", |b| {
        let empty = ScriptInput::default();
        b.iter(|| sandbox.run(ScriptKind::Script, black_box("done();"), &empty))
    });

    group.bench_function("filter", |b| {
        b.iter(|| {
            sandbox.run(
                ScriptKind::Filter,
                black_box("done(config.from.length > 3);"),
                &input,
            )
        })
    });

    group.bench_function("ce_hmac_and_console", |b| {
        let source = "console.log('signing', info.formulaExecutionId); \
                      done({sig: CE.hmacSha256Hex('secret', JSON.stringify(trigger.args))});";
        b.iter(|| sandbox.run(ScriptKind::Script, black_box(source), &input))
    });

    // A 36 KB trigger (300 Gmail-style list items): shows the per-KB cost of loading and
    // deep-freezing inputs, which a simple script with small inputs barely pays.
    group.bench_function("simple_script_36kb_trigger", |b| {
        let messages: Vec<_> = (0..300)
            .map(|i| {
                json!({"id": format!("id{i}"), "threadId": format!("t{i}"),
                       "labelIds": ["INBOX", "UNREAD"], "snippet": "Lorem ipsum dolor sit amet",
                       "sizeEstimate": 1234 + i})
            })
            .collect();
        let big = ScriptInput {
            trigger: json!({"messages": messages, "nextPageToken": "abc"}),
            ..input.clone()
        };
        b.iter(|| sandbox.run(ScriptKind::Script, black_box(SIMPLE), &big))
    });

    group.bench_function("check", |b| {
        b.iter(|| sandbox.check(ScriptKind::Script, black_box(SIMPLE)))
    });

    group.finish();
}

criterion_group!(benches, script_step);
criterion_main!(benches);
