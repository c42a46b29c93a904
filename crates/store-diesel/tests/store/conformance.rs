//! The storage ports' conformance suite (`beckon-store-conformance`)
//! against both backends, each contract on a database of its own.

use std::sync::{Arc, Mutex};

use beckon_store_conformance::run_all;

use crate::support::{TestDb, pg_admin_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_storage_contract() {
    // The databases outlive their contracts (a store must not lose its
    // file mid-contract) and go when the test ends, passed or not.
    let dbs = Arc::new(Mutex::new(Vec::new()));
    run_all(|| {
        let dbs = Arc::clone(&dbs);
        async move {
            let (store, db) = TestDb::sqlite().await;
            dbs.lock().unwrap().push(db);
            store
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_storage_contract() {
    if pg_admin_url().is_none() {
        eprintln!("BECKON_TEST_DATABASE_URL unset: skipped");
        return;
    }
    let dbs = Arc::new(Mutex::new(Vec::new()));
    run_all(|| {
        let dbs = Arc::clone(&dbs);
        async move {
            let (store, db) = TestDb::postgres()
                .await
                .expect("BECKON_TEST_DATABASE_URL is set");
            dbs.lock().unwrap().push(db);
            store
        }
    })
    .await;
}
