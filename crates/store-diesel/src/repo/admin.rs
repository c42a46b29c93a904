//! The tenants, API keys, idempotency, audit and health bodies (see
//! `admin_body!`), instantiated per backend.

/// Expands to the small repositories for one connection type; arguments as
/// for `users_body!`.
macro_rules! admin_body {
    ($conn:ty, $pool:ty, $db:ty, $begin:ident) => {
        pub mod admin {
            use beckon_ports::{
                ApiKeyId, ApiKeyRecord, AuditEntry, IdempotencyKey, IdempotencyRecord, StoreError,
                Tenant, TenantId,
            };
            use chrono::{DateTime, Utc};
            use diesel::prelude::*;
            #[allow(unused_imports)]
            use diesel_async::AsyncConnection as _;
            use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

            use crate::errors::{TxError, is_fk_violation};
            use crate::retry::with_retry;
            use crate::rows::{ApiKeyRow, AuditRow, IdempotencyRow, TenantRow};
            use crate::schema::{api_keys, audit_log, idempotency_records, tenants};
            use crate::sql_types::{DbTime, DbUuid};

            type Conn = $conn;
            type Db = $pool;

            pub async fn create_tenant(db: &Db, t: &Tenant) -> Result<(), StoreError> {
                with_retry("creating a tenant", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| {
                            diesel::insert_into(tenants::table)
                                .values(TenantRow::new(t))
                                .execute(c)
                                .await?;
                            Ok::<_, TxError>(())
                        })
                        .await
                    })
                })
                .await
            }

            pub async fn get_tenant(db: &Db, id: TenantId) -> Result<Option<Tenant>, StoreError> {
                let run = db.timed(async |c| {
                    let row = tenants::table
                        .filter(tenants::id.eq(DbUuid::from(id)))
                        .select(TenantRow::as_select())
                        .first::<TenantRow>(c)
                        .await
                        .optional()?;
                    row.map(TenantRow::into_tenant).transpose()
                });
                run.await
                    .map_err(|e: TxError| e.into_store("reading a tenant"))
            }

            pub async fn create_key(db: &Db, k: &ApiKeyRecord) -> Result<(), StoreError> {
                with_retry("creating an API key", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| {
                            diesel::insert_into(api_keys::table)
                                .values(ApiKeyRow::new(k))
                                .execute(c)
                                .await
                                .map_err(|e| {
                                    if is_fk_violation(&e) {
                                        TxError::Store(StoreError::MissingReference)
                                    } else {
                                        TxError::Db(e)
                                    }
                                })?;
                            Ok::<_, TxError>(())
                        })
                        .await
                    })
                })
                .await
            }

            /// Named global lookup: a presented key names no tenant.
            pub async fn find_key(
                db: &Db,
                id: ApiKeyId,
            ) -> Result<Option<ApiKeyRecord>, StoreError> {
                let run = db.timed(async |c| {
                    let row = api_keys::table
                        .inner_join(tenants::table)
                        .filter(api_keys::id.eq(DbUuid::from(id)))
                        .select((ApiKeyRow::as_select(), tenants::name))
                        .first::<(ApiKeyRow, String)>(c)
                        .await
                        .optional()?;
                    row.map(|(k, tenant_name)| k.into_record(&tenant_name))
                        .transpose()
                });
                run.await
                    .map_err(|e: TxError| e.into_store("reading an API key"))
            }

            /// Keeps an earlier revocation time: revoking twice is harmless.
            pub async fn revoke_key(
                db: &Db,
                id: ApiKeyId,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                with_retry("revoking an API key", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| {
                            let key = api_keys::table.filter(api_keys::id.eq(DbUuid::from(id)));
                            let changed =
                                diesel::update(key.filter(api_keys::revoked_at.is_null()))
                                    .set(api_keys::revoked_at.eq(DbTime::from(at)))
                                    .execute(c)
                                    .await?;
                            if changed > 0 {
                                return Ok::<_, TxError>(true);
                            }
                            let exists = diesel::select(diesel::dsl::exists(key))
                                .get_result::<bool>(c)
                                .await?;
                            Ok(exists)
                        })
                        .await
                    })
                })
                .await
            }

            pub async fn find_idempotency(
                db: &Db,
                t: TenantId,
                key: &IdempotencyKey,
                not_before: DateTime<Utc>,
            ) -> Result<Option<IdempotencyRecord>, StoreError> {
                let run = db.timed(async |c| {
                    let row = idempotency_records::table
                        .filter(idempotency_records::tenant_id.eq(DbUuid::from(t)))
                        .filter(idempotency_records::idempotency_key.eq(key.as_str()))
                        .filter(idempotency_records::created_at.ge(DbTime::from(not_before)))
                        .select(IdempotencyRow::as_select())
                        .first::<IdempotencyRow>(c)
                        .await
                        .optional()?;
                    row.map(IdempotencyRow::into_record).transpose()
                });
                run.await
                    .map_err(|e: TxError| e.into_store("reading an idempotency record"))
            }

            pub async fn record_audit(db: &Db, a: &AuditEntry) -> Result<(), StoreError> {
                with_retry("writing an audit line", || {
                    db.timed(async |conn: &mut Conn| {
                        conn.$begin(async |c| {
                            diesel::insert_into(audit_log::table)
                                .values(AuditRow::new(a))
                                .execute(c)
                                .await?;
                            Ok::<_, TxError>(())
                        })
                        .await
                    })
                })
                .await
            }

            pub async fn ping(db: &Db) -> Result<(), StoreError> {
                db.timed(async |c| Ok(c.batch_execute("SELECT 1").await?))
                    .await
                    .map_err(|e| e.into_store("pinging the database"))
            }
        }
    };
}

pub(crate) use admin_body;
