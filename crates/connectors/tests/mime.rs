//! Every shape of message the Gmail send hook builds passes an independent checker:
//! `tools/mimecheck.py` (Python's email package with strict policy + the RFC 5322 ABNF).

use ferry_connectors::{Attachment, OutgoingMail, compose_message, parse_address_list};
use std::path::PathBuf;
use std::process::Command;

fn mail(to: &str, subject: &str) -> OutgoingMail {
    OutgoingMail {
        from: Some(
            parse_address_list("from", "Ada Lovelace <ada@example.com>")
                .unwrap()
                .remove(0),
        ),
        to: parse_address_list("to", to).unwrap(),
        subject: Some(subject.to_owned()),
        text: Some("Hello,\n\nthis is a test.\n".to_owned()),
        ..OutgoingMail::default()
    }
}

fn variants() -> Vec<(&'static str, OutgoingMail)> {
    let mut non_ascii = mail(
        "Zoë Ünal <zoe@example.com>, \"Doe, Jane\" <jane@example.com>",
        "Grüße aus Köln — ✓",
    );
    non_ascii.text =
        Some("Ça va? Ünïcödé body, and a very long line: ".to_owned() + &"word ".repeat(400));
    let mut html = mail("b@example.com", "HTML");
    html.html = Some("<p>Hello <b>world</b></p>".into());
    let mut attachments = mail("b@example.com", "Files");
    attachments.attachments = vec![
        Attachment {
            filename: "report.pdf".into(),
            content_type: "application/pdf".into(),
            data: (0..5000u32).map(|i| (i % 256) as u8).collect(),
        },
        Attachment {
            filename: "notes — été.txt".into(),
            content_type: "text/plain".into(),
            data: "plain text\r\nwith lines\n".as_bytes().to_vec(),
        },
    ];
    let mut reply = mail("b@example.com", "Re: Files");
    reply.in_reply_to = Some("<orig.1@example.com>".into());
    reply.references = vec!["<root@example.com>".into(), "<orig.1@example.com>".into()];
    reply.cc = parse_address_list("cc", "c@example.com").unwrap();
    reply.bcc = parse_address_list("bcc", "d@example.com").unwrap();
    let mut empty = mail("b@example.com", "");
    empty.text = None;
    vec![
        ("plain", mail("b@example.com", "Plain")),
        ("non-ascii", non_ascii),
        ("html", html),
        ("attachments", attachments),
        ("reply", reply),
        ("empty", empty),
    ]
}

#[test]
fn every_message_shape_passes_the_independent_checker() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, mail) in variants() {
        let raw = compose_message(&mail, 1_764_000_000, &format!("{name}.1@example.com")).unwrap();
        let path = dir.path().join(format!("{name}.eml"));
        std::fs::write(&path, raw).unwrap();
        paths.push(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/mimecheck.py");
    let output = Command::new("python3").arg(script).args(&paths).output();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let output = match output {
        Ok(output)
            if !ci && String::from_utf8_lossy(&output.stderr).contains("No module named") =>
        {
            eprintln!("mimecheck skipped: pip install abnf==2.9.1");
            return;
        }
        Ok(output) => output,
        Err(error) if !ci => {
            eprintln!("mimecheck skipped: {error}");
            return;
        }
        Err(error) => panic!("python3 is needed: {error}"),
    };
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(report.matches(": OK").count(), paths.len(), "{report}");
}
