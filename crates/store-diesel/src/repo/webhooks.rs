//! Webhook endpoints and the queue of events to deliver, written once for
//! both backends. An event is queued by the write that reports it, as one
//! `INSERT … SELECT … FROM webhooks`: a tenant without an endpoint gets
//! no row, and the write costs no extra round trip to find out.

use std::collections::HashMap;

use beckon_ports::{
    ClaimedEvent, Email, EventOutcome, EventSettlement, EventType, OutboxId, TenantId, UserId,
    WebhookEndpoint, WebhookEvent, WebhookSecret, WebhookUrl,
};
use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};

use crate::conn::{Conn, Reuse};
use crate::errors::{TxError, corrupt, is_fk_violation};
use crate::rows::{FAILED, PENDING};
use crate::schema::{due_events, outbox, webhook_events, webhooks};
use crate::sql_types::{DbTime, DbUuid, PortableTs, PortableUuid};

/// An event's states.
const DELIVERED: &str = "delivered";

/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 1000;

/// The columns an event is inserted with, in the order of [`queued`]'s
/// select list.
macro_rules! event_columns {
    () => {
        (
            webhook_events::tenant_id,
            webhook_events::id,
            webhook_events::user_id,
            webhook_events::event_type,
            webhook_events::email,
            webhook_events::send_number,
            webhook_events::message_id,
            webhook_events::occurred_at,
            webhook_events::status,
            webhook_events::attempts,
            webhook_events::next_attempt_at,
        )
    };
}

/// The event as a pending row, selected from the tenant's endpoint: one
/// row when the tenant has one, none otherwise.
fn queued(
    e: &WebhookEvent,
) -> diesel::dsl::Filter<webhooks::table, diesel::dsl::Eq<webhooks::tenant_id, DbUuid>> {
    webhooks::table.filter(webhooks::tenant_id.eq(DbUuid::from(e.tenant_id)))
}

/// Write body: queues `e` if its tenant has an endpoint (part of the
/// transaction of the change it reports).
pub async fn queue(c: &impl Conn, e: &WebhookEvent) -> Result<(), TxError> {
    let values = values(e);
    c.execute(
        diesel::insert_into(webhook_events::table)
            .values(queued(e).select(values))
            .into_columns(event_columns!()),
    )
    .await?;
    Ok(())
}

/// Write body: queues `e` if its tenant has an endpoint and the outbox
/// message it reports on is still held by the claim leasing it until
/// `lease` (the settle's fence: an outcome another claim took over
/// reports nothing). Run before the settle's own updates.
pub async fn queue_if_held(
    c: &impl Conn,
    e: &WebhookEvent,
    message: OutboxId,
    lease: DbTime,
) -> Result<(), TxError> {
    let values = values(e);
    let held = outbox::table
        .filter(outbox::tenant_id.eq(DbUuid::from(e.tenant_id)))
        .filter(outbox::id.eq(DbUuid::from(message)))
        .filter(outbox::status.eq(PENDING))
        .filter(outbox::claimed_until.eq(lease));
    c.execute(
        diesel::insert_into(webhook_events::table)
            .values(queued(e).filter(exists(held)).select(values))
            .into_columns(event_columns!()),
    )
    .await?;
    Ok(())
}

type Values = (
    webhooks::tenant_id,
    diesel::dsl::AsExprOf<DbUuid, PortableUuid>,
    diesel::dsl::AsExprOf<DbUuid, PortableUuid>,
    diesel::dsl::AsExprOf<&'static str, Text>,
    diesel::dsl::AsExprOf<Option<String>, Nullable<Text>>,
    diesel::dsl::AsExprOf<Option<i32>, Nullable<Integer>>,
    diesel::dsl::AsExprOf<Option<DbUuid>, Nullable<PortableUuid>>,
    diesel::dsl::AsExprOf<DbTime, PortableTs>,
    diesel::dsl::AsExprOf<&'static str, Text>,
    diesel::dsl::AsExprOf<i32, Integer>,
    diesel::dsl::AsExprOf<DbTime, PortableTs>,
);

fn values(e: &WebhookEvent) -> Values {
    use diesel::IntoSql;
    let at = DbTime::from(e.at);
    (
        webhooks::tenant_id,
        DbUuid(e.id).into_sql::<PortableUuid>(),
        DbUuid::from(e.user_id).into_sql::<PortableUuid>(),
        e.event_type.as_str().into_sql::<Text>(),
        e.email
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .into_sql::<Nullable<Text>>(),
        e.send
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))
            .into_sql::<Nullable<Integer>>(),
        e.message_id
            .map(DbUuid::from)
            .into_sql::<Nullable<PortableUuid>>(),
        at.into_sql::<PortableTs>(),
        PENDING.into_sql::<Text>(),
        0.into_sql::<Integer>(),
        at.into_sql::<PortableTs>(),
    )
}

/// Write body of an erasure: no queued or settled event keeps the user's
/// address.
pub async fn forget_user(c: &impl Conn, tenant: TenantId, user: UserId) -> Result<(), TxError> {
    c.execute(
        diesel::update(
            webhook_events::table
                .filter(webhook_events::tenant_id.eq(DbUuid::from(tenant)))
                .filter(webhook_events::user_id.eq(DbUuid::from(user))),
        )
        .set(webhook_events::email.eq(None::<String>)),
    )
    .await?;
    Ok(())
}

/// Write body: the tenant's endpoint, replacing an earlier one.
pub async fn set_endpoint(c: &impl Conn, e: &WebhookEndpoint) -> Result<(), TxError> {
    let tenant = DbUuid::from(e.tenant_id);
    c.execute(diesel::delete(
        webhooks::table.filter(webhooks::tenant_id.eq(tenant)),
    ))
    .await?;
    c.execute(diesel::insert_into(webhooks::table).values((
        webhooks::tenant_id.eq(tenant),
        webhooks::url.eq(e.url.as_str().to_owned()),
        webhooks::secret.eq(e.secret.expose().to_owned()),
        webhooks::created_at.eq(DbTime::from(e.created_at)),
    )))
    .await
    .map_err(|err| {
        if is_fk_violation(&err) {
            TxError::Store(beckon_ports::StoreError::MissingReference)
        } else {
            TxError::Db(err)
        }
    })?;
    Ok(())
}

/// Write body: removes the endpoint and the events still queued for it.
pub async fn remove_endpoint(c: &impl Conn, tenant: TenantId) -> Result<bool, TxError> {
    let tenant = DbUuid::from(tenant);
    c.execute(diesel::delete(
        webhook_events::table
            .filter(webhook_events::tenant_id.eq(tenant))
            .filter(webhook_events::status.eq(PENDING)),
    ))
    .await?;
    let removed = c
        .execute(diesel::delete(
            webhooks::table.filter(webhooks::tenant_id.eq(tenant)),
        ))
        .await?;
    Ok(removed > 0)
}

type EndpointRow = (DbUuid, String, String, DbTime);

fn into_endpoint((tenant, url, secret, at): EndpointRow) -> Result<WebhookEndpoint, TxError> {
    Ok(WebhookEndpoint {
        tenant_id: TenantId::from_uuid(tenant.0),
        url: WebhookUrl::parse(&url).map_err(|e| corrupt("webhook url", e.0))?,
        secret: WebhookSecret::parse(&secret)
            .ok_or_else(|| corrupt("webhook secret", "not a whsec_ secret"))?,
        created_at: at.get(),
    })
}

/// The tenant's endpoint.
pub async fn endpoint(c: &impl Conn, tenant: TenantId) -> Result<Option<WebhookEndpoint>, TxError> {
    let rows = c
        .load::<EndpointRow, _>(
            webhooks::table
                .filter(webhooks::tenant_id.eq(DbUuid::from(tenant)))
                .select(webhooks::all_columns)
                .limit(1),
        )
        .await?;
    rows.into_iter().next().map(into_endpoint).transpose()
}

/// Read-only: whether any event is due and not leased.
pub async fn any_due(c: &impl Conn, now: DateTime<Utc>) -> Result<bool, TxError> {
    let now = DbTime::from(now);
    let due = c
        .load::<DbUuid, _>(
            webhook_events::table
                .select(webhook_events::id)
                .filter(webhook_events::status.eq(PENDING))
                .filter(webhook_events::next_attempt_at.le(now))
                .filter(
                    webhook_events::claimed_until
                        .is_null()
                        .or(webhook_events::claimed_until.le(now)),
                )
                .limit(1),
        )
        .await?;
    Ok(!due.is_empty())
}

type EventRow = (
    DbUuid,
    DbUuid,
    DbUuid,
    String,
    Option<String>,
    Option<i32>,
    Option<DbUuid>,
    DbTime,
    i32,
);

/// Write body. Named global exception: the worker serves every tenant.
/// One statement on both backends: the outer filters repeat the
/// sub-select's, so that on PostgreSQL a concurrent claim that leased a
/// row first (the row is re-checked after its lock) makes this one skip
/// it rather than lease it twice.
pub async fn claim(
    c: &impl Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<ClaimedEvent>, TxError> {
    let (now, lease) = (DbTime::from(now), DbTime::from(lease_until));
    let due = due_events
        .select(due_events.field(webhook_events::id))
        .filter(due_events.field(webhook_events::status).eq(PENDING))
        .filter(due_events.field(webhook_events::next_attempt_at).le(now))
        .filter(
            due_events
                .field(webhook_events::claimed_until)
                .is_null()
                .or(due_events.field(webhook_events::claimed_until).le(now)),
        )
        .order(due_events.field(webhook_events::next_attempt_at).asc())
        .limit(i64::from(limit));
    let rows = c
        .load::<EventRow, _>(Reuse(
            diesel::update(
                webhook_events::table
                    .filter(webhook_events::id.eq_any(due))
                    .filter(webhook_events::status.eq(PENDING))
                    .filter(
                        webhook_events::claimed_until
                            .is_null()
                            .or(webhook_events::claimed_until.le(now)),
                    ),
            )
            .set((
                webhook_events::claimed_until.eq(lease),
                webhook_events::attempts.eq(webhook_events::attempts + 1),
            ))
            .returning((
                webhook_events::tenant_id,
                webhook_events::id,
                webhook_events::user_id,
                webhook_events::event_type,
                webhook_events::email,
                webhook_events::send_number,
                webhook_events::message_id,
                webhook_events::occurred_at,
                webhook_events::attempts,
            )),
        ))
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let tenants: Vec<DbUuid> = rows.iter().map(|r| r.0).collect();
    let endpoints = c
        .load::<EndpointRow, _>(
            webhooks::table
                .filter(webhooks::tenant_id.eq_any(tenants))
                .select(webhooks::all_columns),
        )
        .await?
        .into_iter()
        .map(into_endpoint)
        .map(|e| e.map(|e| (e.tenant_id, e)))
        .collect::<Result<HashMap<_, _>, _>>()?;
    let mut claimed = rows
        .into_iter()
        .map(|row| into_claimed(row, &endpoints))
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|e| (e.queued_at, e.event.id));
    Ok(claimed)
}

fn into_claimed(
    (tenant, id, user, event_type, email, send, message, at, attempts): EventRow,
    endpoints: &HashMap<TenantId, WebhookEndpoint>,
) -> Result<ClaimedEvent, TxError> {
    let tenant_id = TenantId::from_uuid(tenant.0);
    let email = email
        .map(|m| Email::parse(&m))
        .transpose()
        .map_err(|e| corrupt("webhook event email", e.0))?;
    Ok(ClaimedEvent {
        event: WebhookEvent {
            id: id.0,
            tenant_id,
            user_id: UserId::from_uuid(user.0),
            event_type: EventType::parse(&event_type)
                .ok_or_else(|| corrupt("webhook event type", event_type.clone()))?,
            email,
            send: send.and_then(|n| u32::try_from(n).ok()),
            message_id: message.map(|m| OutboxId::from_uuid(m.0)),
            at: at.get(),
        },
        attempt: u32::try_from(attempts).unwrap_or(0),
        queued_at: at.get(),
        endpoint: endpoints.get(&tenant_id).cloned(),
    })
}

/// Write body: settles one claim's events, every statement fenced by the
/// claim's lease and all of them sent at once (pipelined on PostgreSQL).
pub async fn settle(
    c: &impl Conn,
    lease_until: DateTime<Utc>,
    at: DateTime<Utc>,
    outcomes: &[EventSettlement],
) -> Result<usize, TxError> {
    let (lease, at) = (DbTime::from(lease_until), DbTime::from(at));
    let changes = outcomes.iter().map(|s| {
        let target = webhook_events::table
            .filter(webhook_events::id.eq(DbUuid(s.id)))
            .filter(webhook_events::status.eq(PENDING))
            .filter(webhook_events::claimed_until.eq(lease));
        let no_lease = webhook_events::claimed_until.eq(None::<DbTime>);
        let no_email = webhook_events::email.eq(None::<String>);
        match &s.outcome {
            EventOutcome::Delivered => c.execute(diesel::update(target).set((
                webhook_events::status.eq(DELIVERED),
                webhook_events::settled_at.eq(Some(at)),
                no_lease,
                no_email,
            ))),
            EventOutcome::Retry {
                next_attempt_at,
                error,
            } => c.execute(diesel::update(target).set((
                webhook_events::next_attempt_at.eq(DbTime::from(*next_attempt_at)),
                webhook_events::last_error.eq(Some(bounded(error))),
                no_lease,
            ))),
            EventOutcome::Failed { reason } => c.execute(diesel::update(target).set((
                webhook_events::status.eq(FAILED),
                webhook_events::settled_at.eq(Some(at)),
                webhook_events::last_error.eq(Some(bounded(reason))),
                no_lease,
                no_email,
            ))),
        }
    });
    let changed = futures_util::future::try_join_all(changes).await?;
    Ok(changed.into_iter().sum())
}

fn bounded(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}
