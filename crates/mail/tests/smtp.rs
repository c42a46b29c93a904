//! The SMTP mailer against a real SMTP server (aiosmtpd, started per test
//! from `support/smtp_server.py`). Skipped with a note when
//! `BECKON_TEST_SMTP_PYTHON` is unset; `.ci/run` sets it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/smtp_server.rs"]
mod smtp_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use beckon_mail::{LettreMailer, MailConfig, Transport};
use beckon_ports::{
    Email, InviteEmail, InviteToken, MailError, Mailer, OutboxId, TenantName, UserName,
};
use chrono::{TimeZone, Utc};
use smtp_server::{Options, SmtpServer, free_port, header, plain_url};
use uuid::Uuid;

/// Short enough that a test never hangs for long, long enough for a slow CI.
const TIMEOUT: Duration = Duration::from_secs(5);

fn email_to(to: &str) -> InviteEmail {
    let mut token = [0u8; 32];
    token[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    InviteEmail {
        locale: beckon_ports::Locale::En,
        to: Email::parse(to).unwrap(),
        to_name: Some(UserName::parse("Ada Lovelace").unwrap()),
        tenant_name: TenantName::parse("Acme").unwrap(),
        token: InviteToken::from_bytes(token),
        expires_at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
    }
}

fn mailer(url: &str) -> LettreMailer {
    let Transport::Smtp(target) = Transport::parse(url).unwrap() else {
        panic!("not an SMTP URL: {url}");
    };
    LettreMailer::new(
        Transport::Smtp(target.with_timeout(TIMEOUT)),
        MailConfig::default(),
    )
    .unwrap()
}

fn new_id() -> OutboxId {
    OutboxId::from_uuid(Uuid::now_v7())
}

fn accept_link(email: &InviteEmail) -> String {
    MailConfig::default().accept_link(email.token.expose())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_over_smtp_arrives_with_its_subject_both_parts_the_link_and_the_message_id()
{
    let Some(python) = smtp_server::python() else {
        return;
    };
    let server = SmtpServer::start(&python);
    let mailer = mailer(&server.url());
    let (id, email) = (new_id(), email_to("ada@example.com"));

    mailer.send(id, &email).await.unwrap();

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let m = &messages[0];
    assert_eq!(
        header(m, "Message-ID"),
        Some(format!("<{}@localhost>", id.as_uuid().hyphenated()))
    );
    assert_eq!(
        header(m, "Subject").as_deref(),
        Some("You're invited to join Acme")
    );
    assert_eq!(
        header(m, "To").as_deref(),
        Some("\"Ada Lovelace\" <ada@example.com>")
    );
    assert_eq!(
        header(m, "From").as_deref(),
        Some("Beckon <no-reply@localhost>")
    );
    assert!(header(m, "Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")));
    assert!(m.contains("Content-Type: text/plain; charset=utf-8"), "{m}");
    assert!(m.contains("Content-Type: text/html; charset=utf-8"), "{m}");
    let link = accept_link(&email);
    // Once as a line of the text part, twice in the HTML part (href, text).
    assert!(m.contains(&format!("\r\n{link}\r\n")), "{m}");
    assert!(m.contains(&format!("<a href=\"{link}\">{link}</a>")), "{m}");
    assert!(m.contains("3 December 2026 at 10:00 UTC"), "{m}");

    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:#?}");
    assert_eq!(attempts[0].code, 250);
    assert_eq!(attempts[0].rcpts, ["ada@example.com"]);
    assert_eq!(attempts[0].mail_from.as_deref(), Some("no-reply@localhost"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_550_recipient_is_a_permanent_error_whose_reason_names_neither_address_nor_token() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let server = SmtpServer::start(&python);
    let mailer = mailer(&server.url());
    let email = email_to("reject@example.com");

    let err = mailer.send(new_id(), &email).await.unwrap_err();

    let MailError::Permanent(reason) = err else {
        panic!("expected a permanent error, got {err:?}");
    };
    assert!(reason.contains("550"), "{reason}");
    assert!(reason.contains("User unknown"), "{reason}");
    assert!(reason.contains("[address]"), "{reason}");
    assert!(!reason.contains("reject@example.com"), "{reason}");
    assert!(!reason.contains(email.token.expose()), "{reason}");
    assert!(server.messages().is_empty());
    assert_eq!(server.attempts()[0].code, 550);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_451_recipient_is_a_transient_error() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let server = SmtpServer::start(&python);
    let mailer = mailer(&server.url());

    let err = mailer
        .send(new_id(), &email_to("tempfail@example.com"))
        .await
        .unwrap_err();

    let MailError::Transient(reason) = err else {
        panic!("expected a transient error, got {err:?}");
    };
    assert!(reason.contains("451"), "{reason}");
    assert!(!reason.contains("tempfail@example.com"), "{reason}");
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_with_451_at_data_keeps_its_message_id_until_it_is_accepted() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let server = SmtpServer::start(&python); // flaky@: two 451s per Message-ID
    let mailer = mailer(&server.url());
    let (id, email) = (new_id(), email_to("flaky@example.com"));

    for _ in 0..2 {
        let err = mailer.send(id, &email).await.unwrap_err();
        assert!(matches!(err, MailError::Transient(_)), "{err:?}");
    }
    mailer.send(id, &email).await.unwrap();

    let expected = format!("<{}@localhost>", id.as_uuid().hyphenated());
    let attempts = server.attempts();
    let seen: Vec<(u16, Option<&str>)> = attempts
        .iter()
        .map(|a| (a.code, a.message_id.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (451, Some(expected.as_str())),
            (451, Some(expected.as_str())),
            (250, Some(expected.as_str())),
        ]
    );
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_server_down_a_send_and_a_probe_say_unreachable_and_once_it_is_up_the_same_mailer_delivers()
 {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let port = free_port();
    let mailer = mailer(&plain_url(port));
    let (first, second) = (new_id(), new_id());
    let email = email_to("ada@example.com");

    // Nothing listening yet: refused, unreachable. (The outer limit only
    // stops a hung test: the assertion is the answer, not its timing.)
    let err = tokio::time::timeout(Duration::from_secs(60), mailer.send(first, &email))
        .await
        .expect("a refused connection must end the send")
        .unwrap_err();
    assert!(matches!(err, MailError::Unreachable(_)), "{err:?}");
    let err = mailer.probe().await.unwrap_err();
    assert!(matches!(err, MailError::Unreachable(_)), "{err:?}");

    // Up: the retry of the same message goes through.
    let server = SmtpServer::start_with(
        &python,
        &Options {
            port,
            ..Options::default()
        },
    );
    mailer.probe().await.unwrap();
    mailer.send(first, &email).await.unwrap();
    assert_eq!(server.messages().len(), 1);

    // Down again while the pool holds an idle connection to it.
    drop(server);
    let err = mailer.send(second, &email).await.unwrap_err();
    assert!(matches!(err, MailError::Unreachable(_)), "{err:?}");
    let err = mailer.probe().await.unwrap_err();
    assert!(matches!(err, MailError::Unreachable(_)), "{err:?}");

    // Up again: the pool drops the dead connection and delivers.
    let server = SmtpServer::start_with(
        &python,
        &Options {
            port,
            ..Options::default()
        },
    );
    mailer.probe().await.unwrap();
    mailer.send(second, &email).await.unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        header(&messages[0], "Message-ID"),
        Some(format!("<{}@localhost>", second.as_uuid().hyphenated()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_with_the_user_and_password_of_the_url_delivers_over_tls_none() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let server = SmtpServer::start_with(
        &python,
        &Options {
            auth: Some(("beckon".to_owned(), "s3cr%t:x".to_owned())),
            ..Options::default()
        },
    );
    let port = server.port();
    let email = email_to("ada@example.com");

    let good = mailer(&format!(
        "smtp://beckon:s3cr%25t%3Ax@127.0.0.1:{port}?tls=none"
    ));
    good.send(new_id(), &email).await.unwrap();
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1, "{attempts:#?}");
    assert_eq!(
        (attempts[0].code, attempts[0].user.as_deref()),
        (250, Some("beckon"))
    );

    // A wrong password (535) and no credentials at all (530) are the
    // operator's to fix: transient, so no invite is dropped meanwhile.
    let wrong = mailer(&format!("smtp://beckon:nope@127.0.0.1:{port}?tls=none"));
    let err = wrong.send(new_id(), &email).await.unwrap_err();
    let MailError::Transient(reason) = &err else {
        panic!("expected a transient error, got {err:?}");
    };
    assert!(reason.contains("535"), "{reason}");
    assert!(!reason.contains("nope"), "{reason}");

    let anonymous = mailer(&server.url());
    let err = anonymous.send(new_id(), &email).await.unwrap_err();
    let MailError::Transient(reason) = &err else {
        panic!("expected a transient error, got {err:?}");
    };
    assert!(reason.contains("530"), "{reason}");

    assert_eq!(server.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_through_one_mailer_all_arrive_once() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let server = SmtpServer::start(&python);
    let mailer: Arc<dyn Mailer> = Arc::new(mailer(&server.url()));
    let ids: Vec<OutboxId> = (0..24).map(|_| new_id()).collect();

    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(n, &id)| {
            let mailer = mailer.clone();
            tokio::spawn(async move {
                let email = email_to(&format!("user{n}@example.com"));
                mailer.send(id, &email).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let mut received: Vec<String> = server
        .messages()
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    received.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("<{}@localhost>", id.as_uuid().hyphenated()))
        .collect();
    expected.sort();
    assert_eq!(received, expected);
}

/// Not a test: measures how many messages per second one mailer delivers to
/// the local aiosmtpd server. Run it with
/// `BECKON_TEST_SMTP_PYTHON=$PWD/.venv-smtp/bin/python cargo test --release
/// -p beckon-mail --test smtp -- --ignored --nocapture measure_smtp_throughput`;
/// `BECKON_SMTP_BENCH_MESSAGES` (default 500) and
/// `BECKON_SMTP_BENCH_CONCURRENCY` (default 8) change the load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test: run with --ignored --nocapture"]
async fn measure_smtp_throughput() {
    let Some(python) = smtp_server::python() else {
        return;
    };
    let number = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(default)
    };
    let total = number("BECKON_SMTP_BENCH_MESSAGES", 500);
    let concurrency = number("BECKON_SMTP_BENCH_CONCURRENCY", 8);
    let server = SmtpServer::start(&python);
    let mailer: Arc<dyn Mailer> = Arc::new(mailer(&server.url()));
    // One message first, so the measurement excludes the first connect.
    mailer
        .send(new_id(), &email_to("warmup@example.com"))
        .await
        .unwrap();

    let queue = Arc::new(tokio::sync::Mutex::new(0..total));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (mailer, queue) = (mailer.clone(), queue.clone());
            tokio::spawn(async move {
                let mut failures = 0usize;
                loop {
                    // Not in a `while let`: its guard would live through the send.
                    let next = queue.lock().await.next();
                    let Some(n) = next else { break };
                    let email = email_to(&format!("user{n}@example.com"));
                    if mailer.send(new_id(), &email).await.is_err() {
                        failures += 1;
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = 0;
    for w in workers {
        failures += w.await.unwrap();
    }
    let elapsed = started.elapsed();

    let delivered = server.messages().len() - 1;
    let rate = delivered as f64 / elapsed.as_secs_f64();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "SMTP throughput: {delivered} of {total} messages delivered in {:.2} s with concurrency \
         {concurrency} ({build} build, aiosmtpd on 127.0.0.1): {rate:.1} messages/second \
         ({failures} failed)",
        elapsed.as_secs_f64()
    );
    assert_eq!(delivered, total, "every message arrives");
}
