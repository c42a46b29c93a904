//! `beckon serve`: the HTTP server, the outbox worker, the webhook worker,
//! the pruner and the metrics listener, started together and stopped together (gracefully: in-flight
//! requests finish, the worker finishes the batch it is sending).

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use beckon_domain::{Beckon, DeliverWebhooks, DeliveryPolicy, PruneExpired};
use beckon_http::{AppState, DEFAULT_BODY_LIMIT};
use beckon_webhook::HttpWebhookSender;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::exporter::{self, Exporter};
use crate::system::Sources;
use crate::{wiring, worker};

/// A running server and worker.
pub struct Running {
    /// Where the server listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    handle: ServerHandle,
    server: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
    stop_worker: oneshot::Sender<()>,
    metrics: Option<Metrics>,
    pruner: Option<(JoinHandle<()>, oneshot::Sender<()>)>,
    webhooks: Option<(JoinHandle<()>, oneshot::Sender<()>)>,
}

/// The metrics listener of a running server.
struct Metrics {
    addr: SocketAddr,
    handle: ServerHandle,
    server: JoinHandle<std::io::Result<()>>,
}

/// Options that only tests change.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Listen for SIGINT/SIGTERM (off in tests, which share a process).
    pub signals: bool,
    /// HTTP worker threads.
    pub workers: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            signals: true,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Migrates, binds and starts serving and delivering, with time and
/// randomness from `sources` (`Sources::system()` for `beckon serve`).
/// With `BECKON_METRICS_LISTEN` set it also installs the Prometheus
/// recorder and serves `GET /metrics` there.
pub async fn start(cfg: &Config, opts: ServeOptions, sources: &Sources) -> anyhow::Result<Running> {
    let (beckon, store) = wiring::application(cfg, sources, opts.workers).await?;
    let deliver_webhooks = Arc::new(DeliverWebhooks::new(
        Arc::new(store.clone()),
        Arc::new(HttpWebhookSender::new()?),
        sources.clock.clone(),
        sources.random.clone(),
        DeliveryPolicy::default(),
    ));
    let prune = Arc::new(PruneExpired::new(
        Arc::new(store.clone()),
        sources.clock.clone(),
        cfg.retention,
    ));
    // Bound before the API so that a taken metrics port stops the start
    // before anything is served.
    let metrics = match cfg.metrics_listen {
        Some(listen) => {
            let exporter = Exporter {
                handle: exporter::install()?,
                outbox: Arc::new(store),
                clock: sources.clock.clone(),
            };
            let bound = exporter::bind(listen, exporter)?;
            tracing::info!(addr = %bound.addr, "serving metrics");
            Some(Metrics {
                addr: bound.addr,
                handle: bound.handle,
                server: tokio::spawn(bound.server),
            })
        }
        None => None,
    };
    let mut running = match start_with(beckon, cfg.listen, opts) {
        Ok(running) => running,
        Err(e) => {
            if let Some(m) = metrics {
                m.handle.stop(false).await;
            }
            return Err(e);
        }
    };
    running.metrics = metrics;
    let (stop_pruner, stopped) = oneshot::channel();
    let pruner = tokio::spawn(worker::prune_until(prune, async move {
        let _ = stopped.await;
    }));
    running.pruner = Some((pruner, stop_pruner));
    let (stop_webhooks, stopped) = oneshot::channel();
    let webhooks = tokio::spawn(worker::deliver_until(deliver_webhooks, async move {
        let _ = stopped.await;
    }));
    running.webhooks = Some((webhooks, stop_webhooks));
    Ok(running)
}

/// Starts serving `beckon` on `listen` and delivering its outbox
/// ([`worker::deliver_until`]).
pub fn start_with(
    beckon: Beckon,
    listen: SocketAddr,
    opts: ServeOptions,
) -> anyhow::Result<Running> {
    let deliver = beckon.deliver_outbox.clone();
    let state = AppState {
        beckon,
        body_limit: DEFAULT_BODY_LIMIT,
    };
    let mut server = HttpServer::new(move || beckon_http::app(state.clone()))
        .workers(opts.workers)
        .shutdown_timeout(30);
    if !opts.signals {
        server = server.disable_signals();
    }
    let server = server
        .bind(listen)
        .map_err(|e| anyhow::anyhow!("BECKON_LISTEN: cannot listen on {listen}: {e}"))?;
    let addr = server.addrs().first().copied().unwrap_or(listen);
    let server = server.run();
    let handle = server.handle();
    let (stop_worker, stopped) = oneshot::channel();
    let worker = tokio::spawn(worker::deliver_until(deliver, async move {
        // Sent, or dropped with `Running`: either way, stop.
        let _ = stopped.await;
    }));
    tracing::info!(%addr, "serving");
    Ok(Running {
        addr,
        handle,
        server: tokio::spawn(server),
        worker,
        stop_worker,
        metrics: None,
        pruner: None,
        webhooks: None,
    })
}

impl Running {
    /// Where `GET /metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.addr)
    }

    /// Waits until the server stops (on a signal), then stops the worker
    /// and the metrics listener.
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.server.await;
        let _ = self.stop_worker.send(());
        let _ = self.worker.await;
        for (task, stop) in [self.pruner, self.webhooks].into_iter().flatten() {
            let _ = stop.send(());
            let _ = task.await;
        }
        if let Some(m) = self.metrics {
            m.handle.stop(true).await;
            let _ = m.server.await;
        }
        tracing::info!("stopped");
        result??;
        Ok(())
    }

    /// Stops serving (gracefully unless `graceful` is false) and waits.
    pub async fn stop(self, graceful: bool) -> anyhow::Result<()> {
        self.handle.stop(graceful).await;
        self.wait().await
    }
}
