//! `ManualClock`: a `Clock` that stands still until it is told to move, for
//! tests (and embedders' tests) that drive time-based rules — cooldowns,
//! expiry, leases, backoff — without waiting for the wall clock.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::time::Clock;

/// A clock that only moves when [`advance`](ManualClock::advance) or
/// [`set`](ManualClock::set) says so. Share it in an `Arc`: the application
/// reads it through `Arc<dyn Clock>` while the test keeps its own handle to
/// move it. Safe to read and move from any thread.
///
/// Like every `Clock`, it answers whole microseconds: what it is set or
/// advanced to is truncated.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(micros(start)),
        }
    }

    /// Moves the clock to `to` (backwards too: a test of a clock that jumps
    /// may want that).
    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = micros(to);
    }

    /// Moves the clock forward by `by`, stopping at the last instant chrono
    /// can represent rather than wrapping.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        let later = TimeDelta::from_std(by)
            .ok()
            .and_then(|by| now.checked_add_signed(by))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        *now = micros(later);
    }

    /// The time is a plain value: a thread that panicked while holding the
    /// lock cannot have left it half-written, so poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// `t` truncated to whole microseconds (the `Clock` contract).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    #[test]
    fn the_clock_stands_still_until_it_is_advanced_or_set() {
        let clock = ManualClock::new(at("2026-11-26T10:00:00Z"));
        assert_eq!(clock.now(), at("2026-11-26T10:00:00Z"));
        assert_eq!(clock.now(), at("2026-11-26T10:00:00Z"));

        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), at("2026-11-26T10:01:30Z"));

        clock.set(at("2026-11-25T00:00:00Z"));
        assert_eq!(clock.now(), at("2026-11-25T00:00:00Z"));
    }

    #[test]
    fn the_clock_answers_whole_microseconds_like_every_clock() {
        let clock = ManualClock::new(at("2026-11-26T10:00:00.123456789Z"));
        assert_eq!(clock.now(), at("2026-11-26T10:00:00.123456Z"));
        clock.advance(Duration::from_nanos(1_999));
        assert_eq!(clock.now(), at("2026-11-26T10:00:00.123457Z"));
        clock.set(at("2026-11-26T10:00:00.000000999Z"));
        assert_eq!(clock.now(), at("2026-11-26T10:00:00Z"));
    }

    #[test]
    fn advancing_past_the_end_of_time_stops_there() {
        let clock = ManualClock::new(at("2026-11-26T10:00:00Z"));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), micros(DateTime::<Utc>::MAX_UTC));
    }

    #[test]
    fn a_clock_moved_on_one_thread_is_seen_moved_on_another() {
        let clock = Arc::new(ManualClock::new(at("2026-11-26T10:00:00Z")));
        let shared: Arc<dyn Clock> = clock.clone();
        std::thread::spawn(move || clock.advance(Duration::from_secs(5)))
            .join()
            .unwrap();
        assert_eq!(shared.now(), at("2026-11-26T10:00:05Z"));
    }
}
