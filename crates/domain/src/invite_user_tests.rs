//! Rules of the invite use case, on mocks.

use super::*;
use crate::test_support::*;
use beckon_ports::{IdempotencyRecord, TenantId};
use std::time::Duration;

fn cmd(email: &str, key: Option<&str>) -> InviteCommand {
    InviteCommand {
        principal: principal(tenant_a(), "admin"),
        email: Email::parse(email).unwrap(),
        name: Some(UserName::parse("Ada").unwrap()),
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        request_id: RequestId::parse("req-9").unwrap(),
    }
}

fn policy() -> InvitePolicy {
    InvitePolicy {
        ttl: Duration::from_secs(3600),
        cooldown: Duration::from_secs(60),
        daily_limit: 5,
    }
}

fn allow_audit(b: &mut MockPorts) {
    b.audit.expect_record().returning(|_| Ok(()));
}

#[tokio::test]
async fn inviting_creates_an_invited_user_with_its_first_send_in_one_write() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(5);
    b.users
        .expect_insert_invited()
        .withf(|n| {
            n.user.status == UserStatus::Invited
                && n.user.tenant_id == tenant_a()
                && n.user.version == 0
                && n.user
                    .invite
                    .as_ref()
                    .is_some_and(|i| i.sends == 1 && i.last_sent_at == at_secs(5))
                && n.send.token_hash == token().hash()
                && n.send.expires_at == at_secs(5 + 3600)
                && n.send.outbox.user_id == n.user.id
                && n.audit.outcome == AuditOutcome::Succeeded
                && n.idempotency.is_none()
        })
        .times(1)
        .returning(|_| Ok(()));
    let invite = InviteUser::new(&b.build(), policy());
    let out = invite.execute(&cmd("ada@example.com", None)).await.unwrap();
    assert!(!out.replayed);
    assert_eq!(out.user.email.as_str(), "ada@example.com");
}

#[tokio::test]
async fn an_email_already_in_the_tenant_is_a_conflict() {
    let mut b = MockPorts::new();
    b.users
        .expect_insert_invited()
        .returning(|_| Err(StoreError::EmailTaken));
    allow_audit(&mut b);
    let invite = InviteUser::new(&b.build(), policy());
    assert!(matches!(
        invite.execute(&cmd("ada@example.com", None)).await,
        Err(InviteUserError::UserExists)
    ));
}

#[tokio::test]
async fn a_denied_caller_cannot_invite_and_nothing_is_written() {
    let mut b = MockPorts::new();
    b.authorizer = deny_with(&["viewers only read"]);
    b.users.expect_insert_invited().never();
    allow_audit(&mut b);
    let invite = InviteUser::new(&b.build(), policy());
    match invite.execute(&cmd("ada@example.com", None)).await {
        Err(InviteUserError::Forbidden { notices }) => assert_eq!(notices, ["viewers only read"]),
        other => panic!("{other:?}"),
    }
}

fn stored(t: TenantId, k: &IdempotencyKey, fp: String, user: &User) -> IdempotencyRecord {
    IdempotencyRecord {
        tenant_id: t,
        key: k.clone(),
        fingerprint: fp,
        response: serde_json::to_string(user).unwrap(),
        created_at: at_secs(0),
        user_id: Some(user.id),
    }
}

#[tokio::test]
async fn a_repeat_with_the_same_key_and_body_replays_the_first_user() {
    let mut b = MockPorts::new();
    let first = invited_user(tenant_a(), 7, 0);
    let fp = fingerprint(&cmd("ada@example.com", Some("k")));
    let f = first.clone();
    b.idempotency
        .expect_find()
        .returning(move |t, k, _| Ok(Some(stored(t, k, fp.clone(), &f))));
    b.users.expect_insert_invited().never();
    allow_audit(&mut b);
    let invite = InviteUser::new(&b.build(), policy());
    let out = invite
        .execute(&cmd("ada@example.com", Some("k")))
        .await
        .unwrap();
    assert!(out.replayed);
    assert_eq!(out.user, first);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_as_reused() {
    let mut b = MockPorts::new();
    let fp = fingerprint(&cmd("grace@example.com", Some("k")));
    let f = invited_user(tenant_a(), 7, 0);
    b.idempotency
        .expect_find()
        .returning(move |t, k, _| Ok(Some(stored(t, k, fp.clone(), &f))));
    b.users.expect_insert_invited().never();
    allow_audit(&mut b);
    let invite = InviteUser::new(&b.build(), policy());
    assert!(matches!(
        invite.execute(&cmd("ada@example.com", Some("k"))).await,
        Err(InviteUserError::IdempotencyKeyReused)
    ));
}

#[tokio::test]
async fn a_concurrent_twin_that_won_the_email_is_replayed_not_a_conflict() {
    let mut b = MockPorts::new();
    let twin = invited_user(tenant_a(), 7, 0);
    let fp = fingerprint(&cmd("ada@example.com", Some("k")));
    let mut seq = mockall::Sequence::new();
    b.idempotency
        .expect_find()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(None));
    b.users
        .expect_insert_invited()
        .times(1)
        .returning(|_| Err(StoreError::EmailTaken));
    let t = twin.clone();
    b.idempotency
        .expect_find()
        .times(2)
        .in_sequence(&mut seq)
        .returning(move |tn, k, _| Ok(Some(stored(tn, k, fp.clone(), &t))));
    allow_audit(&mut b);
    let invite = InviteUser::new(&b.build(), policy());
    let out = invite
        .execute(&cmd("ada@example.com", Some("k")))
        .await
        .unwrap();
    assert!(out.replayed);
    assert_eq!(out.user, twin);
}

#[tokio::test]
async fn the_body_fingerprint_distinguishes_email_and_name() {
    let a = fingerprint(&cmd("ada@example.com", None));
    let mut no_name = cmd("ada@example.com", None);
    no_name.name = None;
    assert_ne!(a, fingerprint(&no_name));
    assert_ne!(a, fingerprint(&cmd("Ada@example.com", None)));
    assert_eq!(a, fingerprint(&cmd("ada@example.com", Some("other key"))));
}

#[tokio::test]
async fn a_store_outage_is_unavailable() {
    let mut b = MockPorts::new();
    b.users
        .expect_insert_invited()
        .returning(|_| Err(unavailable()));
    let invite = InviteUser::new(&b.build(), policy());
    assert!(matches!(
        invite.execute(&cmd("ada@example.com", None)).await,
        Err(InviteUserError::Unavailable(_))
    ));
}
