//! `beckon serve`: the HTTP server and the outbox worker, started together
//! and stopped together (gracefully: in-flight requests finish, the worker
//! finishes the batch it is sending).

use std::net::SocketAddr;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use beckon_domain::Beckon;
use beckon_http::{AppState, DEFAULT_BODY_LIMIT};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
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
pub async fn start(cfg: &Config, opts: ServeOptions, sources: &Sources) -> anyhow::Result<Running> {
    let (beckon, _store) = wiring::application(cfg, sources).await?;
    start_with(beckon, cfg.listen, opts)
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
    })
}

impl Running {
    /// Waits until the server stops (on a signal), then stops the worker.
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.server.await;
        let _ = self.stop_worker.send(());
        let _ = self.worker.await;
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
