//! The Beckon binary's library half: configuration, wiring, the system clock
//! and random source, the server and worker lifecycle, the outbox delivery
//! loop, the admin commands. `main.rs` only dispatches.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod admin;
pub mod cli;
pub mod config;
pub mod exporter;
pub mod server;
pub mod system;
pub mod telemetry;
pub mod wiring;
pub mod worker;
