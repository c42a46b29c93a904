//! Adapter tests against real databases: a SQLite temp file always, and a
//! fresh PostgreSQL database per test when `BECKON_TEST_DATABASE_URL` is set
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod admin;
mod concurrency;
mod conformance;
mod connection;
mod idempotency;
mod measure;
mod outbox;
mod schema_parity;
mod upgrade;
mod users;
