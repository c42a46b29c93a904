//! The repository bodies: every statement Beckon runs, written once as
//! plain generic functions over `C: Conn` (see `conn.rs`), so that the same
//! code runs on PostgreSQL and on SQLite. Read bodies run on a connection,
//! write bodies inside a transaction that `Store` opens for them.

pub mod admin;
pub mod outbox;
pub mod outbox_stats;
pub mod retention;
pub mod users;
pub mod webhooks;
