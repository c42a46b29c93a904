//! The resend use case embedded on `beckon_store_memory::MemoryStore` (no
//! database, no HTTP): ports from one builder expression, every use case
//! from `Beckon`, and the three outcomes of a resend — sent, rate-limited,
//! not found — printed and checked. `cargo run -p beckon --example
//! resend_on_memory_store` runs it; `cargo test` runs it the same way.

use std::sync::Arc;
use std::time::Duration;

use beckon::system::OsRandom;
use beckon_authz_cedar::CedarAuthorizer;
use beckon_domain::{
    Beckon, DeliveryPolicy, InviteCommand, InvitePolicy, Ports, ResendCommand, ResendInviteError,
    ResendOutcome,
};
use beckon_ports::{Email, Locale, ManualClock, RequestId, Role, TenantName, UserId};
use beckon_store_memory::MemoryStore;
use chrono::DateTime;
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH)); // production: SystemClock
    let ports = Ports::builder(MemoryStore::new(), clock.clone(), Arc::new(OsRandom))
        .authorizer(Arc::new(CedarAuthorizer::builtin()?))
        .build();
    let beckon = Beckon::new(&ports, InvitePolicy::default(), DeliveryPolicy::default());
    let (acme, role) = (TenantName::parse("Acme")?, Role::parse("admin")?);
    let tenant = beckon.create_tenant.execute(acme, Locale::En).await?;
    let key = beckon.create_api_key.execute(tenant.id, role, None).await?;
    let principal = beckon.authenticate.execute(&key.secret).await?;
    let invite = InviteCommand {
        principal: principal.clone(),
        email: Email::parse("ada@example.com")?,
        name: None,
        idempotency_key: None,
        request_id: RequestId::parse("invite")?,
    };
    let user = beckon.invite_user.execute(&invite).await?.user.id;
    let mut resend = ResendCommand {
        principal,
        user_id: user,
        idempotency_key: None,
        request_id: RequestId::parse("resend")?,
    };
    clock.advance(Duration::from_secs(61)); // past the default 60 s cooldown
    let mut outcomes = Vec::new();
    for user_id in [user, user, UserId::from_uuid(Uuid::nil())] {
        resend.user_id = user_id;
        outcomes.push(match beckon.resend_invite.execute(&resend).await {
            Ok(ResendOutcome::Sent) => "sent",
            Err(ResendInviteError::RateLimited { .. }) => "rate-limited",
            Err(ResendInviteError::NotFound) => "not found",
            other => anyhow::bail!("unexpected: {other:?}"),
        });
    }
    println!("resend, again at once, to nobody: {outcomes:?}");
    anyhow::ensure!(outcomes == ["sent", "rate-limited", "not found"]);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_resends_on_the_memory_store_with_all_three_outcomes() -> anyhow::Result<()> {
        super::main()
    }
}
