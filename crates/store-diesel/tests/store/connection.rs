//! URLs, `sqlite::memory:`, and an unreachable database.

use std::future::Future;
use std::time::Duration;

use beckon_ports::{Health, StoreError, TenantRepo, UserRepo};
use beckon_store_diesel::{Store, StoreOptions};

use crate::support::{TestDb, new_user, t0, tenant};

/// Awaits `op`, failing the test if it never ends: the store's own limits
/// must end it. The limit only stops a hung test; what a test asserts is
/// the answer, never how long it took.
async fn bounded<T>(op: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), op)
        .await
        .expect("the operation never ended: no time limit applied")
}

fn quick() -> StoreOptions {
    StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_is_one_database_across_calls() {
    let store = Store::connect("sqlite::memory:", &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let t = tenant(&store, "Acme").await;
    let (new, token) = new_user(&t, "ada@example.com", t0());
    store.insert_invited(&new).await.unwrap();
    // Concurrent readers all see the same (single-connection) database.
    let reads: Vec<_> = (0..4)
        .map(|_| {
            let s = store.clone();
            let id = t.id;
            tokio::spawn(async move { TenantRepo::get(&s, id).await.unwrap() })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.unwrap(), Some(t.clone()));
    }
    assert!(store.find_by_token(&token.hash()).await.unwrap().is_some());
}

#[tokio::test(flavor = "current_thread")]
async fn migrations_also_run_on_a_current_thread_runtime() {
    let store = Store::connect("sqlite::memory:", &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Health::ping(&store).await.unwrap();
}

#[tokio::test]
async fn an_unsupported_url_is_refused_with_a_clear_error() {
    for url in ["mysql://localhost/beckon", "beckon.db", "sqlite://"] {
        let err = Store::connect(url, &StoreOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unexpected(_)), "{url}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unopenable_sqlite_file_is_unavailable() {
    let store = Store::connect("sqlite:///nonexistent-beckon-dir/x/beckon.db", &quick())
        .await
        .unwrap();
    let err = Health::ping(&store).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_is_unavailable_promptly() {
    let store = Store::connect("postgres://postgres@127.0.0.1:1/beckon", &quick())
        .await
        .unwrap();
    let err = bounded(Health::ping(&store)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let tenant = beckon_ports::TenantId::from_uuid(uuid::Uuid::now_v7());
    let err = TenantRepo::get(&store, tenant).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_postgres_is_unavailable_once_the_acquire_timeout_ends_the_wait() {
    // A server that takes the connection and never answers (the kernel
    // completes the handshake; nobody reads): only our timeout ends the
    // wait. On 127.0.0.1, so the test sends nothing off this machine.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let opts = StoreOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(300),
        ..StoreOptions::default()
    };
    let store = Store::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/beckon"),
        &opts,
    )
    .await
    .unwrap();
    let err = bounded(Health::ping(&store)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_is_switched_to_write_ahead_logging() {
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let (_store, db) = crate::support::TestDb::sqlite().await;
    let mut c = db.connect_sqlite().await;
    let mode: Mode =
        diesel_async::RunQueryDsl::get_result(diesel::sql_query("PRAGMA journal_mode"), &mut c)
            .await
            .unwrap();
    assert_eq!(mode.journal_mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_blocked_by_another_writer_is_unavailable_and_the_store_recovers() {
    use diesel_async::SimpleAsyncConnection;
    let (store, db) = crate::support::TestDb::sqlite().await;
    tenant(&store, "Before").await;

    // Another connection (another process, say) holds the write lock: the
    // write waits out SQLite's 5 s busy timeout, which is its bound (the
    // store puts no time limit of its own on SQLite work).
    let mut blocker = db.connect_sqlite().await;
    blocker.batch_execute("BEGIN IMMEDIATE").await.unwrap();
    let t = beckon_ports::Tenant {
        locale: beckon_ports::Locale::En,
        id: beckon_ports::TenantId::from_uuid(uuid::Uuid::now_v7()),
        name: beckon_ports::TenantName::parse("Blocked").unwrap(),
        created_at: t0(),
    };
    let err = bounded(TenantRepo::create(&store, &t)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // Reads still answer meanwhile (WAL).
    assert!(TenantRepo::get(&store, t.id).await.unwrap().is_none());

    blocker.batch_execute("ROLLBACK").await.unwrap();
    // The write that failed changed nothing; the store writes again.
    assert!(TenantRepo::get(&store, t.id).await.unwrap().is_none());
    TenantRepo::create(&store, &t).await.unwrap();
    assert!(TenantRepo::get(&store, t.id).await.unwrap().is_some());
}

/// `beckon serve`'s shape: the store built on a multi-threaded runtime,
/// used from single-threaded ones (the HTTP workers). Each of those gets a
/// pool of its own, the pools together stay within `max_connections`, and
/// when one such runtime ends (its connections end with it) the shared pool
/// and the other runtimes' pools still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_single_threaded_runtime_gets_a_pool_of_its_own_within_the_limit() {
    let Some((_, db)) = TestDb::postgres().await else {
        eprintln!("skipped: BECKON_TEST_DATABASE_URL is unset");
        return;
    };
    let TestDb::Postgres { url, .. } = &db else {
        unreachable!("a PostgreSQL database")
    };
    let opts = StoreOptions {
        max_connections: 4,
        worker_runtimes: 1,
        ..StoreOptions::default()
    };
    assert_eq!(opts.pool_size(), 2);
    let store = Store::connect(url, &opts).await.unwrap();
    store.migrate().await.unwrap();
    // Six pings at once on a single-threaded runtime of its own, on a
    // thread of its own; the runtime ends with the thread.
    let on_a_worker = |store: Store| {
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let pings = (0..6).map(|_| Health::ping(&store));
                for ping in futures_util::future::join_all(pings).await {
                    ping.unwrap();
                }
            });
        })
        .join()
        .unwrap();
    };
    let open = || {
        db.count(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    };
    let pings = (0..6).map(|_| Health::ping(&store));
    for ping in futures_util::future::join_all(pings).await {
        ping.unwrap();
    }
    assert_eq!(open().await, 2, "the shared pool holds two");
    on_a_worker(store.clone());
    assert!(
        open().await <= 4,
        "at most two in the shared pool and two in the worker's"
    );
    // That runtime and its connections are gone; the rest still work.
    bounded(Health::ping(&store)).await.unwrap();
    on_a_worker(store.clone());
    bounded(Health::ping(&store)).await.unwrap();
}
