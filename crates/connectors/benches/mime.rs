//! Cost of building the RFC 5322 / MIME message that Gmail's send receives (the `gmail_mime`
//! hook's [`compose_message`]): the Gmail walkthrough's plain message, one with non-ASCII headers
//! (RFC 2047) and an HTML alternative, and one with a 100 KB attachment.
//!
//! Run with `cargo bench -p ferry-connectors --bench mime`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferry_connectors::{
    Attachment, MailAddress, OutgoingMail, compose_message, parse_address_list,
};

fn address(email: &str, name: Option<&str>) -> MailAddress {
    MailAddress {
        name: name.map(str::to_owned),
        email: email.to_owned(),
    }
}

/// The seed's `prepareSendEmailToCustomer`: subject, to, from, data.
fn walkthrough() -> OutgoingMail {
    OutgoingMail {
        from: Some(address("noreply-support@example.com", None)),
        to: vec![address("lbrenman@example.com", None)],
        subject: Some("Integration Builder Gmail Connector".into()),
        text: Some("Integration Builder is cool! Try it out!".into()),
        ..OutgoingMail::default()
    }
}

fn mime(c: &mut Criterion) {
    let mut group = c.benchmark_group("mime_build");
    let date = 1_764_000_000;

    let plain = walkthrough();
    group.bench_function("walkthrough_plain", |b| {
        b.iter(|| compose_message(black_box(&plain), date, "bench@ferry.local").expect("built"))
    });

    let international = OutgoingMail {
        from: Some(address("zoe@example.com", Some("Zoë Dupré"))),
        to: vec![
            address("jose@example.com", Some("José Núñez")),
            address("ada@example.com", Some("Ada Lovelace")),
        ],
        cc: vec![address("team@example.com", None)],
        subject: Some("Réunion — ordre du jour ✓".into()),
        text: Some("Bonjour à tous,\n\nvoici l'ordre du jour.\n".repeat(20)),
        html: Some("<p>Bonjour à tous,</p><p>voici l'ordre du jour.</p>".repeat(20)),
        in_reply_to: Some("<abc@mail.example.com>".into()),
        references: vec!["<abc@mail.example.com>".into()],
        ..OutgoingMail::default()
    };
    group.bench_function("non_ascii_text_and_html", |b| {
        b.iter(|| {
            compose_message(black_box(&international), date, "bench@ferry.local").expect("built")
        })
    });

    let attachment = OutgoingMail {
        attachments: vec![Attachment {
            filename: "report.pdf".into(),
            content_type: "application/pdf".into(),
            data: (0..100 * 1024).map(|i| (i % 251) as u8).collect(),
        }],
        ..walkthrough()
    };
    let built = compose_message(&attachment, date, "bench@ferry.local").expect("built");
    assert!(
        built.len() > 4 * 100 * 1024 / 3,
        "the attachment is in the message, base64-encoded"
    );
    group.throughput(Throughput::Bytes(100 * 1024));
    group.bench_function("attachment_100kb", |b| {
        b.iter(|| {
            compose_message(black_box(&attachment), date, "bench@ferry.local").expect("built")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("mime_addresses");
    group.bench_function("parse_address_list_3", |b| {
        let text = "\"José Núñez\" <jose@example.com>, ada@example.com, Zoë <zoe@example.com>";
        b.iter(|| parse_address_list("to", black_box(text)).expect("parsed"))
    });
    group.finish();
}

criterion_group!(benches, mime);
criterion_main!(benches);
