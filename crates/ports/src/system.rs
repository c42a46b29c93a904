//! The production `Clock` and `Random`.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use uuid::Uuid;

use crate::time::{Clock, Random};

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
