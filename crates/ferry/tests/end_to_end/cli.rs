//! The flows CLI against a running sandbox: import, instantiate, run (following the steps),
//! show, export — everything without curl.

use crate::flow_support::seed_flow;
use crate::support::Sandbox;
use serde_json::Value;

fn run(sandbox: &Sandbox, args: &[&str]) -> String {
    let dir = sandbox.dir.path().to_str().unwrap().to_owned();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--data-dir", &dir]);
    let (ok, stdout, stderr) = sandbox.ferry_command(&full);
    assert!(ok, "ferry {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

#[tokio::test]
async fn a_user_runs_the_seed_flow_from_the_command_line() {
    let sandbox = Sandbox::start().await;
    let gmail = sandbox.connect_gmail("cli mail", &sandbox.account(0)).await;
    let file = sandbox.dir.path().join("seed-flow.json");
    std::fs::write(&file, seed_flow(&sandbox.account(1)).to_string()).unwrap();

    let imported = run(&sandbox, &["flows", "import", file.to_str().unwrap()]);
    let flow_id: String = imported.split_whitespace().nth(1).unwrap().to_owned();
    assert!(
        imported.contains("\"Send an email with Gmail\" created"),
        "{imported}"
    );
    let listed = run(&sandbox, &["flows", "list"]);
    assert!(
        listed.contains("Send an email with Gmail") && listed.contains("manual"),
        "{listed}"
    );

    let gmail_id = gmail["id"].to_string();
    let instantiated = run(
        &sandbox,
        &[
            "flows",
            "instantiate",
            &flow_id,
            "--name",
            "from the CLI",
            "--set",
            &format!("gmail={gmail_id}"),
        ],
    );
    let instance_id = instantiated.split_whitespace().nth(2).unwrap().to_owned();

    let ran = run(
        &sandbox,
        &["flows", "run", &instance_id, "--args", "{\"customer\": 7}"],
    );
    assert!(ran.contains("prepareSendEmailToCustomer"), "{ran}");
    assert!(ran.contains("sendEmailToCustomer"), "{ran}");
    assert!(ran.trim_end().ends_with("success"), "{ran}");

    let listed = run(&sandbox, &["executions", "list", &instance_id, "--json"]);
    let executions: Value = serde_json::from_str(&listed).unwrap();
    let execution_id = executions[0]["id"].to_string();
    let shown = run(&sandbox, &["executions", "show", &execution_id]);
    assert!(
        shown.contains("success") && shown.contains("trigger"),
        "{shown}"
    );

    let exported = run(&sandbox, &["flows", "export", &flow_id]);
    let exported: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(exported["steps"][0]["name"], "prepareSendEmailToCustomer");

    let broken = sandbox.dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"name": "broken", "steps": [{"name": "s", "type": "script", "properties": {"body": "nope"}}]}"#).unwrap();
    let dir = sandbox.dir.path().to_str().unwrap().to_owned();
    let (ok, _, stderr) = sandbox.ferry_command(&[
        "flows",
        "import",
        broken.to_str().unwrap(),
        "--data-dir",
        &dir,
    ]);
    assert!(!ok);
    assert!(stderr.contains("done()"), "the problem is shown: {stderr}");
}
