//! The storage ports' contracts as a test suite. `beckon-ports` states what
//! every storage adapter MUST do (`beckon_ports::store`); this crate checks
//! it, through the ports alone, against any adapter: Beckon runs it against
//! its in-memory store, SQLite and PostgreSQL, and an embedder can run it
//! against their own.
//!
//! Each contract is a public async function that takes a fresh, empty,
//! migrated store, exercises one promise of one port, and panics with a
//! message naming the promise when the store breaks it. [`run_all`] runs
//! every contract, each on a fresh store, and fails naming every contract
//! that was violated:
//!
//! ```ignore
//! #[tokio::test]
//! async fn my_store_keeps_every_storage_contract() {
//!     beckon_store_conformance::run_all(|| async { MyStore::connect_fresh().await }).await;
//! }
//! ```
//!
//! One contract alone (to debug it) is a call of its function:
//! `beckon_store_conformance::outbox_settle::a_retry_ends_the_lease_and_makes_the_message_due_again_later(store).await`.
//!
//! The suite needs no particular async runtime. Its concurrency contracts
//! start their calls together on one task; a store that runs them in
//! parallel (on a pool, on threads) is exercised in parallel.
#![forbid(unsafe_code)]
// A test library: its job is to panic, with a message, when a store breaks
// a promise, so the workspace's denial of panics and unwraps is lifted here.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod activations;
pub mod api_keys;
pub mod audit;
pub mod fixtures;
pub mod health;
pub mod idempotency;
pub mod inserts;
pub mod lifecycle;
pub mod outbox_claim;
pub mod outbox_settle;
pub mod outbox_stats;
pub mod retention;
pub mod rotations;
pub mod tenants;
pub mod users;
pub mod webhooks;

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use beckon_ports::StoreError;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

/// A store the suite can check: every storage port at once
/// ([`beckon_ports::Storage`], what `beckon_domain::Ports::builder` takes)
/// the monitoring view of the outbox ([`beckon_ports::OutboxStats`]),
/// retention ([`beckon_ports::Retention`]) and webhooks
/// ([`beckon_ports::WebhookRepo`]),
/// and `Clone` with every clone sharing the same data (the concurrency
/// contracts call one store from several futures). Implemented for every
/// type that is both.
pub trait Storage:
    beckon_ports::Storage
    + beckon_ports::OutboxStats
    + beckon_ports::Retention
    + beckon_ports::WebhookRepo
    + Clone
{
}

impl<T> Storage for T where
    T: beckon_ports::Storage
        + beckon_ports::OutboxStats
        + beckon_ports::Retention
        + beckon_ports::WebhookRepo
        + Clone
{
}

/// One promise of one port, checked on a fresh store.
pub struct Contract<S> {
    port: &'static str,
    name: &'static str,
    check: fn(S) -> BoxFuture<'static, ()>,
}

impl<S> Contract<S> {
    /// A contract of `port` named `name` (its function's name), checked by
    /// `check`.
    pub const fn new(
        port: &'static str,
        name: &'static str,
        check: fn(S) -> BoxFuture<'static, ()>,
    ) -> Self {
        Self { port, name, check }
    }

    /// The port it belongs to (`"OutboxRepo"`).
    pub fn port(&self) -> &'static str {
        self.port
    }

    /// Its name: the name of its function.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Checks it on `store` (fresh and empty); panics when it is violated.
    pub async fn check(&self, store: S) {
        (self.check)(store).await;
    }
}

impl<S> fmt::Debug for Contract<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.port, self.name)
    }
}

/// Every contract, port by port.
pub fn contracts<S: Storage>() -> Vec<Contract<S>> {
    [
        tenants::contracts(),
        api_keys::contracts(),
        users::contracts(),
        inserts::contracts(),
        rotations::contracts(),
        activations::contracts(),
        idempotency::contracts(),
        audit::contracts(),
        health::contracts(),
        outbox_claim::contracts(),
        outbox_settle::contracts(),
        lifecycle::contracts(),
        outbox_stats::contracts(),
        retention::contracts(),
        webhooks::contracts(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Runs every contract, each on a store of its own from `fresh` (which
/// must answer an empty, migrated store every time), one after the other.
/// Panics after the last one when any was violated, naming each violated
/// contract with its failure.
pub async fn run_all<S, F, Fut>(mut fresh: F)
where
    S: Storage,
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
{
    let all = contracts::<S>();
    let mut violated = Vec::new();
    for contract in &all {
        let store = fresh().await;
        // A violated contract panics; catch it so the others still run and
        // the report names them all.
        let outcome = AssertUnwindSafe(contract.check(store)).catch_unwind().await;
        if let Err(panic) = outcome {
            violated.push(format!("{contract:?}: {}", panic_message(panic.as_ref())));
        }
    }
    if !violated.is_empty() {
        panic!(
            "{} of {} storage contracts violated:\n  - {}",
            violated.len(),
            all.len(),
            violated.join("\n  - ")
        );
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// The value of a call that must succeed; `doing` says what it was for.
#[track_caller]
pub(crate) fn ok<T>(result: Result<T, StoreError>, doing: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{doing}: the store answered {e:?} instead of succeeding"),
    }
}

/// The error of a call that must fail.
#[track_caller]
pub(crate) fn err<T: fmt::Debug>(result: Result<T, StoreError>, doing: &str) -> StoreError {
    match result {
        Ok(value) => panic!("{doing}: the store answered Ok({value:?}) instead of an error"),
        Err(e) => e,
    }
}
