//! Idempotency-Key handling shared by the use cases that change a user.

use beckon_ports::{
    IdempotencyKey, IdempotencyRecord, IdempotencyStore, IdempotencyWrite, StoreError, TenantId,
    UserId,
};
use chrono::{DateTime, TimeDelta, Utc};

/// How long a key is remembered.
pub(crate) const WINDOW: TimeDelta = TimeDelta::hours(24);

/// What a key says about a request.
pub(crate) enum Lookup {
    /// Not seen (or seen too long ago): run the request.
    Fresh,
    /// Seen for this same request: replay its stored response.
    Replay(String),
    /// Seen for a different request.
    Reused,
}

/// Looks a key up for a request with `fingerprint`.
pub(crate) async fn lookup(
    store: &dyn IdempotencyStore,
    tenant: TenantId,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Lookup, StoreError> {
    let Some(key) = key else {
        return Ok(Lookup::Fresh);
    };
    Ok(match store.find(tenant, key, now - WINDOW).await? {
        None => Lookup::Fresh,
        Some(rec) if rec.fingerprint == fingerprint => Lookup::Replay(rec.response),
        Some(_) => Lookup::Reused,
    })
}

/// The record to write with a successful change, when the request has a key.
/// `about` is the user the stored response describes (erasing the user
/// erases the record), `None` when the response names nobody.
pub(crate) fn record(
    tenant: TenantId,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
    response: String,
    about: Option<UserId>,
    now: DateTime<Utc>,
) -> Option<IdempotencyWrite> {
    key.map(|key| IdempotencyWrite {
        record: IdempotencyRecord {
            tenant_id: tenant,
            key: key.clone(),
            fingerprint: fingerprint.to_owned(),
            response,
            created_at: now,
            user_id: about,
        },
        stale_before: now - WINDOW,
    })
}
