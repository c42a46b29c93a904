//! Time and randomness as ports, so that tests control both.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The current time. The `beckon` binary's `SystemClock` reads the wall
/// clock; tests use [`ManualClock`](crate::ManualClock) (feature `mocks`)
/// and move it themselves.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, truncated to whole microseconds (what every store round-trips).
    fn now(&self) -> DateTime<Utc>;
}

/// Randomness.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Random: Send + Sync {
    /// 32 bytes from a CSPRNG (tokens, key secrets).
    fn secret_bytes(&self) -> Result<[u8; 32], anyhow::Error>;

    /// A new time-ordered id (UUIDv7).
    fn new_id(&self) -> Uuid;

    /// A number in `0..bound` for jitter; need not be cryptographic.
    /// `bound == 0` gives 0.
    fn below(&self, bound: u64) -> u64;
}
