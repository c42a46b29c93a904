//! The mailer through its public API: the file transport on a temporary
//! folder, and SMTP against a port where nothing listens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use beckon_mail::{LettreMailer, MailConfig, Transport, mailer_from_url};
use beckon_ports::{
    Email, InviteEmail, InviteToken, MailError, Mailer, OutboxId, TenantName, UserName,
};
use chrono::{TimeZone, Utc};
use uuid::Uuid;

fn email() -> InviteEmail {
    InviteEmail {
        locale: beckon_ports::Locale::En,
        to: Email::parse("ada@example.com").unwrap(),
        to_name: Some(UserName::parse("Ada Lovelace").unwrap()),
        tenant_name: TenantName::parse("Acme").unwrap(),
        token: InviteToken::from_bytes([0x5a; 32]),
        expires_at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
    }
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_file_transport_writes_one_eml_named_after_the_outbox_id() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let mailer = mailer_from_url(&url, MailConfig::default()).unwrap();
    let id = OutboxId::from_uuid(Uuid::now_v7());

    mailer.send(id, &email()).await.unwrap();

    assert_eq!(files_in(dir.path()), [format!("{id}.eml")]);
    let text = std::fs::read_to_string(dir.path().join(format!("{id}.eml"))).unwrap();
    assert!(
        text.contains(&format!("Message-ID: <{id}@localhost>")),
        "{text}"
    );
    assert!(
        text.contains("Subject: You're invited to join Acme"),
        "{text}"
    );
    let link = format!(
        "http://127.0.0.1:8080/invite?token={}\r\n",
        InviteToken::from_bytes([0x5a; 32]).expose()
    );
    assert!(text.contains(&link), "{text}");
}

#[tokio::test]
async fn sending_the_same_id_twice_still_leaves_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = LettreMailer::new(
        Transport::File(dir.path().to_owned()),
        MailConfig::default(),
    )
    .unwrap();
    let (a, b) = (
        OutboxId::from_uuid(Uuid::now_v7()),
        OutboxId::from_uuid(Uuid::now_v7()),
    );

    mailer.send(a, &email()).await.unwrap();
    mailer.send(a, &email()).await.unwrap();
    assert_eq!(files_in(dir.path()), [format!("{a}.eml")]);

    mailer.send(b, &email()).await.unwrap();
    assert_eq!(files_in(dir.path()).len(), 2);
    assert_eq!(
        mailer.file_path(a),
        Some(dir.path().join(format!("{a}.eml")))
    );
}

#[tokio::test]
async fn the_file_transport_creates_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/mail");
    let mailer = LettreMailer::new(Transport::File(nested.clone()), MailConfig::default()).unwrap();
    assert!(nested.is_dir());

    // Removed behind the mailer's back: the next send recreates it.
    std::fs::remove_dir_all(&nested).unwrap();
    let id = OutboxId::from_uuid(Uuid::now_v7());
    mailer.send(id, &email()).await.unwrap();
    assert_eq!(files_in(&nested), [format!("{id}.eml")]);
}

#[tokio::test]
async fn a_file_transport_that_cannot_write_reports_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mail");
    let mailer = LettreMailer::new(Transport::File(target.clone()), MailConfig::default()).unwrap();
    // A file where the folder should be: nothing can be written.
    std::fs::remove_dir(&target).unwrap();
    std::fs::write(&target, b"not a folder").unwrap();

    let err = mailer
        .send(OutboxId::from_uuid(Uuid::now_v7()), &email())
        .await
        .unwrap_err();
    let MailError::Transient(reason) = err else {
        panic!("expected a transient error, got {err:?}");
    };
    assert!(
        reason.starts_with("cannot write the message file"),
        "{reason}"
    );
}

#[test]
fn a_folder_that_cannot_be_created_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("occupied");
    std::fs::write(&file, b"x").unwrap();
    let url = format!("file://{}/mail", file.display());
    let err = mailer_from_url(&url, MailConfig::default()).err().unwrap();
    assert!(
        err.to_string()
            .starts_with("BECKON_MAILER: cannot create the folder"),
        "{err}"
    );
}

#[test]
fn building_an_smtp_mailer_outside_a_runtime_neither_connects_nor_panics() {
    for url in [
        "smtp://127.0.0.1:1",
        "smtp://u:p@mail.example.com",
        "smtps://mail.example.com",
    ] {
        assert!(mailer_from_url(url, MailConfig::default()).is_ok(), "{url}");
    }
}

#[test]
fn bad_mailer_urls_are_refused_before_anything_is_built() {
    for bad in ["ftp://host", "smtp://", "smtp://host:99999", "smtps://:465"] {
        let err = mailer_from_url(bad, MailConfig::default()).err().unwrap();
        assert_eq!(err.variable(), "BECKON_MAILER", "{bad}");
    }
}

#[tokio::test]
async fn smtp_to_a_port_where_nothing_listens_is_unreachable_and_names_no_address_or_token() {
    // Bind and drop to find a port that is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Transport::Smtp(target) = Transport::parse(&format!("smtp://127.0.0.1:{port}")).unwrap()
    else {
        panic!("not smtp");
    };
    let target = target.with_timeout(Duration::from_secs(2));
    let mailer = LettreMailer::new(Transport::Smtp(target), MailConfig::default()).unwrap();
    let e = email();

    // The outer limit only stops a hung test: the mailer's own timeout must
    // end the send; what is asserted is the answer.
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        mailer.send(OutboxId::from_uuid(Uuid::now_v7()), &e),
    )
    .await
    .expect("the mailer's timeout must end the send")
    .unwrap_err();
    let MailError::Unreachable(reason) = err else {
        panic!("expected an unreachable error, got {err:?}");
    };
    assert!(!reason.contains("ada@example.com"), "{reason}");
    assert!(!reason.contains(e.token.expose()), "{reason}");
}
