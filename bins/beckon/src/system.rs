//! Where time and randomness come from: the production `Clock` (the wall
//! clock) and `Random` (the operating system's CSPRNG), and [`Sources`], the
//! pair the server, the wiring and the admin commands are given — the system
//! ones by `main`, a manual clock by tests.

use std::sync::Arc;

use beckon_ports::{Clock, Random};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use uuid::Uuid;

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        #[allow(clippy::disallowed_methods)] // the one sanctioned reading of the wall clock
        let now = Utc::now();
        now.duration_trunc(TimeDelta::microseconds(1))
            .unwrap_or(now)
    }
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn secret_bytes(&self) -> Result<[u8; 32], anyhow::Error> {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
        Ok(buf)
    }

    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }

    fn below(&self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let mut buf = [0u8; 8];
        // Jitter only: on the (practically impossible) failure, no jitter.
        match getrandom::fill(&mut buf) {
            Ok(()) => u64::from_le_bytes(buf) % bound,
            Err(_) => 0,
        }
    }
}

/// The clock and the random source an application is built on. Every use
/// case reads time and randomness through these two ports only, so a test
/// that passes a `ManualClock` here controls every rule's clock: cooldowns,
/// the daily cap, token expiry, the API-key cache, outbox backoff and
/// leases.
#[derive(Clone)]
pub struct Sources {
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
}

impl Sources {
    /// The wall clock and the operating system's CSPRNG: what `beckon`
    /// runs on.
    pub fn system() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// `clock` and the operating system's CSPRNG (tests move time, but
    /// their tokens and ids stay unpredictable and distinct).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            random: Arc::new(OsRandom),
        }
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_has_microsecond_precision() {
        let now = SystemClock.now();
        assert_eq!(now.timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn os_random_gives_distinct_secrets_and_bounded_jitter() {
        let a = OsRandom.secret_bytes().unwrap();
        let b = OsRandom.secret_bytes().unwrap();
        assert_ne!(a, b);
        assert!((0..100).all(|_| OsRandom.below(7) < 7));
        assert_eq!(OsRandom.below(0), 0);
    }
}
