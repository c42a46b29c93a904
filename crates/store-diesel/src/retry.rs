//! Retrying whole write transactions on serialization failures and
//! deadlocks ("Built to scale out", rule 2): the databases Beckon may grow
//! into (CockroachDB, YugabyteDB, PostgreSQL at SERIALIZABLE) abort
//! conflicting transactions and expect the client to run them again.

use std::future::Future;
use std::time::Duration;

use crate::errors::TxError;

/// Runs in total at most this many times.
const ATTEMPTS: u32 = 4;
/// The first pause; each further pause is four times longer (5, 20, 80 ms),
/// plus up to as much again of jitter so that colliding writers spread out.
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// Runs `attempt` (a whole transaction, free of side effects outside the
/// database) until it succeeds, fails for a reason a retry cannot fix, or
/// has run `ATTEMPTS` times.
pub async fn with_retry<T, F, Fut>(mut attempt: F) -> Result<T, TxError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TxError>>,
{
    let mut pause = FIRST_PAUSE;
    let mut n = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_retryable() && n < ATTEMPTS => {
                tracing::debug!(attempt = n, "transaction conflict; retrying");
                tokio::time::sleep(pause + jitter(pause)).await;
                pause *= 4;
                n += 1;
            }
            result => return result,
        }
    }
}

/// Up to `max` of extra pause. Not cryptographic: it only spreads retries.
fn jitter(max: Duration) -> Duration {
    let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    Duration::from_micros(random % micros)
}

#[cfg(test)]
mod tests {
    use super::*;
    use beckon_ports::StoreError;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn conflict() -> TxError {
        TxError::Db(DieselError::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new(String::from("could not serialize access")),
        ))
    }

    #[tokio::test]
    async fn a_conflicting_transaction_runs_again_until_it_commits() {
        let calls = AtomicU32::new(0);
        let out = with_retry(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(conflict())
            } else {
                Ok(7)
            }
        })
        .await;
        assert!(matches!(out, Ok(7)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn retries_are_bounded_and_other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = with_retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(conflict())
        })
        .await;
        assert!(matches!(out, Err(e) if e.is_retryable()));
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);

        let calls = AtomicU32::new(0);
        let out: Result<(), _> = with_retry(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(TxError::Store(StoreError::EmailTaken))
        })
        .await;
        assert!(matches!(out, Err(TxError::Store(StoreError::EmailTaken))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
