//! `Retention` on the database store.

use async_trait::async_trait;
use beckon_ports::{PruneBefore, Pruned, Retention, StoreError};

use crate::repo::retention;
use crate::store::{Backend, Store, answer, detached};

#[async_trait]
impl Retention for Store {
    async fn prune(&self, before: &PruneBefore) -> Result<Pruned, StoreError> {
        let b = *before;
        let result = match &self.backend {
            Backend::Postgres(db) => {
                let db = db.clone();
                detached(async move { db.write(async |c| retention::prune(c, &b).await).await })
                    .await
            }
            Backend::Sqlite(db) => db.write(async move |c| retention::prune(c, &b).await).await,
        };
        answer(result, "pruning old rows")
    }
}
