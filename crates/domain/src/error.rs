//! Shared error plumbing: how storage failures become use-case errors.

use std::time::Duration;

/// Implements `From<StoreError>` for a use-case error with `Unavailable` and
/// `Unexpected` variants. Conflicts a use case expects are matched before
/// `?` is used, so any that arrive here are unexpected.
macro_rules! from_store_error {
    ($error:ty) => {
        impl From<beckon_ports::StoreError> for $error {
            fn from(e: beckon_ports::StoreError) -> Self {
                match e {
                    beckon_ports::StoreError::Unavailable(source) => Self::Unavailable(source),
                    other => Self::Unexpected(anyhow::Error::new(other)),
                }
            }
        }
    };
}
pub(crate) use from_store_error;

/// A wait as the contract states it: whole seconds, rounded up, at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// `std` duration → `chrono` duration, saturating (configuration is bounded
/// far below the limit, so saturation never shows).
pub(crate) fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_at_least_one() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(59_001)), 60);
        assert_eq!(retry_after_seconds(Duration::from_secs(60)), 60);
    }
}
