//! Rough timings, run on demand:
//! `cargo test -p beckon-store-diesel --release --test store measure -- --ignored --nocapture`.

use std::time::Instant;

use beckon_ports::{OutboxRepo, UserRepo, WriteOutcome};
use beckon_store_diesel::Store;
use chrono::Duration;

use crate::support::{TestDb, new_user, rotation, t0, tenant};

const N: i64 = 300;

async fn run(label: &str, store: Store) {
    let t = tenant(&store, "Acme").await;
    let (new, _) = new_user(&t, "ada@example.com", t0());
    store.insert_invited(&new).await.unwrap();
    let mut user = new.user;

    let started = Instant::now();
    for i in 0..N {
        let (r, _) = rotation(&t, &user, user.version, t0() + Duration::seconds(i));
        assert_eq!(
            store.rotate_invite(&r).await.unwrap(),
            WriteOutcome::Applied
        );
        user.version += 1;
    }
    let rotate = started.elapsed() / u32::try_from(N).unwrap();

    let started = Instant::now();
    for _ in 0..N {
        store.get(t.id, user.id).await.unwrap().unwrap();
    }
    let get = started.elapsed() / u32::try_from(N).unwrap();

    // 8 writers, each resending its own user.
    let mut users = Vec::new();
    for i in 0..8 {
        let (new, _) = new_user(&t, &format!("w{i}@example.com"), t0());
        store.insert_invited(&new).await.unwrap();
        users.push(new.user);
    }
    let started = Instant::now();
    let tasks: Vec<_> = users
        .into_iter()
        .map(|u| {
            let (s, t) = (store.clone(), t.clone());
            tokio::spawn(async move {
                for v in 0..N / 8 {
                    let (r, _) = rotation(&t, &u, v, t0() + Duration::seconds(v));
                    assert_eq!(s.rotate_invite(&r).await.unwrap(), WriteOutcome::Applied);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let parallel = started.elapsed() / u32::try_from(N / 8 * 8).unwrap();

    let started = Instant::now();
    let claimed = store
        .claim_due(t0() + Duration::hours(1), t0() + Duration::hours(2), 100)
        .await
        .unwrap();
    let claim = started.elapsed();

    println!(
        "{label}: rotate {rotate:?}/op sequential, {parallel:?}/op with 8 writers; \
         get {get:?}/op; claim of {} in {claim:?}",
        claimed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_write_and_read_latency() {
    let (store, _db) = TestDb::sqlite().await;
    run("sqlite file", store).await;
    if let Some((store, _db)) = TestDb::postgres().await {
        run("postgres", store).await;
    }
}
