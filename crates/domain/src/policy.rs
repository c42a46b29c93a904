//! The tunable numbers of the rules, read from configuration by the binary.

use std::time::Duration;

/// Invite and resend rules (CONTRACT §1, §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitePolicy {
    /// How long a token works after it was issued.
    pub ttl: Duration,
    /// Minimum gap between two sends of one user; zero turns it off.
    pub cooldown: Duration,
    /// Sends of one user per rolling 24 hours; zero turns it off.
    pub daily_limit: u32,
}

impl Default for InvitePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(7 * 24 * 3600),
            cooldown: Duration::from_secs(60),
            daily_limit: 5,
        }
    }
}

/// How the outbox is drained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts before a message is given up as `failed`.
    pub max_attempts: u32,
    /// Age after which a transiently failing message is given up.
    pub max_age: Duration,
    /// The first retry's delay; each later one doubles, up to `max_backoff`.
    pub base_backoff: Duration,
    /// The longest delay between two attempts.
    pub max_backoff: Duration,
    /// How long a batch stays leased beyond the time its sends may take
    /// (`Mailer::max_send_time` for each round of `concurrency` sends):
    /// room for claiming and settling it.
    pub lease_margin: Duration,
    /// Messages claimed per step.
    pub batch: u32,
    /// Messages of one batch sent at the same time. Sending one at a time
    /// caps delivery at one SMTP round trip per message.
    pub concurrency: usize,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            max_age: Duration::from_secs(24 * 3600),
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            lease_margin: Duration::from_secs(30),
            batch: 64,
            concurrency: 32,
        }
    }
}
