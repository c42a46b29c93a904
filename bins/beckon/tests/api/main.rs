//! API tests: the real app on port 0 over a temporary SQLite file, checked
//! against CONTRACT §1 from the outside, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accept;
mod auth;
mod helpers;
mod idempotency;
mod mail;
mod ops;
mod resend;
mod shutdown;
mod unavailable;
mod users;
