//! Retention (CONTRACT §7, `BECKON_RETENTION`): one step of forgetting
//! what no rule needs any more. The instants come from the clock and the
//! rules' own windows, so nothing a rule still reads is pruned.

use std::sync::Arc;
use std::time::Duration;

use beckon_ports::{Clock, PruneBefore, Pruned, Retention, StoreError};

use crate::error::delta;

/// Rows of each kind one step deletes at most: small transactions that
/// never hold the writer for long.
pub const BATCH: u32 = 500;

/// The use case.
pub struct PruneExpired {
    retention: Arc<dyn Retention>,
    clock: Arc<dyn Clock>,
    keep: Duration,
}

impl PruneExpired {
    /// Prunes what is older than `keep` (audit lines, delivered or failed
    /// emails) and what its rule no longer needs (send records past the
    /// daily cap's window, idempotency records past theirs).
    pub fn new(retention: Arc<dyn Retention>, clock: Arc<dyn Clock>, keep: Duration) -> Self {
        Self {
            retention,
            clock,
            keep,
        }
    }

    /// The instants of a step taken now.
    pub fn before(&self) -> PruneBefore {
        let now = self.clock.now();
        let kept = now - delta(self.keep);
        PruneBefore {
            audit: kept,
            outbox: kept,
            // The daily cap counts the sends of the last 24 hours; the
            // cooldown reads the user's own last-sent column.
            sends: now - crate::rate_limit::WINDOW,
            // A key is remembered for 24 hours.
            idempotency: now - crate::idempotency::WINDOW,
            limit: BATCH,
        }
    }

    /// Deletes one batch of each kind; `Pruned::filled(BATCH)` says whether
    /// another step may find more.
    pub async fn run_once(&self) -> Result<Pruned, StoreError> {
        let pruned = self.retention.prune(&self.before()).await?;
        if pruned != Pruned::default() {
            tracing::info!(
                audit = pruned.audit,
                outbox = pruned.outbox,
                sends = pruned.sends,
                idempotency = pruned.idempotency,
                "pruned old rows"
            );
        }
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use beckon_ports::MockRetention;
    use chrono::TimeDelta;

    #[tokio::test]
    async fn a_step_prunes_by_retention_and_by_each_rules_own_window() {
        let clock = manual_clock(0);
        clock.advance(Duration::from_secs(100 * 86_400));
        let now = clock.now();
        let mut retention = MockRetention::new();
        retention
            .expect_prune()
            .withf(move |b| {
                b.audit == now - TimeDelta::days(90)
                    && b.outbox == now - TimeDelta::days(90)
                    && b.sends == now - TimeDelta::hours(24)
                    && b.idempotency == now - TimeDelta::hours(24)
                    && b.limit == BATCH
            })
            .times(1)
            .returning(|_| {
                Ok(Pruned {
                    audit: 3,
                    ..Pruned::default()
                })
            });
        let prune = PruneExpired::new(Arc::new(retention), clock, Duration::from_secs(90 * 86_400));
        assert_eq!(prune.run_once().await.unwrap().audit, 3);
    }

    #[tokio::test]
    async fn a_store_outage_is_reported() {
        let mut retention = MockRetention::new();
        retention.expect_prune().returning(|_| Err(unavailable()));
        let prune = PruneExpired::new(
            Arc::new(retention),
            fixed_clock(0),
            Duration::from_secs(86_400),
        );
        assert!(matches!(
            prune.run_once().await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
