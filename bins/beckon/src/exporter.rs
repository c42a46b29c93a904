//! `GET /metrics` (CONTRACT §7): the Prometheus text exposition, on its own
//! listener (`BECKON_METRICS_LISTEN`), never on the API's. The HTTP layer
//! and the use cases record through the `metrics` facade; this module
//! installs the recorder they record into, and samples the outbox backlog
//! (`OutboxStats`) at each scrape.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, web};
use beckon_domain::metrics::{AUTHZ_DECISIONS_TOTAL, DELIVERIES_TOTAL};
use beckon_http::metrics::{REQUEST_DURATION_SECONDS, REQUESTS_TOTAL};
use beckon_ports::{Clock, OutboxStats};
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Messages waiting to be delivered, by `kind`.
pub const OUTBOX_PENDING: &str = "beckon_outbox_pending";
/// Age of the oldest message waiting to be delivered, by `kind` (0 when
/// none waits).
pub const OUTBOX_OLDEST_PENDING_SECONDS: &str = "beckon_outbox_oldest_pending_seconds";

/// Request-duration buckets, in seconds: a millisecond to ten seconds.
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The content type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Installs the Prometheus recorder as the process's global one (once; a
/// later call answers the same handle) and describes every family.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(REQUEST_DURATION_SECONDS.to_owned()),
            &DURATION_BUCKETS,
        )?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
    describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The help text of each family.
fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "HTTP requests answered, by route template, method and status."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template."
    );
    metrics::describe_gauge!(
        OUTBOX_PENDING,
        "Outbox messages waiting to be delivered, by kind."
    );
    metrics::describe_gauge!(
        OUTBOX_OLDEST_PENDING_SECONDS,
        Unit::Seconds,
        "Age of the oldest outbox message waiting to be delivered, by kind (0 when none waits)."
    );
    metrics::describe_counter!(
        DELIVERIES_TOTAL,
        "Delivery attempts settled by the outbox worker, by kind and outcome (sent, retry, failed)."
    );
    metrics::describe_counter!(
        AUTHZ_DECISIONS_TOTAL,
        "Authorization decisions, by action and decision (allow, deny)."
    );
}

/// What the scrape handler needs.
#[derive(Clone)]
pub struct Exporter {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// Where the backlog is read.
    pub outbox: Arc<dyn OutboxStats>,
    /// Now, for the oldest message's age.
    pub clock: Arc<dyn Clock>,
}

impl Exporter {
    /// Samples the backlog into its gauges and renders every family. A
    /// backlog that cannot be read (the database is down) is logged and
    /// leaves the gauges at their last value: the rest is still served.
    pub async fn scrape(&self) -> String {
        match self.outbox.backlog().await {
            Ok(backlog) => {
                let now = self.clock.now();
                for b in backlog {
                    let kind = b.kind.as_str();
                    let age = b.oldest_queued_at.map_or(0.0, |at| {
                        (now - at).num_milliseconds().max(0) as f64 / 1000.0
                    });
                    metrics::gauge!(OUTBOX_PENDING, "kind" => kind).set(b.pending as f64);
                    metrics::gauge!(OUTBOX_OLDEST_PENDING_SECONDS, "kind" => kind).set(age);
                }
            }
            Err(e) => {
                tracing::warn!(error = %format!("{:#}", anyhow::Error::new(e)), "cannot read the outbox backlog for /metrics");
            }
        }
        self.handle.run_upkeep();
        self.handle.render()
    }
}

async fn metrics_route(exporter: web::Data<Exporter>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(exporter.scrape().await)
}

/// A running metrics listener.
pub struct MetricsServer {
    /// Where it listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Stops it.
    pub handle: ServerHandle,
    /// The server itself, to spawn.
    pub server: Server,
}

/// Binds `GET /metrics` on `listen`: one worker, no signal handling of its
/// own (it stops with the API server), anything else 404.
pub fn bind(listen: SocketAddr, exporter: Exporter) -> anyhow::Result<MetricsServer> {
    let data = web::Data::new(exporter);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(metrics_route))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(listen)
    .map_err(|e| anyhow::anyhow!("BECKON_METRICS_LISTEN: cannot listen on {listen}: {e}"))?;
    let addr = server.addrs().first().copied().unwrap_or(listen);
    let server = server.run();
    Ok(MetricsServer {
        addr,
        handle: server.handle(),
        server,
    })
}

#[cfg(test)]
mod tests {
    use beckon_ports::{ManualClock, MockOutboxStats, OutboxBacklog, OutboxKind, StoreError};
    use chrono::{DateTime, TimeDelta};

    use super::*;

    /// Scrapes `outbox` at `now` with a recorder of the test's own.
    fn scrape(outbox: MockOutboxStats, now: DateTime<chrono::Utc>) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        let exporter = Exporter {
            handle: recorder.handle(),
            outbox: Arc::new(outbox),
            clock: Arc::new(ManualClock::new(now)),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        metrics::with_local_recorder(&recorder, || runtime.block_on(exporter.scrape()))
    }

    #[test]
    fn a_scrape_samples_the_backlog_and_the_oldest_messages_age() {
        let now = DateTime::UNIX_EPOCH + TimeDelta::days(1);
        let mut outbox = MockOutboxStats::new();
        outbox.expect_backlog().times(1).returning(move || {
            Ok(vec![OutboxBacklog {
                kind: OutboxKind::Email,
                pending: 3,
                oldest_queued_at: Some(now - TimeDelta::milliseconds(90_500)),
            }])
        });
        let text = scrape(outbox, now);
        assert!(
            text.contains("beckon_outbox_pending{kind=\"email\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("beckon_outbox_oldest_pending_seconds{kind=\"email\"} 90.5\n"),
            "{text}"
        );
    }

    #[test]
    fn an_empty_outbox_has_no_age() {
        let mut outbox = MockOutboxStats::new();
        outbox.expect_backlog().returning(|| {
            Ok(vec![OutboxBacklog {
                kind: OutboxKind::Email,
                pending: 0,
                oldest_queued_at: None,
            }])
        });
        let text = scrape(outbox, DateTime::UNIX_EPOCH);
        assert!(
            text.contains("beckon_outbox_pending{kind=\"email\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("beckon_outbox_oldest_pending_seconds{kind=\"email\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn a_backlog_that_cannot_be_read_leaves_the_rest_served() {
        let mut outbox = MockOutboxStats::new();
        outbox.expect_backlog().returning(|| {
            Err(StoreError::Unavailable(anyhow::anyhow!(
                "connection refused"
            )))
        });
        let recorder = PrometheusBuilder::new().build_recorder();
        let exporter = Exporter {
            handle: recorder.handle(),
            outbox: Arc::new(outbox),
            clock: Arc::new(ManualClock::new(DateTime::UNIX_EPOCH)),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let text = metrics::with_local_recorder(&recorder, || {
            metrics::counter!(REQUESTS_TOTAL, "route" => "/healthz").increment(1);
            runtime.block_on(exporter.scrape())
        });
        assert!(
            text.contains("beckon_http_requests_total{route=\"/healthz\"} 1"),
            "{text}"
        );
        assert!(!text.contains(OUTBOX_PENDING), "{text}");
    }
}
