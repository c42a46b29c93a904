//! Rules of the resend use case, one test per rule, on mocks.

use super::*;
use crate::test_support::*;
use beckon_ports::{IdempotencyRecord, StoreError, User};
use std::sync::{Arc, Mutex};

fn policy(cooldown: u64, cap: u32) -> InvitePolicy {
    InvitePolicy {
        ttl: Duration::from_secs(3600),
        cooldown: Duration::from_secs(cooldown),
        daily_limit: cap,
    }
}

fn cmd(user: UserId, key: Option<&str>) -> ResendCommand {
    ResendCommand {
        principal: principal(tenant_a(), "admin"),
        user_id: user,
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        request_id: RequestId::parse("req-1").unwrap(),
    }
}

/// Users: `get` answers `user` for its id; sends: one at t=0.
fn with_user(b: &mut MockPorts, user: Option<User>) {
    b.users
        .expect_get()
        .returning(move |t, id| Ok(user.clone().filter(|u| u.id == id && u.tenant_id == t)));
    b.users
        .expect_sends_since()
        .returning(|_, _, _| Ok(vec![at_secs(0)]));
}

/// Records every audit outcome.
fn audited(b: &mut MockPorts) -> Arc<Mutex<Vec<AuditOutcome>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    b.audit.expect_record().returning(move |e| {
        s.lock().unwrap().push(e.outcome);
        Ok(())
    });
    seen
}

fn no_key_records(b: &mut MockPorts) {
    b.idempotency.expect_find().never();
}

#[tokio::test]
async fn resend_issues_a_new_token_and_queues_one_email_decided_on_the_loaded_version() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(120);
    let user = invited_user(tenant_a(), 1, 3);
    with_user(&mut b, Some(user.clone()));
    no_key_records(&mut b);
    b.users
        .expect_rotate_invite()
        .times(1)
        .withf(move |r| {
            r.tenant_id == tenant_a()
                && r.user_id == user.id
                && r.expected_version == 3
                && r.send.token_hash == token().hash()
                && r.send.expires_at == at_secs(120 + 3600)
                && r.send.sent_at == at_secs(120)
                && r.send.outbox.email.to == user.email
                && r.send.outbox.email.token == token()
                && r.send.outbox.user_id == user.id
                && r.idempotency.is_none()
                && r.audit.outcome == AuditOutcome::Succeeded
                && r.audit.request_id.as_str() == "req-1"
        })
        .returning(|_| Ok(WriteOutcome::Applied));
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert_eq!(
        resend.execute(&cmd(user_id(1), None)).await.unwrap(),
        ResendOutcome::Sent
    );
}

#[tokio::test]
async fn resend_returns_429_inside_the_cooldown_and_changes_nothing() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(15);
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 0)));
    let audit = audited(&mut b);
    b.users.expect_rotate_invite().never();
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    match resend.execute(&cmd(user_id(1), None)).await {
        Err(ResendInviteError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(45))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::RateLimited]);
}

#[tokio::test]
async fn resend_returns_429_over_the_daily_cap() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(7200);
    b.users
        .expect_get()
        .returning(|_, _| Ok(Some(invited_user(tenant_a(), 1, 0))));
    b.users
        .expect_sends_since()
        .withf(|_, _, since| *since == at_secs(7200) - TimeDelta::hours(24))
        .returning(|_, _, _| Ok(vec![at_secs(0), at_secs(100)]));
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 2));
    match resend.execute(&cmd(user_id(1), None)).await {
        Err(ResendInviteError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(86_400 - 7200));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::RateLimited]);
}

#[tokio::test]
async fn an_expired_invite_can_be_resent() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(10_000); // the token expired at t=3600
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 0)));
    b.users
        .expect_rotate_invite()
        .times(1)
        .returning(|_| Ok(WriteOutcome::Applied));
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert_eq!(
        resend.execute(&cmd(user_id(1), None)).await.unwrap(),
        ResendOutcome::Sent
    );
}

#[tokio::test]
async fn resend_to_a_missing_user_is_not_found_and_audited() {
    let mut b = MockPorts::new();
    with_user(&mut b, None);
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), None)).await,
        Err(ResendInviteError::NotFound)
    ));
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::NotFound]);
}

#[tokio::test]
async fn a_user_of_another_tenant_is_not_found() {
    let mut b = MockPorts::new();
    with_user(&mut b, Some(invited_user(tenant_b(), 1, 0)));
    audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), None)).await,
        Err(ResendInviteError::NotFound)
    ));
}

#[tokio::test]
async fn resend_to_a_revoked_user_is_invite_revoked_and_sends_nothing() {
    let mut b = MockPorts::new();
    with_user(&mut b, Some(revoked_user(tenant_a(), 1, 2)));
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), None)).await,
        Err(ResendInviteError::InviteRevoked)
    ));
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::InviteRevoked]);
}

#[tokio::test]
async fn resend_to_a_verified_user_is_a_conflict() {
    let mut b = MockPorts::new();
    with_user(&mut b, Some(active_user(tenant_a(), 1, 2)));
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), None)).await,
        Err(ResendInviteError::AlreadyVerified)
    ));
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::AlreadyVerified]);
}

#[tokio::test]
async fn a_denied_caller_gets_403_with_notices_whether_or_not_the_user_exists() {
    for user in [Some(invited_user(tenant_a(), 1, 0)), None] {
        let mut b = MockPorts::new();
        b.authorizer = deny_with(&["viewers only read"]);
        let exists = user.is_some();
        b.users.expect_get().returning(move |_, _| Ok(user.clone()));
        b.users.expect_sends_since().never();
        let audit = audited(&mut b);
        let resend = ResendInvite::new(&b.build(), policy(60, 5));
        match resend.execute(&cmd(user_id(1), None)).await {
            Err(ResendInviteError::Forbidden { notices }) => {
                assert_eq!(notices, ["viewers only read"])
            }
            other => panic!("exists={exists}: {other:?}"),
        }
        assert_eq!(*audit.lock().unwrap(), [AuditOutcome::Forbidden]);
    }
}

#[tokio::test]
async fn the_policy_sees_the_users_status_or_none_when_it_is_missing() {
    for (user, status) in [
        (
            Some(invited_user(tenant_a(), 1, 0)),
            Some(UserStatus::Invited),
        ),
        (
            Some(active_user(tenant_a(), 1, 0)),
            Some(UserStatus::Active),
        ),
        (None, None),
    ] {
        let mut b = MockPorts::new();
        let mut authz = beckon_ports::authz::MockAuthorizer::new();
        authz
            .expect_authorize()
            .withf(move |r| {
                r.action == Action::ResendInvite
                    && r.resource
                        == Resource::User {
                            id: user_id(1),
                            tenant_id: tenant_a(),
                            status,
                        }
            })
            .times(1)
            .returning(|_| Decision::Deny { notices: vec![] });
        b.authorizer = Arc::new(authz);
        b.users.expect_get().returning(move |_, _| Ok(user.clone()));
        audited(&mut b);
        let resend = ResendInvite::new(&b.build(), policy(60, 5));
        assert!(matches!(
            resend.execute(&cmd(user_id(1), None)).await,
            Err(ResendInviteError::Forbidden { .. })
        ));
    }
}

#[tokio::test]
async fn losing_the_version_race_inside_the_cooldown_answers_429() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(120);
    let mut seq = mockall::Sequence::new();
    b.users
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(Some(invited_user(tenant_a(), 1, 0))));
    b.users
        .expect_sends_since()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(vec![at_secs(0)]));
    b.users
        .expect_rotate_invite()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(WriteOutcome::Stale));
    // The winner sent at t=120: reloading shows it.
    b.users
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| {
            let mut u = invited_user(tenant_a(), 1, 1);
            u.invite.as_mut().unwrap().last_sent_at = at_secs(120);
            Ok(Some(u))
        });
    b.users
        .expect_sends_since()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(vec![at_secs(0), at_secs(120)]));
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    match resend.execute(&cmd(user_id(1), None)).await {
        Err(ResendInviteError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(60))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::RateLimited]);
}

#[tokio::test]
async fn losing_the_race_without_a_cooldown_re_decides_on_the_new_version_and_sends() {
    let mut b = MockPorts::new();
    let version = Arc::new(Mutex::new(0));
    let v = version.clone();
    b.users.expect_get().times(2).returning(move |_, _| {
        let mut v = v.lock().unwrap();
        let u = invited_user(tenant_a(), 1, *v);
        *v += 1;
        Ok(Some(u))
    });
    b.users.expect_sends_since().returning(|_, _, _| Ok(vec![]));
    let mut seq = mockall::Sequence::new();
    b.users
        .expect_rotate_invite()
        .times(1)
        .in_sequence(&mut seq)
        .withf(|r| r.expected_version == 0)
        .returning(|_| Ok(WriteOutcome::Stale));
    b.users
        .expect_rotate_invite()
        .times(1)
        .in_sequence(&mut seq)
        .withf(|r| r.expected_version == 1)
        .returning(|_| Ok(WriteOutcome::Applied));
    let resend = ResendInvite::new(&b.build(), policy(0, 0));
    assert_eq!(
        resend.execute(&cmd(user_id(1), None)).await.unwrap(),
        ResendOutcome::Sent
    );
}

#[tokio::test]
async fn a_repeat_under_the_same_key_replays_and_sends_nothing() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(30); // inside the cooldown: a fresh request would be 429
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 1)));
    b.idempotency
        .expect_find()
        .withf(|t, k, nb| {
            *t == tenant_a() && k.as_str() == "k1" && *nb == at_secs(30) - TimeDelta::hours(24)
        })
        .returning(|t, k, _| Ok(Some(record(t, k, &fingerprint(user_id(1))))));
    b.users.expect_rotate_invite().never();
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert_eq!(
        resend.execute(&cmd(user_id(1), Some("k1"))).await.unwrap(),
        ResendOutcome::Replayed
    );
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::Replayed]);
}

#[tokio::test]
async fn a_key_used_for_another_user_is_refused_as_reused() {
    let mut b = MockPorts::new();
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 1)));
    b.idempotency
        .expect_find()
        .returning(|t, k, _| Ok(Some(record(t, k, &fingerprint(other_user_id())))));
    b.users.expect_rotate_invite().never();
    let audit = audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), Some("k1"))).await,
        Err(ResendInviteError::IdempotencyKeyReused)
    ));
    assert_eq!(*audit.lock().unwrap(), [AuditOutcome::IdempotencyKeyReused]);
}

#[tokio::test]
async fn a_new_key_is_recorded_with_the_rotation() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(120);
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 1)));
    b.idempotency.expect_find().returning(|_, _, _| Ok(None));
    b.users
        .expect_rotate_invite()
        .withf(|r| {
            r.idempotency.as_ref().is_some_and(|w| {
                w.record.key.as_str() == "k1"
                    && w.record.fingerprint == fingerprint(user_id(1))
                    && w.record.created_at == at_secs(120)
                    && w.stale_before == at_secs(120) - TimeDelta::hours(24)
            })
        })
        .times(1)
        .returning(|_| Ok(WriteOutcome::Applied));
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert_eq!(
        resend.execute(&cmd(user_id(1), Some("k1"))).await.unwrap(),
        ResendOutcome::Sent
    );
}

#[tokio::test]
async fn a_concurrent_twin_that_took_the_key_first_is_replayed() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(120);
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 1)));
    let mut seq = mockall::Sequence::new();
    b.idempotency
        .expect_find()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(None));
    b.users
        .expect_rotate_invite()
        .times(1)
        .returning(|_| Err(StoreError::IdempotencyKeyTaken));
    b.idempotency
        .expect_find()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|t, k, _| Ok(Some(record(t, k, &fingerprint(user_id(1))))));
    audited(&mut b);
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert_eq!(
        resend.execute(&cmd(user_id(1), Some("k1"))).await.unwrap(),
        ResendOutcome::Replayed
    );
}

#[tokio::test]
async fn a_store_outage_is_unavailable() {
    let mut b = MockPorts::new();
    b.users.expect_get().returning(|_, _| Err(unavailable()));
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), None)).await,
        Err(ResendInviteError::Unavailable(_))
    ));
}

#[tokio::test]
async fn an_outage_during_the_write_is_unavailable() {
    let mut b = MockPorts::new();
    b.clock = fixed_clock(120);
    with_user(&mut b, Some(invited_user(tenant_a(), 1, 1)));
    b.users
        .expect_rotate_invite()
        .returning(|_| Err(unavailable()));
    let resend = ResendInvite::new(&b.build(), policy(60, 5));
    assert!(matches!(
        resend.execute(&cmd(user_id(1), None)).await,
        Err(ResendInviteError::Unavailable(_))
    ));
}

fn record(t: beckon_ports::TenantId, k: &IdempotencyKey, fp: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        tenant_id: t,
        key: k.clone(),
        fingerprint: fp.to_owned(),
        response: REPLAY.to_owned(),
        created_at: at_secs(0),
        user_id: None,
    }
}

use chrono::TimeDelta;
