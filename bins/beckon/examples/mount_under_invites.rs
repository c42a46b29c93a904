//! Beckon mounted under `/invites` of another actix-web application that
//! keeps a route of its own (`/hello`), with Beckon's outbox delivered by
//! `beckon::worker::deliver_until` beside it. `cargo run -p beckon --example
//! mount_under_invites` serves on a free port, makes a few requests, prints
//! what came back and stops; `cargo test` runs it the same way.

use std::collections::HashMap;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use beckon::{config::Config, system::Sources, wiring, worker};
use beckon_http::{AppState, DEFAULT_BODY_LIMIT};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Beckon wired as `beckon serve` wires it, on a database in memory.
    let mail = tempfile::tempdir()?;
    let mut cfg = Config::from_vars(&HashMap::new())?;
    cfg.database_url = "sqlite::memory:".to_owned();
    cfg.mailer = format!("file://{}", mail.path().display());
    // The link in the invite email must point under the prefix too.
    cfg.accept_url = "http://127.0.0.1:8080/invites/invite?token={token}".to_owned();
    let (beckon, _store) = wiring::application(&cfg, &Sources::system(), 1).await?;

    // The email Beckon's requests queue goes out through this loop, as in
    // `beckon serve`; it stops when `stop_delivery` is sent (or dropped).
    let (stop_delivery, delivery_stopped) = tokio::sync::oneshot::channel::<()>();
    let delivery = tokio::spawn(worker::deliver_until(
        beckon.deliver_outbox.clone(),
        async move {
            let _ = delivery_stopped.await;
        },
    ));

    let state = AppState {
        beckon,
        body_limit: DEFAULT_BODY_LIMIT,
    };

    // The host application: its own route, and Beckon under `/invites`.
    let server = HttpServer::new(move || {
        App::new()
            .route("/hello", web::get().to(|| async { "Hello from the host." }))
            .service(beckon_http::scope(state.clone(), "/invites"))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")?;
    let addr = *server.addrs().first().context("a bound address")?;
    let server = server.run();
    let handle = server.handle();
    let serving = tokio::spawn(server);

    let client = reqwest::Client::new();
    for (path, expected) in [
        ("/hello", 200),
        ("/invites/healthz", 200),
        ("/invites/v1/users", 401), // no API key
        ("/invites/nope", 404),     // Beckon's JSON 404, under the prefix
    ] {
        let resp = client.get(format!("http://{addr}{path}")).send().await?;
        let status = resp.status().as_u16();
        let request_id = resp.headers().get("x-request-id").cloned();
        let request_id = request_id.as_ref().and_then(|v| v.to_str().ok());
        println!("GET {path} -> {status}, X-Request-ID {request_id:?}");
        println!("    {}", resp.text().await?);
        anyhow::ensure!(status == expected, "GET {path}: {status}, not {expected}");
    }

    // Stop serving first, so that no request queues email the worker would
    // no longer send; then stop the worker (it finishes the batch it holds).
    handle.stop(true).await;
    serving.await??;
    let _ = stop_delivery.send(());
    delivery.await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_serves_beckon_under_invites_and_stops_by_itself() -> anyhow::Result<()> {
        super::main()
    }
}
