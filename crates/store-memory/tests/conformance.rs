//! The storage ports' conformance suite against the memory store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use beckon_store_conformance::{contracts, run_all};
use beckon_store_memory::MemoryStore;

#[tokio::test]
async fn the_memory_store_keeps_every_storage_contract() {
    run_all(|| async { MemoryStore::new() }).await;
}

#[test]
fn every_contract_has_a_name_of_its_own() {
    let all = contracts::<MemoryStore>();
    let names: HashSet<&str> = all.iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), all.len(), "{all:?}");
}
