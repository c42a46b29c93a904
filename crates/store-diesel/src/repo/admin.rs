//! Tenants, API keys and idempotency records: the small repositories,
//! written once for both backends (see `conn.rs`).

use beckon_ports::{
    ApiKeyId, ApiKeyRecord, IdempotencyKey, IdempotencyRecord, StoreError, Tenant, TenantId,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::conn::Conn;
use crate::errors::{TxError, is_fk_violation};
use crate::rows::{ApiKeyRow, IdempotencyRow, TenantRow};
use crate::schema::{api_keys, idempotency_records, tenants};
use crate::sql_types::{DbTime, DbUuid};

/// Write body: a new tenant.
pub async fn create_tenant(c: &impl Conn, t: &Tenant) -> Result<(), TxError> {
    c.execute(diesel::insert_into(tenants::table).values(TenantRow::new(t)))
        .await?;
    Ok(())
}

/// The tenant, or `None`.
pub async fn get_tenant(c: &impl Conn, id: TenantId) -> Result<Option<Tenant>, TxError> {
    let rows = c
        .load::<TenantRow, _>(
            tenants::table
                .filter(tenants::id.eq(DbUuid::from(id)))
                .select(tenants::all_columns)
                .limit(1),
        )
        .await?;
    rows.into_iter()
        .next()
        .map(TenantRow::into_tenant)
        .transpose()
}

/// Write body: a new API key; `MissingReference` without its tenant.
pub async fn create_key(c: &impl Conn, k: &ApiKeyRecord) -> Result<(), TxError> {
    c.execute(diesel::insert_into(api_keys::table).values(ApiKeyRow::new(k)))
        .await
        .map_err(|e| {
            if is_fk_violation(&e) {
                TxError::Store(StoreError::MissingReference)
            } else {
                TxError::Db(e)
            }
        })?;
    Ok(())
}

/// Named global lookup: a presented key names no tenant.
pub async fn find_key(c: &impl Conn, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, TxError> {
    let rows = c
        .load::<(ApiKeyRow, String, String), _>(
            api_keys::table
                .inner_join(tenants::table)
                .filter(api_keys::id.eq(DbUuid::from(id)))
                .select((api_keys::all_columns, tenants::name, tenants::locale))
                .limit(1),
        )
        .await?;
    rows.into_iter()
        .next()
        .map(|(k, tenant_name, locale)| k.into_record(&tenant_name, &locale))
        .transpose()
}

/// Write body: marks the key revoked, keeping the first revocation time
/// (revoking twice is harmless); `false` when there is no such key.
pub async fn revoke_key(c: &impl Conn, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, TxError> {
    let key = api_keys::table.filter(api_keys::id.eq(DbUuid::from(id)));
    let changed = c
        .execute(
            diesel::update(key.filter(api_keys::revoked_at.is_null()))
                .set(api_keys::revoked_at.eq(DbTime::from(at))),
        )
        .await?;
    if changed > 0 {
        return Ok(true);
    }
    let found = c
        .load::<DbUuid, _>(key.select(api_keys::id).limit(1))
        .await?;
    Ok(!found.is_empty())
}

/// The record for this tenant and key created at or after `not_before`.
pub async fn find_idempotency(
    c: &impl Conn,
    t: TenantId,
    key: &IdempotencyKey,
    not_before: DateTime<Utc>,
) -> Result<Option<IdempotencyRecord>, TxError> {
    let rows = c
        .load::<IdempotencyRow, _>(
            idempotency_records::table
                .filter(idempotency_records::tenant_id.eq(DbUuid::from(t)))
                .filter(idempotency_records::idempotency_key.eq(key.as_str().to_owned()))
                .filter(idempotency_records::created_at.ge(DbTime::from(not_before)))
                .select(idempotency_records::all_columns)
                .limit(1),
        )
        .await?;
    rows.into_iter()
        .next()
        .map(IdempotencyRow::into_record)
        .transpose()
}
