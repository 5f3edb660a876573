//! Cost of the parse side of mail: a raw RFC 822 message entering a mailbox through the public
//! [`Emulator::deliver`] — MIME parsing, the Gmail payload tree, snippet, search text and
//! attachments, plus the mailbox insert — for a plain message like the one ferry builds for the
//! Gmail walkthrough, and a multipart one with an HTML alternative and a 100 KB attachment.
//!
//! Run with `cargo bench -p google-emulator --bench mime_parse`.

use std::time::{Duration, Instant};

use base64::Engine;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use google_emulator::{AccountSeed, Emulator, EmulatorConfig};

const ACCOUNT: &str = "bench@example.com";
/// Messages per fresh mailbox, so a long run does not measure an ever larger mailbox.
const PER_MAILBOX: u64 = 1_000;

const PLAIN: &str = "From: noreply-support@example.com\r\n\
To: bench@example.com\r\n\
Subject: Integration Builder Gmail Connector\r\n\
Date: Tue, 25 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <bench-1@ferry.local>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
Integration Builder is cool! Try it out!\r\n";

fn multipart() -> Vec<u8> {
    let attachment: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&attachment);
    let mut wrapped = String::new();
    for line in encoded.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        wrapped.push_str("\r\n");
    }
    format!(
        "From: =?utf-8?q?Zo=C3=AB_Dupr=C3=A9?= <zoe@example.com>\r\n\
To: bench@example.com, Ada Lovelace <ada@example.com>\r\n\
Subject: =?utf-8?q?R=C3=A9union_=E2=80=94_ordre_du_jour?=\r\n\
Date: Tue, 25 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <bench-2@ferry.local>\r\n\
In-Reply-To: <abc@mail.example.com>\r\n\
References: <abc@mail.example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
{text}\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
{html}\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: application/pdf; name=\"report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{wrapped}--outer--\r\n",
        text = "Bonjour =C3=A0 tous, voici l'ordre du jour.\r\n".repeat(20),
        html = "<p>Bonjour =C3=A0 tous, voici l'ordre du jour.</p>\r\n".repeat(20),
    )
    .into_bytes()
}

fn fresh_emulator() -> Emulator {
    Emulator::new(EmulatorConfig {
        accounts: vec![AccountSeed {
            email: ACCOUNT.into(),
            display_name: "Bench".into(),
        }],
        seed_demo_mail: false,
        ..EmulatorConfig::default()
    })
}

/// Delivers `raw` `iters` times, into a fresh mailbox every [`PER_MAILBOX`] messages; only the
/// deliveries are timed.
fn deliver_many(raw: &[u8], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let batch = left.min(PER_MAILBOX);
        let emulator = fresh_emulator();
        let copies: Vec<Vec<u8>> = (0..batch).map(|_| raw.to_vec()).collect();
        let started = Instant::now();
        for copy in copies {
            emulator.deliver(ACCOUNT, copy).expect("delivered");
        }
        total += started.elapsed();
        left -= batch;
    }
    total
}

fn mime_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("mime_parse");
    group.throughput(Throughput::Bytes(PLAIN.len() as u64));
    group.bench_function("deliver_walkthrough_plain", |b| {
        b.iter_custom(|iters| deliver_many(PLAIN.as_bytes(), iters))
    });
    let multipart = multipart();
    group.throughput(Throughput::Bytes(multipart.len() as u64));
    group.bench_function("deliver_multipart_attachment_100kb", |b| {
        b.iter_custom(|iters| deliver_many(&multipart, iters))
    });
    group.finish();
}

criterion_group!(benches, mime_parse);
criterion_main!(benches);
