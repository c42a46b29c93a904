//! The send limits: a cooldown after each send and a cap per rolling 24 hours.

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

use crate::error::delta;
use crate::policy::InvitePolicy;

/// The rolling window of the daily cap.
pub(crate) const WINDOW: TimeDelta = TimeDelta::hours(24);

/// How long the caller must wait before another send, or `None` when a send
/// is allowed now. `recent` are the sends inside the window, oldest first.
pub(crate) fn wait_before_send(
    policy: &InvitePolicy,
    last_sent_at: DateTime<Utc>,
    recent: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Option<Duration> {
    let mut until = now;
    if !policy.cooldown.is_zero() {
        until = until.max(last_sent_at + delta(policy.cooldown));
    }
    let cap = policy.daily_limit as usize;
    if cap > 0 {
        let in_window: Vec<_> = recent.iter().filter(|t| **t > now - WINDOW).collect();
        if in_window.len() >= cap {
            // The send that must leave the window before another fits.
            let blocking = *in_window[in_window.len() - cap];
            until = until.max(blocking + WINDOW);
        }
    }
    (until > now).then(|| (until - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(cooldown: u64, cap: u32) -> InvitePolicy {
        InvitePolicy {
            ttl: Duration::from_secs(3600),
            cooldown: Duration::from_secs(cooldown),
            daily_limit: cap,
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_send_inside_the_cooldown_waits_for_the_rest_of_it() {
        let wait = wait_before_send(&policy(60, 0), t(0), &[t(0)], t(15));
        assert_eq!(wait, Some(Duration::from_secs(45)));
    }

    #[test]
    fn a_send_after_the_cooldown_is_allowed() {
        assert_eq!(wait_before_send(&policy(60, 0), t(0), &[t(0)], t(60)), None);
    }

    #[test]
    fn a_zero_cooldown_and_zero_cap_allow_everything() {
        let sends: Vec<_> = (0..50).map(t).collect();
        assert_eq!(wait_before_send(&policy(0, 0), t(49), &sends, t(49)), None);
    }

    #[test]
    fn the_cap_counts_sends_in_the_rolling_window_and_waits_for_the_oldest_to_leave() {
        let sends = [t(0), t(100), t(200)];
        let wait = wait_before_send(&policy(0, 3), t(200), &sends, t(300));
        assert_eq!(wait, Some(Duration::from_secs(86_400 - 300)));
        // Below the cap: allowed.
        assert_eq!(
            wait_before_send(&policy(0, 4), t(200), &sends, t(300)),
            None
        );
    }

    #[test]
    fn sends_older_than_24_hours_do_not_count_toward_the_cap() {
        let sends = [t(0), t(100), t(200)];
        assert_eq!(
            wait_before_send(&policy(0, 3), t(200), &sends, t(86_400)),
            None
        );
    }

    #[test]
    fn the_longer_of_cooldown_and_cap_wins() {
        let sends = [t(0)];
        let wait = wait_before_send(&policy(60, 1), t(0), &sends, t(10));
        assert_eq!(wait, Some(Duration::from_secs(86_390)));
    }
}
