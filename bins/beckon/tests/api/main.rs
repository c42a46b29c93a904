//! API tests: the real app on port 0, checked against CONTRACT §1 from the
//! outside, one module per area. Every test runs on a temporary SQLite file
//! and, when `BECKON_TEST_DATABASE_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), again on a fresh
//! PostgreSQL database of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accept;
mod auth;
mod browser;
mod docs;
mod helpers;
mod idempotency;
mod isolation;
mod lifecycle;
mod locale;
mod mail;
mod mounted;
mod ops;
#[path = "../common/pg.rs"]
mod pg;
mod request_ids;
mod resend;
mod shutdown;
mod unavailable;
mod users;
