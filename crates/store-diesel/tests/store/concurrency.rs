//! Concurrent writers: the optimistic version check and the unique keys
//! decide, without locks in the caller.

use beckon_ports::{StoreError, UserRepo, WriteOutcome};
use chrono::Duration;

use crate::support::{new_user, rotation, store_test, t0, tenant};

store_test! {
    async fn of_eight_rotations_at_one_version_exactly_one_applies(store, db) {
        let t = tenant(&store, "Acme").await;
        let (new, _) = new_user(&t, "ada@example.com", t0());
        store.insert_invited(&new).await.unwrap();

        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (r, _) = rotation(&t, &new.user, 0, t0() + Duration::seconds(i));
                let s = store.clone();
                tokio::spawn(async move { s.rotate_invite(&r).await.unwrap() })
            })
            .collect();
        let mut applied = 0;
        for task in tasks {
            if task.await.unwrap() == WriteOutcome::Applied {
                applied += 1;
            }
        }
        assert_eq!(applied, 1);
        let user = store.get(t.id, new.user.id).await.unwrap().unwrap();
        assert_eq!((user.version, user.invite.unwrap().sends), (1, 2));
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox").await, 2);
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM invite_sends").await, 2);
    }
}

store_test! {
    async fn of_eight_simultaneous_invites_of_one_email_exactly_one_succeeds(store, db) {
        let t = tenant(&store, "Acme").await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                // The same address in eight spellings of letter case.
                let email: String = "ada@example.com"
                    .chars()
                    .enumerate()
                    .map(|(j, c)| if j < 3 && (i >> j) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                    .collect();
                let (new, _) = new_user(&t, &email, t0());
                let s = store.clone();
                tokio::spawn(async move { s.insert_invited(&new).await })
            })
            .collect();
        let (mut ok, mut taken) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(StoreError::EmailTaken) => taken += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, taken), (1, 7));
        assert_eq!(db.count("SELECT COUNT(*) AS n FROM outbox").await, 1);
    }
}
