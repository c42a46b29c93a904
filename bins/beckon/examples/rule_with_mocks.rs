//! A rule of Beckon unit-tested on mocks, as an embedder's own test would
//! state it: "a verified user gets AlreadyVerified". The ports are mockall
//! mocks (`beckon_domain::test_support::MockPorts`, feature
//! `test-support`) that fail the test on any call nobody expected; the
//! user is a fixture. No store, no clock, no runtime beyond the test's.
//!
//! It is a test: `cargo test -p beckon --example rule_with_mocks` runs it
//! (and `cargo test --workspace` does too).

#[cfg(not(test))]
fn main() {
    println!("This example is a test: cargo test -p beckon --example rule_with_mocks");
}

#[cfg(test)]
mod tests {
    use beckon_domain::test_support::*;
    use beckon_domain::{InvitePolicy, ResendInvite, ResendInviteError};

    #[tokio::test]
    async fn a_verified_user_gets_already_verified_and_nothing_is_written() {
        let mut ports = MockPorts::new(); // every port a mock; the authorizer allows all
        ports.with_user(active_user(tenant_a(), 1, 0)); // users.get finds this user
        ports.accept_any_audit(); // the refusal is audited
        ports.users.expect_rotate_invite().never(); // no new token, no email
        let resend = ResendInvite::new(&ports.build(), InvitePolicy::default());

        let refused = resend
            .execute(&resend_command(tenant_a(), user_id(1)))
            .await;
        assert!(
            matches!(refused, Err(ResendInviteError::AlreadyVerified)),
            "{refused:?}"
        );
    }
}
