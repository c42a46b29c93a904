//! The outbox delivery loop: what `beckon serve` runs beside the HTTP
//! server, public so that a program mounting Beckon in its own actix-web
//! application (`beckon_http::scope`) can deliver the email its requests
//! queue.
//!
//! It lives here, not in `beckon-domain`, because pacing a loop needs a
//! timer and the domain names no runtime; the rules of one step (what is
//! due, retries, backoff, giving up) stay in `DeliverOutbox::run_once`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use beckon_domain::{DeliverOutbox, DeliverWebhooks, DeliveryReport, PruneExpired};
use beckon_ports::StoreError;

/// One round of a delivery loop: the email outbox's
/// ([`DeliverOutbox::run_once`]) or the webhook events'
/// ([`DeliverWebhooks::run_once`]). [`deliver_until`] runs either.
pub trait DeliveryStep: Send + Sync {
    /// Claims, delivers and settles one batch.
    fn run_once(&self) -> impl Future<Output = Result<DeliveryReport, StoreError>> + Send;
}

impl DeliveryStep for DeliverOutbox {
    fn run_once(&self) -> impl Future<Output = Result<DeliveryReport, StoreError>> + Send {
        DeliverOutbox::run_once(self)
    }
}

impl DeliveryStep for DeliverWebhooks {
    fn run_once(&self) -> impl Future<Output = Result<DeliveryReport, StoreError>> + Send {
        DeliverWebhooks::run_once(self)
    }
}

/// How long the loop waits when nothing was due, or some of a batch must
/// wait for a retry: the longest a new message waits to be picked up.
const IDLE: Duration = Duration::from_millis(250);
/// How long it waits after a step failed (the store is most likely
/// unreachable) or found the mail server unreachable: longer, so that an
/// outage is not hammered. It is also how often a mail server that is down
/// is probed, so the backlog starts to drain within this of its return.
const AFTER_ERROR: Duration = Duration::from_secs(1);

/// Delivers queued email (or, given a [`DeliverWebhooks`], webhook
/// events) until `stop` completes.
///
/// Each round is one [`DeliverOutbox::run_once`]. After a batch that
/// claimed messages and had neither retries nor failures the next round
/// starts at once (there may be more due); after an idle round, or one with
/// retries or failures, the loop pauses 250 ms; after an error (logged as a
/// warning), or while the mail server is unreachable, it pauses 1 s. `stop` is watched before every round and during
/// every pause, so the loop ends promptly once it completes — but a round
/// that has begun finishes first: the messages it claimed are sent and
/// settled rather than left leased.
///
/// Run it on a Tokio runtime (actix-web's is one), once per process or as
/// many times as you like: workers share the outbox through leases. The
/// pauses are wall-clock time; *when* a message is due is the `Clock` port's
/// time, so a test that moves a `ManualClock` makes retries due without
/// waiting for them.
///
/// ```no_run
/// # async fn example(beckon: beckon_domain::Beckon) {
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let worker = tokio::spawn(beckon::worker::deliver_until(
///     beckon.deliver_outbox.clone(),
///     async move {
///         // A dropped sender stops the worker too.
///         let _ = stopped.await;
///     },
/// ));
/// // … serve requests …
/// let _ = stop.send(());
/// let _ = worker.await;
/// # }
/// ```
pub async fn deliver_until<S: DeliveryStep>(deliver: Arc<S>, stop: impl Future<Output = ()>) {
    let mut stop = pin!(stop);
    let mut pause = Duration::ZERO;
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return,
            () = wait(pause) => {}
        }
        pause = pause_after(deliver.run_once().await);
    }
}

/// Waits `pause`; for no pause, yields once, so that a busy worker still
/// lets the tasks beside it run.
async fn wait(pause: Duration) {
    if pause.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(pause).await;
    }
}

/// How often retention looks for old rows when the last step found no
/// full batch.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Prunes old rows ([`PruneExpired::run_once`]) until `stop` completes:
/// once at start, then every minute — at once again after a step that
/// filled a batch (there may be more); a failure is logged and retried a
/// minute later.
pub async fn prune_until(prune: Arc<PruneExpired>, stop: impl Future<Output = ()>) {
    let mut stop = pin!(stop);
    let mut pause = Duration::ZERO;
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return,
            () = wait(pause) => {}
        }
        pause = match prune.run_once().await {
            Ok(pruned) if pruned.filled(beckon_domain::prune_expired::BATCH) => Duration::ZERO,
            Ok(_) => PRUNE_EVERY,
            Err(e) => {
                tracing::warn!(error = %format!("{:#}", anyhow::Error::new(e)), "pruning failed");
                PRUNE_EVERY
            }
        };
    }
}

/// How long to wait after a round that ended with `step`.
fn pause_after(step: Result<DeliveryReport, StoreError>) -> Duration {
    match step {
        Ok(report) if report.mailer_unreachable => AFTER_ERROR,
        Ok(report) if report.claimed > 0 && report.retried == 0 && report.failed == 0 => {
            Duration::ZERO
        }
        Ok(_) => IDLE,
        Err(e) => {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::new(e)), "outbox step failed");
            AFTER_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use beckon_domain::{DeliveryPolicy, Ports};
    use beckon_ports::authz::MockAuthorizer;
    use beckon_ports::mail::MockMailer;
    use beckon_ports::store::{
        MockApiKeyRepo, MockAuditLog, MockHealth, MockIdempotencyStore, MockOutboxRepo,
        MockTenantRepo, MockUserRepo,
    };
    use beckon_ports::time::MockRandom;
    use beckon_ports::{ManualClock, OutboxRepo};
    use chrono::DateTime;
    use tokio::sync::oneshot;

    use super::*;

    /// Stops a test that would otherwise hang; no assertion about speed.
    const HANG: Duration = Duration::from_secs(30);

    /// A delivery step whose only working port is `outbox`: any other port
    /// it touched would panic (a mock without expectations).
    fn deliver_with(outbox: MockOutboxRepo) -> Arc<DeliverOutbox> {
        let outbox: Arc<dyn OutboxRepo> = Arc::new(outbox);
        let ports = Ports {
            tenants: Arc::new(MockTenantRepo::new()),
            api_keys: Arc::new(MockApiKeyRepo::new()),
            users: Arc::new(MockUserRepo::new()),
            idempotency: Arc::new(MockIdempotencyStore::new()),
            audit: Arc::new(MockAuditLog::new()),
            outbox,
            health: Arc::new(MockHealth::new()),
            authorizer: Arc::new(MockAuthorizer::new()),
            mailer: Arc::new(MockMailer::new()),
            clock: Arc::new(ManualClock::new(DateTime::UNIX_EPOCH)),
            random: Arc::new(MockRandom::new()),
        };
        Arc::new(DeliverOutbox::new(&ports, DeliveryPolicy::default()))
    }

    fn report(claimed: usize, sent: usize, retried: usize, failed: usize) -> DeliveryReport {
        DeliveryReport {
            claimed,
            sent,
            retried,
            failed,
            ..DeliveryReport::default()
        }
    }

    #[test]
    fn a_clean_batch_is_followed_at_once_and_anything_else_after_a_pause() {
        assert_eq!(pause_after(Ok(report(3, 3, 0, 0))), Duration::ZERO);
        assert_eq!(pause_after(Ok(report(0, 0, 0, 0))), IDLE);
        assert_eq!(pause_after(Ok(report(3, 2, 1, 0))), IDLE);
        assert_eq!(pause_after(Ok(report(3, 2, 0, 1))), IDLE);
        let unreachable = DeliveryReport {
            mailer_unreachable: true,
            ..DeliveryReport::default()
        };
        assert_eq!(pause_after(Ok(unreachable)), AFTER_ERROR);
        let outage = StoreError::Unavailable(anyhow::anyhow!("connection refused"));
        assert_eq!(pause_after(Err(outage)), AFTER_ERROR);
    }

    #[tokio::test]
    async fn a_stop_that_has_already_come_ends_the_loop_before_its_first_round() {
        let mut outbox = MockOutboxRepo::new();
        outbox.expect_any_due().never();
        let stopped = tokio::time::timeout(HANG, deliver_until(deliver_with(outbox), async {}));
        assert!(stopped.await.is_ok(), "the loop did not stop");
    }

    #[tokio::test]
    async fn a_stop_during_the_idle_pause_ends_the_loop_without_another_round() {
        let (stop, stopped) = oneshot::channel::<()>();
        let stop = Mutex::new(Some(stop));
        let mut outbox = MockOutboxRepo::new();
        // One round: it finds nothing due and asks to stop; a second round
        // would exceed `times(1)` and fail the test.
        outbox.expect_any_due().times(1).returning(move |_| {
            if let Some(stop) = stop.lock().unwrap().take() {
                let _ = stop.send(());
            }
            Ok(false)
        });
        let stopped = async move {
            let _ = stopped.await;
        };
        let ended = tokio::time::timeout(HANG, deliver_until(deliver_with(outbox), stopped));
        assert!(ended.await.is_ok(), "the loop did not stop");
    }

    #[tokio::test]
    async fn the_pruner_runs_at_once_goes_on_while_batches_fill_and_stops_on_request() {
        use beckon_ports::{MockRetention, Pruned};
        let (done, finished) = oneshot::channel::<()>();
        let done = Mutex::new(Some(done));
        let mut retention = MockRetention::new();
        let mut seq = beckon_ports::mockall::Sequence::new();
        retention
            .expect_prune()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|b| {
                Ok(Pruned {
                    audit: b.limit as usize,
                    ..Pruned::default()
                })
            });
        retention
            .expect_prune()
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_| {
                if let Some(tx) = done.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                Ok(Pruned::default())
            });
        let prune = Arc::new(PruneExpired::new(
            Arc::new(retention),
            Arc::new(ManualClock::new(DateTime::UNIX_EPOCH)),
            Duration::from_secs(86_400),
        ));
        // Two steps (the first filled its batch), then the minute's pause,
        // which the stop cuts short: a third step would fail the mock.
        let ended = tokio::time::timeout(
            HANG,
            prune_until(prune, async move {
                let _ = finished.await;
            }),
        )
        .await;
        assert!(ended.is_ok(), "the pruner stopped");
    }
}
