//! Behaviour of script and filter steps as a flow author sees it.

use std::time::{Duration, Instant};

use ferry_sandbox::{
    ProblemKind, Sandbox, SandboxLimits, ScriptFailure, ScriptInput, ScriptKind, ScriptOutcome,
};
use serde_json::json;

const SEED_SCRIPT: &str = r#"let url = '/messages';

let form = {
  body: JSON.stringify({
   "subject": "Integration Builder Gmail Connector",
  "to": "lbrenman@axway.com",
  "from": "noreply-support@axway.com",
  "data": "Integration Builder is cool! Try it out!"
  })
};

done({url:url, form:form});
"#;

fn sandbox() -> Sandbox {
    Sandbox::default()
}

fn short_limits() -> SandboxLimits {
    SandboxLimits {
        wall_time: Duration::from_millis(300),
        memory_bytes: 16 * 1024 * 1024,
        ..SandboxLimits::default()
    }
}

fn script(source: &str) -> ScriptOutcome {
    sandbox().run(ScriptKind::Script, source, &ScriptInput::default())
}

fn filter(source: &str) -> ScriptOutcome {
    sandbox().run(ScriptKind::Filter, source, &ScriptInput::default())
}

fn failure(outcome: &ScriptOutcome) -> &ScriptFailure {
    match &outcome.result {
        Err(f) => f,
        Ok(v) => panic!("expected a failure, got {v}"),
    }
}

fn thrown_message(outcome: &ScriptOutcome) -> &str {
    match failure(outcome) {
        ScriptFailure::Thrown { message, .. } => message,
        other => panic!("expected Thrown, got {other:?}"),
    }
}

fn assert_still_works(sandbox: &Sandbox) {
    let after = sandbox.run(
        ScriptKind::Script,
        "done({ok: 1 + 1});",
        &ScriptInput::default(),
    );
    assert_eq!(after.result, Ok(json!({"ok": 2})));
}

// ---- results -------------------------------------------------------------------------------

#[test]
fn seed_script_returns_url_and_form_with_a_json_body() {
    let outcome = script(SEED_SCRIPT);
    let value = outcome.result.expect("seed script succeeds");
    assert_eq!(value["url"], "/messages");
    let body = value["form"]["body"].as_str().expect("body is a string");
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(parsed["to"], "lbrenman@axway.com");
    assert_eq!(parsed["data"], "Integration Builder is cool! Try it out!");
    // Key order is the script's, not alphabetical.
    let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["url", "form"]);
    assert_eq!(
        body,
        r#"{"subject":"Integration Builder Gmail Connector","to":"lbrenman@axway.com","from":"noreply-support@axway.com","data":"Integration Builder is cool! Try it out!"}"#
    );
    assert!(outcome.console.is_empty());
}

#[test]
fn result_keeps_insertion_order_and_drops_functions_like_json() {
    let outcome = script(
        "done({z: 1, a: 2, m: {y: 1, b: 2}, f: function(){}, u: undefined, d: new Date(0)});",
    );
    let value = outcome.result.unwrap();
    assert_eq!(
        serde_json::to_string(&value).unwrap(),
        r#"{"z":1,"a":2,"m":{"y":1,"b":2},"d":"1970-01-01T00:00:00.000Z"}"#
    );
}

#[test]
fn done_without_arguments_is_an_empty_success() {
    assert_eq!(script("done();").result, Ok(json!({})));
}

#[test]
fn first_done_wins() {
    let outcome = script("done({first: true}); done({second: true}); throw new Error('late');");
    assert_eq!(outcome.result, Ok(json!({"first": true})));
}

#[test]
fn done_snapshots_the_value_when_called() {
    let outcome = script("let o = {n: 1}; done(o); o.n = 2;");
    assert_eq!(outcome.result, Ok(json!({"n": 1})));
}

#[test]
fn bigint_result_is_rejected_with_a_message() {
    let outcome = script("done({n: 10n});");
    match failure(&outcome) {
        ScriptFailure::InvalidResult { message } => {
            assert!(message.contains("BigInt"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cyclic_and_function_results_are_rejected() {
    let outcome = script("let a = {}; a.self = a; done(a);");
    assert!(
        matches!(failure(&outcome), ScriptFailure::InvalidResult { message } if message.contains("circular"))
    );
    let outcome = script("done(function () {});");
    assert!(matches!(
        failure(&outcome),
        ScriptFailure::InvalidResult { .. }
    ));
}

#[test]
fn missing_done_is_no_result() {
    let outcome = script("let x = 1;");
    assert_eq!(outcome.result, Err(ScriptFailure::NoResult));
    assert_eq!(
        ScriptFailure::NoResult.to_string(),
        "The step did not return any values: call done(...)"
    );
}

#[test]
fn a_script_that_throws_null_is_not_mistaken_for_running_out_of_memory() {
    assert_eq!(thrown_message(&script("throw null;")), "null");
}

#[test]
fn top_level_return_is_harmless_at_run_time() {
    let outcome = script("done({a: 1}); return;");
    assert_eq!(outcome.result, Ok(json!({"a": 1})));
}

#[test]
fn promises_settle_before_the_step_ends() {
    let outcome = script("Promise.resolve(41).then(n => done({n: n + 1}));");
    assert_eq!(outcome.result, Ok(json!({"n": 42})));
    let outcome = script("(async () => { const v = await Promise.resolve('x'); done({v}); })();");
    assert_eq!(outcome.result, Ok(json!({"v": "x"})));
}

#[test]
fn unhandled_rejection_without_done_fails_with_its_reason() {
    let outcome = script("Promise.reject(new Error('nope'));");
    assert_eq!(
        thrown_message(&outcome),
        "Unhandled promise rejection: nope"
    );
}

// ---- inputs --------------------------------------------------------------------------------

#[test]
fn inputs_are_visible_and_deep_frozen() {
    let input = ScriptInput {
        trigger: json!({"event": {"objectId": "42", "tags": ["a"]}}),
        steps: json!({"previous": {"id": 7}}),
        info: json!({"formulaId": 1}),
        config: json!({"to": "x@y.z"}),
    };
    let body = r#"
        let attempts = [];
        for (const f of [
            () => { trigger.event.objectId = 'changed'; },
            () => { trigger.event.tags.push('b'); },
            () => { steps.previous.extra = 1; },
            () => { config.to = 'other'; },
            () => { delete info.formulaId; },
            () => { trigger = {}; },
        ]) {
            try { f(); attempts.push('allowed'); } catch (e) { attempts.push(e.name); }
        }
        done({id: trigger.event.objectId, prev: steps.previous.id, info: info.formulaId, to: config.to, attempts});
    "#;
    let outcome = sandbox().run(ScriptKind::Script, body, &input);
    assert_eq!(
        outcome.result,
        Ok(json!({
            "id": "42", "prev": 7, "info": 1, "to": "x@y.z",
            "attempts": ["TypeError", "TypeError", "TypeError", "TypeError", "TypeError", "TypeError"]
        }))
    );
}

// ---- filters -------------------------------------------------------------------------------

#[test]
fn filter_returns_booleans() {
    assert_eq!(filter("done(false);").result, Ok(json!(false)));
    let input = ScriptInput {
        trigger: json!({"n": 5}),
        ..ScriptInput::default()
    };
    let outcome = sandbox().run(ScriptKind::Filter, "done(trigger.n > 3);", &input);
    assert_eq!(outcome.result, Ok(json!(true)));
}

#[test]
fn filter_rejects_non_booleans_clearly() {
    let outcome = filter("done('yes');");
    let f = failure(&outcome);
    assert_eq!(
        f,
        &ScriptFailure::InvalidFilterResult {
            got: "\"yes\"".into()
        }
    );
    assert_eq!(
        f.to_string(),
        "A filter must call done(true) or done(false); it called done(\"yes\")"
    );
    assert!(matches!(
        failure(&filter("done(1);")),
        ScriptFailure::InvalidFilterResult { got } if got == "1"
    ));
    assert!(matches!(
        failure(&filter("done();")),
        ScriptFailure::InvalidFilterResult { got } if got.is_empty()
    ));
}

// ---- console -------------------------------------------------------------------------------

#[test]
fn console_is_captured_in_order_and_kept_out_of_the_result() {
    let outcome = script(
        r#"console.log('hello', 42, {a: [1, 'x']});
           console.info('info');
           console.warn('%s is %d years', 'Bob', 42.9);
           console.error(new TypeError('bad'));
           console.debug(null, undefined, true, [1, 2]);
           done({ok: true});"#,
    );
    assert_eq!(outcome.result, Ok(json!({"ok": true})));
    assert_eq!(
        outcome.console,
        [
            r#"hello 42 {"a":[1,"x"]}"#,
            "info",
            "Bob is 42.9 years",
            "TypeError: bad",
            "null undefined true [1,2]",
        ]
    );
}

#[test]
fn console_is_kept_when_the_step_fails() {
    let outcome = script("console.log('before'); throw 'after';");
    assert_eq!(outcome.console, ["before"]);
    assert_eq!(thrown_message(&outcome), "after");
}

#[test]
fn console_is_capped() {
    let outcome = script("for (let i = 0; i < 5000; i++) console.log('line ' + i); done();");
    assert_eq!(outcome.console.len(), 1001);
    assert_eq!(outcome.console[999], "line 999");
    assert!(outcome.console[1000].starts_with("… truncated: 4000 more"));
    assert!(outcome.result.is_ok());
}

#[test]
fn logging_a_cycle_does_not_fail_the_script() {
    let outcome = script("let a = {}; a.a = a; console.log(a); done();");
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.console, ["[object Object]"]);
}

// ---- throw ---------------------------------------------------------------------------------

#[test]
fn throwing_a_string_or_error_fails_with_its_message() {
    assert_eq!(thrown_message(&script("throw 'bad input';")), "bad input");
    let outcome = script("let x = 1;\nthrow new Error('msg');");
    assert_eq!(
        failure(&outcome),
        &ScriptFailure::Thrown {
            message: "msg".into(),
            line: Some(2),
            column: Some(11)
        }
    );
    assert_eq!(
        thrown_message(&script("null.x;")),
        "TypeError: cannot read property 'x' of null"
    );
}

// ---- isolation -----------------------------------------------------------------------------

#[test]
fn no_io_globals_exist() {
    let outcome = script(
        "done([typeof fetch, typeof XMLHttpRequest, typeof process, typeof std, typeof os, \
               typeof setTimeout, typeof setInterval, typeof Buffer, typeof print, typeof scriptArgs, \
               typeof WebSocket, typeof importScripts]);",
    );
    assert_eq!(outcome.result, Ok(json!(vec!["undefined"; 12])));
    // What a script may use.
    let outcome = script(
        "done([typeof Date.now(), typeof Math.random(), typeof JSON, typeof Promise, typeof Map, \
               typeof CE, typeof require, typeof console.log, typeof notify.email]);",
    );
    assert_eq!(
        outcome.result,
        Ok(json!([
            "number", "number", "object", "function", "function", "object", "function", "function",
            "function"
        ]))
    );
}

#[test]
fn network_process_and_file_attempts_fail_clearly() {
    let fetch = script("fetch('https://example.com'); done();");
    assert_eq!(
        thrown_message(&fetch),
        "ReferenceError: fetch is not defined (ferry scripts have no network access: use an httpRequest or elementRequest step)"
    );
    let process = script("done({home: process.env.HOME});");
    assert!(
        thrown_message(&process)
            .starts_with("ReferenceError: process is not defined (ferry scripts have no process")
    );
    let fs = script("const fs = require('fs'); done();");
    assert_eq!(
        thrown_message(&fs),
        "require('fs') is not available in ferry scripts; available modules: util"
    );
    let lodash = script("require('lodash');");
    assert!(thrown_message(&lodash).starts_with("require('lodash') is not available"));
}

#[test]
fn dynamic_import_is_not_a_way_out() {
    let outcome =
        script("import('fs').then(() => done({loaded: true}), e => done({error: String(e)}));");
    let value = outcome.result.unwrap();
    assert!(value.get("loaded").is_none(), "{value}");
}

#[test]
fn globals_do_not_leak_between_runs() {
    let sandbox = sandbox();
    let first = sandbox.run(
        ScriptKind::Script,
        "globalThis.leak = 'secret'; Object.prototype.polluted = 1; done();",
        &ScriptInput::default(),
    );
    assert!(first.result.is_ok());
    let second = sandbox.run(
        ScriptKind::Script,
        "done({leak: typeof leak, polluted: ({}).polluted === undefined});",
        &ScriptInput::default(),
    );
    assert_eq!(
        second.result,
        Ok(json!({"leak": "undefined", "polluted": true}))
    );
}

// ---- limits --------------------------------------------------------------------------------

fn assert_times_out(source: &str) {
    let sandbox = Sandbox::new(short_limits());
    let started = Instant::now();
    let outcome = sandbox.run(ScriptKind::Script, source, &ScriptInput::default());
    let took = started.elapsed();
    assert_eq!(
        outcome.result,
        Err(ScriptFailure::TimedOut {
            limit: Duration::from_millis(300)
        }),
        "{source}"
    );
    assert!(took < Duration::from_secs(3), "{source} took {took:?}");
    assert_still_works(&sandbox);
}

#[test]
fn endless_loops_time_out() {
    assert_times_out("while (true) {}");
    assert_times_out("try { while (true) {} } catch (e) { done({caught: String(e)}); }");
    assert_times_out("[1].forEach(() => { while (true) {} });");
    assert_times_out("function f() { Promise.resolve().then(f); } f();");
}

/// What a flow's executor relies on to run scripts on its async threads: a run held to a budget
/// either gives the outcome an unbudgeted run gives, or, once it has taken the budget, nothing —
/// quickly, even for a script that would run to the wall-time limit or throws a slow error.
#[test]
fn a_run_held_to_a_budget_gives_up_at_the_budget_and_keeps_nothing() {
    let sandbox = Sandbox::new(short_limits());
    let input = ScriptInput {
        trigger: json!({"body": {"n": 20}}),
        ..ScriptInput::default()
    };
    let budget = Duration::from_millis(20);
    let quick = sandbox
        .run_within(
            ScriptKind::Script,
            "console.log('hi'); done({twice: trigger.body.n * 2});",
            &input,
            budget,
        )
        .expect("a short script finishes within the budget");
    assert_eq!(quick.result, Ok(json!({"twice": 40})));
    assert_eq!(quick.console, vec!["hi".to_owned()]);
    let refused = sandbox.run_within(ScriptKind::Filter, "done(1);", &input, budget);
    assert!(
        matches!(&refused, Some(outcome) if outcome.result.is_err()),
        "a failure within the budget is the outcome: {refused:?}"
    );

    for source in [
        "while (true) {}",
        "console.log('lost'); done({early: true}); while (true) {}",
        "throw { get message() { while (true) {} } };",
    ] {
        let started = Instant::now();
        let outcome = sandbox.run_within(ScriptKind::Script, source, &input, budget);
        let took = started.elapsed();
        assert!(outcome.is_none(), "{source}: {outcome:?}");
        assert!(
            took < Duration::from_millis(200),
            "{source} held its thread for {took:?}, far past the budget"
        );
    }
    // The same script without a budget still runs to its real limit and says so.
    let full = sandbox.run(ScriptKind::Script, "while (true) {}", &input);
    assert_eq!(
        full.result,
        Err(ScriptFailure::TimedOut {
            limit: Duration::from_millis(300)
        })
    );
    assert_still_works(&sandbox);
}

#[test]
fn catastrophic_regex_times_out() {
    assert_times_out("/(a+)+$/.test('a'.repeat(40) + '!'); done();");
}

#[test]
fn timeout_message_names_the_limit() {
    let outcome = Sandbox::new(SandboxLimits {
        wall_time: Duration::from_millis(300),
        ..SandboxLimits::default()
    })
    .run(ScriptKind::Script, "while(true){}", &ScriptInput::default());
    assert_eq!(
        failure(&outcome).to_string(),
        "Script execution timed out after 300 ms (limit: step wall time)"
    );
    assert_eq!(
        ScriptFailure::TimedOut {
            limit: SandboxLimits::default().wall_time
        }
        .to_string(),
        "Script execution timed out after 30 s (limit: step wall time)"
    );
}

#[test]
fn memory_bomb_runs_out_of_memory_and_the_engine_recovers() {
    let sandbox = Sandbox::new(short_limits_with_time(Duration::from_secs(10)));
    for source in [
        "let a = []; while (true) a.push(new Array(1e5));",
        "let a = []; try { while (true) a.push(new Array(1e5)); } catch (e) { throw e; }",
        "globalThis.keep = []; while (true) keep.push('x'.repeat(1e5) + Math.random());",
        "let a = []; while (true) a.push('x'.repeat(1e5) + a.length);",
        "const big = 'x'.repeat(64 * 1024 * 1024); done({n: big.length});",
    ] {
        let outcome = sandbox.run(ScriptKind::Script, source, &ScriptInput::default());
        assert_eq!(
            outcome.result,
            Err(ScriptFailure::OutOfMemory {
                limit_bytes: 16 * 1024 * 1024
            }),
            "{source}"
        );
        assert_still_works(&sandbox);
    }
    assert_eq!(
        ScriptFailure::OutOfMemory {
            limit_bytes: SandboxLimits::default().memory_bytes
        }
        .to_string(),
        "Script ran out of memory (limit 64 MiB)"
    );
}

fn short_limits_with_time(wall_time: Duration) -> SandboxLimits {
    SandboxLimits {
        wall_time,
        ..short_limits()
    }
}

#[test]
fn unbounded_recursion_fails_clearly() {
    let sandbox = sandbox();
    let outcome = sandbox.run(
        ScriptKind::Script,
        "function f(n) { return f(n + 1) + 1; } f(0);",
        &ScriptInput::default(),
    );
    let f = failure(&outcome);
    assert_eq!(
        f,
        &ScriptFailure::StackOverflow {
            limit_bytes: 1024 * 1024
        }
    );
    assert_eq!(
        f.to_string(),
        "Script exceeded the maximum call stack size (limit 1 MiB): look for unbounded recursion"
    );
    assert_still_works(&sandbox);
}

#[test]
fn ordinary_recursion_fits_in_the_stack() {
    // Unoptimised builds use ~5x more native stack per call than release builds (~1,600 deep).
    let outcome = script(
        "function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); } done({d: depth(250)});",
    );
    assert_eq!(outcome.result, Ok(json!({"d": 250})));
}

#[test]
fn eight_scripts_run_in_parallel() {
    let sandbox = sandbox();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let sandbox = sandbox.clone();
            std::thread::spawn(move || {
                let input = ScriptInput {
                    trigger: json!({"i": i}),
                    ..ScriptInput::default()
                };
                let mut results = Vec::new();
                for _ in 0..20 {
                    let outcome = sandbox.run(
                        ScriptKind::Script,
                        "let s = 0; for (let k = 0; k < 10000; k++) s += k; done({i: trigger.i, s, h: CE.md5(String(trigger.i))});",
                        &input,
                    );
                    results.push(outcome.result.unwrap());
                }
                (i, results)
            })
        })
        .collect();
    for handle in handles {
        let (i, results) = handle.join().unwrap();
        for r in results {
            assert_eq!(r["i"], i);
            assert_eq!(r["s"], 49995000);
        }
    }
}

// ---- CE helpers ----------------------------------------------------------------------------

#[test]
fn ce_hashes_and_base64_match_known_vectors() {
    let outcome = script(
        r#"done({
            md5: CE.md5('hello'),
            b64: CE.b64('héllo wörld ✓'),
            back: CE.decode64(CE.b64('héllo wörld ✓')),
            plain: CE.b64('hello'),
        });"#,
    );
    assert_eq!(
        outcome.result,
        Ok(json!({
            "md5": "5d41402abc4b2a76b9719d911017c592",
            "b64": "aMOpbGxvIHfDtnJsZCDinJM=",
            "back": "héllo wörld ✓",
            "plain": "aGVsbG8=",
        }))
    );
}

#[test]
fn ce_hmac_matches_rfc4231_and_rfc2202() {
    // RFC 4231 test case 2 (key "Jefe"), and RFC 2202 test case 2 for SHA-1 and MD5.
    let outcome = script(
        r#"const key = 'Jefe', data = 'what do ya want for nothing?';
        done({
            sha256hex: CE.hmac('sha256')('hex')(key, data),
            sha256hexShort: CE.hmacSha256Hex(key, data),
            sha512hex: CE.hmac('sha512')('hex')(key, data),
            sha256b64: CE.hmacSha256Base64(key, data),
            sha1hex: CE.hmacSha1Hex(key, data),
            sha1b64: CE.hmacSha1base64(key, data),
            md5hex: CE.hmacMd5Hex(key, data),
        });"#,
    );
    assert_eq!(
        outcome.result,
        Ok(json!({
            "sha256hex": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "sha256hexShort": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "sha512hex": "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            "sha256b64": "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=",
            "sha1hex": "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            "sha1b64": "7/zfauXrL6LSdBbV8YTfnCWafHk=",
            "md5hex": "750c783e6ab0b503eaa86e310a5db738",
        }))
    );
}

#[test]
fn ce_hmac_rejects_unknown_algorithms() {
    let outcome = script("CE.hmac('sha3')('hex')('k', 'd');");
    assert_eq!(
        thrown_message(&outcome),
        "TypeError: CE.hmac: unsupported algorithm 'sha3' (supported: md5, sha1, sha224, sha256, sha384, sha512)"
    );
}

#[test]
fn ce_random_helpers() {
    let outcome =
        script("done({s: CE.randomString(), l: CE.randomString(25).length, e: CE.randomEmail()});");
    let value = outcome.result.unwrap();
    assert_eq!(value["s"].as_str().unwrap().len(), 10);
    assert_eq!(value["l"], 25);
    assert!(value["e"].as_str().unwrap().contains('@'));
}

#[test]
fn util_format_and_inspect() {
    let outcome = script(
        "const util = require('util'); done({f: util.format('%s=%j', 'a', {b: 1}), i: util.inspect('x')});",
    );
    assert_eq!(outcome.result, Ok(json!({"f": "a={\"b\":1}", "i": "'x'"})));
}

#[test]
fn notify_email_is_recorded_not_sent() {
    let outcome = script("notify.email('a@b.c', 'Hi', 'Body'); done();");
    assert_eq!(outcome.notifications.len(), 1);
    assert_eq!(outcome.notifications[0].to, "a@b.c");
    assert_eq!(outcome.notifications[0].subject, "Hi");
}

// ---- save-time check -----------------------------------------------------------------------

#[test]
fn check_accepts_the_seed_script_and_a_filter() {
    assert_eq!(sandbox().check(ScriptKind::Script, SEED_SCRIPT), Ok(()));
    assert_eq!(
        sandbox().check(ScriptKind::Filter, "done(trigger.n > 3);"),
        Ok(())
    );
}

#[test]
fn check_reports_syntax_errors_at_the_users_line_and_column() {
    let problem = sandbox()
        .check(ScriptKind::Script, "let a = 1;\nlet b = ;\ndone({a});")
        .unwrap_err();
    assert_eq!(problem.kind, ProblemKind::Syntax);
    assert_eq!(problem.message, "unexpected token in expression: ';'");
    assert_eq!((problem.line, problem.column), (Some(2), Some(9)));

    let problem = sandbox()
        .check(ScriptKind::Script, "done({a: 1}")
        .unwrap_err();
    assert_eq!(problem.kind, ProblemKind::Syntax);
    assert_eq!(problem.line, Some(1));
}

#[test]
fn run_reports_syntax_errors_too() {
    let outcome = script("\n\n  done({a: 1)");
    match failure(&outcome) {
        ScriptFailure::Syntax { line, .. } => assert_eq!(*line, 3),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn check_requires_done() {
    let problem = sandbox()
        .check(
            ScriptKind::Script,
            "let a = 1; // done(a)\nconsole.log('done(');",
        )
        .unwrap_err();
    assert_eq!(problem.kind, ProblemKind::MissingDone);
    assert!(problem.message.contains("done()"), "{}", problem.message);
}

#[test]
fn check_rejects_top_level_return_but_not_in_helpers() {
    let problem = sandbox()
        .check(
            ScriptKind::Script,
            "if (trigger.x) {\n  return;\n}\ndone({});",
        )
        .unwrap_err();
    assert_eq!(problem.kind, ProblemKind::TopLevelReturn);
    assert_eq!((problem.line, problem.column), (Some(2), Some(3)));

    let helpers = "function pick(o) { return o.a; }\nconst g = x => { return x * 2; };\n\
                   class C { m() { return 1; } }\ndone({a: pick({a: 1}), b: g(2)});";
    assert_eq!(sandbox().check(ScriptKind::Script, helpers), Ok(()));
}

#[test]
fn check_runs_none_of_the_users_code() {
    // A body that would spin forever is still checked quickly.
    let sandbox = Sandbox::new(short_limits());
    let started = Instant::now();
    assert_eq!(
        sandbox.check(ScriptKind::Script, "while (true) {}\ndone();"),
        Ok(())
    );
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[test]
fn inputs_keep_their_types_and_key_order() {
    let input = ScriptInput {
        trigger: json!({"z": 1, "a": 2.5, "big": 9007199254740993u64, "neg": -3000000000i64, "s": "é", "n": null, "b": false, "list": [1, "two", {"three": 3}]}),
        ..ScriptInput::default()
    };
    let outcome = sandbox().run(
        ScriptKind::Script,
        "done({keys: Object.keys(trigger), types: Object.values(trigger).map(v => typeof v), same: trigger});",
        &input,
    );
    let value = outcome.result.unwrap();
    assert_eq!(
        value["keys"],
        json!(["z", "a", "big", "neg", "s", "n", "b", "list"])
    );
    assert_eq!(
        value["types"],
        json!([
            "number", "number", "number", "number", "string", "object", "boolean", "object"
        ])
    );
    assert_eq!(value["same"]["list"], json!([1, "two", {"three": 3}]));
    assert_eq!(value["same"]["neg"], json!(-3000000000i64));
}

#[test]
fn absurdly_deep_input_fails_clearly() {
    let mut deep = json!(1);
    for _ in 0..300 {
        deep = json!([deep]);
    }
    let input = ScriptInput {
        trigger: deep,
        ..ScriptInput::default()
    };
    let outcome = sandbox().run(ScriptKind::Script, "done();", &input);
    assert!(thrown_message(&outcome).contains("nested more than 256 levels"));
}

#[test]
fn zero_limits_do_not_mean_unlimited() {
    let sandbox = Sandbox::new(SandboxLimits {
        wall_time: Duration::from_secs(5),
        memory_bytes: 0,
        max_stack_bytes: 0,
    });
    let outcome = sandbox.run(
        ScriptKind::Script,
        "let a = []; while (true) a.push('x'.repeat(1e4) + a.length);",
        &ScriptInput::default(),
    );
    assert_eq!(
        outcome.result,
        Err(ScriptFailure::OutOfMemory {
            limit_bytes: 1024 * 1024
        })
    );
    let outcome = sandbox.run(
        ScriptKind::Script,
        "function f() { return f() + 1; } f();",
        &ScriptInput::default(),
    );
    assert_eq!(
        outcome.result,
        Err(ScriptFailure::StackOverflow {
            limit_bytes: 64 * 1024
        })
    );
}

// ---- engines built ahead -------------------------------------------------------------------

#[test]
fn an_engine_built_ahead_carries_nothing_over_from_the_run_before() {
    let sandbox = sandbox();
    let first = sandbox.run(
        ScriptKind::Script,
        "globalThis.leak = 'secret'; Object.prototype.polluted = true; done({});",
        &ScriptInput::default(),
    );
    assert_eq!(first.result, Ok(json!({})));
    sandbox.prepare_next_run_on_this_thread();
    let second = sandbox.run(
        ScriptKind::Script,
        "done({leak: typeof leak, polluted: typeof ({}).polluted});",
        &ScriptInput::default(),
    );
    assert_eq!(
        second.result,
        Ok(json!({"leak": "undefined", "polluted": "undefined"}))
    );
}

#[test]
fn an_engine_built_ahead_starts_its_clock_when_the_run_starts() {
    let sandbox = Sandbox::new(short_limits());
    sandbox.prepare_next_run_on_this_thread();
    std::thread::sleep(short_limits().wall_time * 2);
    let outcome = sandbox.run(
        ScriptKind::Script,
        "let n = 0; for (let i = 0; i < 1000; i++) n += i; done({n});",
        &ScriptInput::default(),
    );
    assert_eq!(outcome.result, Ok(json!({"n": 499500})));
}

#[test]
fn an_engine_built_ahead_for_other_limits_is_not_used() {
    Sandbox::default().prepare_next_run_on_this_thread();
    let small = Sandbox::new(SandboxLimits {
        memory_bytes: 2 * 1024 * 1024,
        ..SandboxLimits::default()
    });
    let outcome = small.run(
        ScriptKind::Script,
        "const a = []; while (true) a.push('x'.repeat(1024));",
        &ScriptInput::default(),
    );
    assert!(
        matches!(
            failure(&outcome),
            ScriptFailure::OutOfMemory { limit_bytes } if *limit_bytes == 2 * 1024 * 1024
        ),
        "{:?}",
        outcome.result
    );
}

fn input_with(trigger: serde_json::Value) -> ScriptInput {
    ScriptInput {
        trigger,
        ..ScriptInput::default()
    }
}

/// Leaves `trigger.mark` in a global and on `Object.prototype`, and reports what an earlier run
/// left in either place.
const LEAVES_A_MARK: &str = "const seen = { global: typeof globalMark === 'undefined' ? null : globalMark, \
    prototype: ({}).protoMark === undefined ? null : ({}).protoMark }; \
    globalThis.globalMark = trigger.mark; \
    Object.defineProperty(Object.prototype, 'protoMark', { value: trigger.mark, configurable: true, writable: true }); \
    done(seen);";

#[test]
fn a_warm_engine_serves_only_its_owner_and_starts_each_run_without_the_last_runs_globals() {
    let sandbox = sandbox();
    let run = |owner: &str, mark: i64| {
        let outcome = sandbox.run_warm(
            ScriptKind::Script,
            LEAVES_A_MARK,
            &input_with(json!({ "mark": mark })),
            owner,
        );
        outcome.result.expect("the script succeeds")
    };
    // First run of owner A: nothing to see.
    assert_eq!(
        run("org-1/flow-1", 1),
        json!({"global": null, "prototype": null})
    );
    // Another owner, same body: a different engine, so neither the global nor the prototype
    // change of A's run is visible.
    assert_eq!(
        run("org-2/flow-9", 2),
        json!({"global": null, "prototype": null})
    );
    // A's next run reuses A's engine: the global it added was deleted after the run; what its
    // own body put on a built-in prototype is still there (documented on `run_warm`).
    assert_eq!(
        run("org-1/flow-1", 3),
        json!({"global": null, "prototype": 1})
    );
    // A fresh run (`run`, no owner) never sees a warm engine.
    let fresh = sandbox.run(
        ScriptKind::Script,
        LEAVES_A_MARK,
        &input_with(json!({ "mark": 4 })),
    );
    assert_eq!(
        fresh.result.unwrap(),
        json!({"global": null, "prototype": null})
    );
}

#[test]
fn a_warm_engine_is_dropped_after_a_run_that_fails_or_times_out() {
    let sandbox = Sandbox::new(short_limits());
    let body = "const seen = ({}).mark === undefined ? null : ({}).mark; \
        Object.defineProperty(Object.prototype, 'mark', { value: trigger.n, configurable: true }); \
        if (trigger.fail === 'throw') throw new Error('asked to fail'); \
        if (trigger.fail === 'loop') { while (true) {} } \
        done({seen});";
    let run = |trigger: serde_json::Value| {
        sandbox.run_warm(
            ScriptKind::Script,
            body,
            &input_with(trigger),
            "org-1/flow-1",
        )
    };
    assert_eq!(run(json!({"n": 1})).result.unwrap(), json!({"seen": null}));
    assert_eq!(run(json!({"n": 2})).result.unwrap(), json!({"seen": 1}));
    assert_eq!(
        thrown_message(&run(json!({"n": 3, "fail": "throw"}))),
        "asked to fail"
    );
    // The failed run's engine was not kept: the next run starts from a fresh one.
    assert_eq!(run(json!({"n": 4})).result.unwrap(), json!({"seen": null}));
    assert!(matches!(
        failure(&run(json!({"n": 5, "fail": "loop"}))),
        ScriptFailure::TimedOut { .. }
    ));
    assert_eq!(run(json!({"n": 6})).result.unwrap(), json!({"seen": null}));
}

#[test]
fn a_warm_engine_keeps_the_time_and_memory_limits_of_every_run() {
    let sandbox = Sandbox::new(short_limits());
    let body = "if (trigger.bomb) { const a = []; while (true) a.push('x'.repeat(1024)); } \
        if (trigger.loop) { while (true) {} } done({ok: true});";
    let run = |trigger: serde_json::Value| {
        sandbox.run_warm(
            ScriptKind::Script,
            body,
            &input_with(trigger),
            "org-1/flow-1",
        )
    };
    for _ in 0..3 {
        assert_eq!(run(json!({})).result.unwrap(), json!({"ok": true}));
    }
    let started = Instant::now();
    assert!(matches!(
        failure(&run(json!({"loop": true}))),
        ScriptFailure::TimedOut { .. }
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run(json!({})).result.unwrap(), json!({"ok": true}));
    assert_eq!(run(json!({})).result.unwrap(), json!({"ok": true}));
    assert!(matches!(
        failure(&run(json!({"bomb": true}))),
        ScriptFailure::OutOfMemory { .. }
    ));
    assert_eq!(run(json!({})).result.unwrap(), json!({"ok": true}));
}

#[test]
fn a_warm_engine_gives_each_run_its_own_inputs_console_and_result() {
    let sandbox = sandbox();
    let body = "console.log('run', trigger.n); done({n: trigger.n, steps: steps.x === undefined ? null : steps.x});";
    for n in 0..5 {
        let outcome = sandbox.run_warm(
            ScriptKind::Script,
            body,
            &ScriptInput {
                trigger: json!({"n": n}),
                steps: if n % 2 == 0 {
                    json!({"x": n * 10})
                } else {
                    json!({})
                },
                ..ScriptInput::default()
            },
            "org-1/flow-1",
        );
        let steps = if n % 2 == 0 {
            json!(n * 10)
        } else {
            json!(null)
        };
        assert_eq!(outcome.result.unwrap(), json!({"n": n, "steps": steps}));
        assert_eq!(outcome.console, vec![format!("run {n}")]);
    }
}

#[test]
fn a_global_the_sweep_cannot_remove_sends_the_next_run_to_a_fresh_engine() {
    let sandbox = sandbox();
    let body = "const seen = typeof stuck === 'undefined' ? null : stuck; \
        if (trigger.stick === 'name') Object.defineProperty(globalThis, 'stuck', { value: trigger.n }); \
        if (trigger.stick === 'symbol') globalThis[Symbol('stuck')] = trigger.n; \
        done({seen});";
    let run = |trigger: serde_json::Value| {
        sandbox
            .run_warm(
                ScriptKind::Script,
                body,
                &input_with(trigger),
                "org-1/flow-1",
            )
            .result
            .unwrap()
    };
    assert_eq!(run(json!({"n": 1, "stick": "name"})), json!({"seen": null}));
    assert_eq!(run(json!({"n": 2})), json!({"seen": null}));
    assert_eq!(
        run(json!({"n": 3, "stick": "symbol"})),
        json!({"seen": null})
    );
    assert_eq!(run(json!({"n": 4})), json!({"seen": null}));
}
