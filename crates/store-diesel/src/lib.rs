//! Beckon's storage adapter: every storage port of `beckon-ports` on
//! diesel-async, for PostgreSQL and SQLite, with one repository body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), beckon_ports::StoreError> {
//! use beckon_store_diesel::{Store, StoreOptions};
//! let store = Store::connect("sqlite://beckon.db", &StoreOptions::default()).await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod conn;
mod connection;
mod errors;
mod migrate;
mod outbox_stats;
mod repo;
mod retention;
mod retry;
mod rows;
mod schema;
mod sql_types;
mod sqlite;
mod store;
mod tls;

pub use connection::StoreOptions;
pub use store::Store;
