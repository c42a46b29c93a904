use super::*;
use crate::test_support::*;

fn command() -> RevokeCommand {
    RevokeCommand {
        principal: principal(tenant_a(), "admin"),
        user_id: user_id(1),
        idempotency_key: None,
        request_id: RequestId::parse("req-rev").unwrap(),
    }
}

fn expect_line(ports: &mut MockPorts, outcome: AuditOutcome) {
    ports
        .audit
        .expect_record()
        .withf(move |e| {
            e.outcome == outcome
                && e.action == "RevokeInvite"
                && e.user_id == Some(user_id(1))
                && e.request_id.as_str() == "req-rev"
        })
        .times(1)
        .returning(|_| Ok(()));
}

#[tokio::test]
async fn an_invited_user_is_revoked_on_the_version_it_was_decided_on() {
    let mut ports = MockPorts::new();
    ports.clock = fixed_clock(30);
    ports.with_user(invited_user(tenant_a(), 1, 7));
    ports
        .users
        .expect_revoke_invite()
        .withf(|r| {
            r.tenant_id == tenant_a()
                && r.user_id == user_id(1)
                && r.expected_version == 7
                && r.at == at_secs(30)
                && r.idempotency.is_none()
                && r.audit.outcome == AuditOutcome::Succeeded
                && r.audit.action == "RevokeInvite"
        })
        .times(1)
        .returning(|_| Ok(WriteOutcome::Applied));
    let out = RevokeInvite::new(&ports.build()).execute(&command()).await;
    assert_eq!(out.unwrap(), RevokeOutcome::Revoked);
}

#[tokio::test]
async fn a_revoked_user_answers_success_again_and_nothing_is_written() {
    let mut ports = MockPorts::new();
    ports.with_user(revoked_user(tenant_a(), 1, 3));
    // No revoke expectation: a write would fail the test.
    expect_line(&mut ports, AuditOutcome::Succeeded);
    let out = RevokeInvite::new(&ports.build()).execute(&command()).await;
    assert_eq!(out.unwrap(), RevokeOutcome::AlreadyRevoked);
}

#[tokio::test]
async fn an_active_user_is_already_verified() {
    let mut ports = MockPorts::new();
    ports.with_user(active_user(tenant_a(), 1, 3));
    expect_line(&mut ports, AuditOutcome::AlreadyVerified);
    let out = RevokeInvite::new(&ports.build()).execute(&command()).await;
    assert!(matches!(out, Err(RevokeInviteError::AlreadyVerified)));
}

#[tokio::test]
async fn a_missing_user_is_not_found_and_a_denied_caller_forbidden_either_way() {
    let mut ports = MockPorts::new();
    ports.with_user(invited_user(tenant_a(), 2, 0));
    expect_line(&mut ports, AuditOutcome::NotFound);
    let out = RevokeInvite::new(&ports.build()).execute(&command()).await;
    assert!(matches!(out, Err(RevokeInviteError::NotFound)));

    for n in [1, 2] {
        let mut ports = MockPorts::new();
        ports.authorizer = deny_with(&["Viewers may not revoke."]);
        ports.with_user(invited_user(tenant_a(), n, 0));
        expect_line(&mut ports, AuditOutcome::Forbidden);
        match RevokeInvite::new(&ports.build()).execute(&command()).await {
            Err(RevokeInviteError::Forbidden { notices }) => {
                assert_eq!(notices, ["Viewers may not revoke."]);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn losing_the_race_to_an_accept_decides_again_on_what_is_there() {
    let mut ports = MockPorts::new();
    let mut seq = mockall::Sequence::new();
    ports
        .users
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|t, _| Ok(Some(invited_user(t, 1, 0))));
    ports
        .users
        .expect_revoke_invite()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(WriteOutcome::Stale));
    ports
        .users
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|t, _| Ok(Some(active_user(t, 1, 1))));
    expect_line(&mut ports, AuditOutcome::AlreadyVerified);
    let out = RevokeInvite::new(&ports.build()).execute(&command()).await;
    assert!(matches!(out, Err(RevokeInviteError::AlreadyVerified)));
}

#[tokio::test]
async fn a_key_is_written_with_the_revoke_and_a_repeat_replays() {
    let key = IdempotencyKey::parse("rev-1").unwrap();
    let mut ports = MockPorts::new();
    ports.with_user(invited_user(tenant_a(), 1, 0));
    ports
        .idempotency
        .expect_find()
        .returning(|_, _, _| Ok(None));
    ports
        .users
        .expect_revoke_invite()
        .withf(|r| {
            r.idempotency.as_ref().is_some_and(|w| {
                w.record.key.as_str() == "rev-1" && w.record.user_id == Some(user_id(1))
            })
        })
        .times(1)
        .returning(|_| Ok(WriteOutcome::Applied));
    let mut cmd = command();
    cmd.idempotency_key = Some(key.clone());
    let out = RevokeInvite::new(&ports.build()).execute(&cmd).await;
    assert_eq!(out.unwrap(), RevokeOutcome::Revoked);

    let mut ports = MockPorts::new();
    ports.with_user(revoked_user(tenant_a(), 1, 1));
    let fingerprint = format!("RevokeInvite {}", user_id(1));
    ports.idempotency.expect_find().returning(move |t, k, _| {
        Ok(Some(beckon_ports::IdempotencyRecord {
            tenant_id: t,
            key: k.clone(),
            fingerprint: fingerprint.clone(),
            response: REPLAY.to_owned(),
            created_at: at_secs(0),
            user_id: Some(user_id(1)),
        }))
    });
    expect_line(&mut ports, AuditOutcome::Replayed);
    let out = RevokeInvite::new(&ports.build()).execute(&cmd).await;
    assert_eq!(out.unwrap(), RevokeOutcome::Replayed);
}

#[tokio::test]
async fn a_store_outage_is_unavailable() {
    let mut ports = MockPorts::new();
    ports
        .users
        .expect_get()
        .returning(|_, _| Err(unavailable()));
    let out = RevokeInvite::new(&ports.build()).execute(&command()).await;
    assert!(matches!(out, Err(RevokeInviteError::Unavailable(_))));
}
