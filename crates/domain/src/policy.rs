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

impl DeliveryPolicy {
    /// The delay before the attempt after `attempt`: `base · 2^(attempt-1)`,
    /// capped, then "equal jitter": half fixed, half random, so retries of
    /// many messages spread out but never bunch at zero.
    pub fn backoff(&self, attempt: u32, random: &dyn beckon_ports::Random) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let full = self
            .base_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = full / 2;
        let jitter_ms = random.below(u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
        half + Duration::from_millis(jitter_ms)
    }

    /// How long a batch stays leased when one send may take
    /// `max_send_time`: every round of `concurrency` sends at that pace,
    /// plus `lease_margin` for claiming and settling.
    pub fn lease(&self, max_send_time: Duration) -> Duration {
        let concurrency = u32::try_from(self.concurrency.max(1)).unwrap_or(u32::MAX);
        let rounds = self.batch.max(1).div_ceil(concurrency);
        max_send_time
            .saturating_mul(rounds)
            .saturating_add(self.lease_margin)
    }

    /// Whether a message or event queued at `queued_at` has had its last
    /// chance: `attempt` reached `max_attempts`, or it is older than
    /// `max_age` at `now`.
    pub fn exhausted(
        &self,
        attempt: u32,
        queued_at: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        attempt >= self.max_attempts || now - queued_at >= crate::error::delta(self.max_age)
    }
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
