//! Retention: deleting, in small batches, what no rule needs any more.
//! Each delete names its rows through a bounded sub-select (the oldest
//! first), so one step never holds the writer for long.

use beckon_ports::{PruneBefore, Pruned};
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use crate::conn::Conn;
use crate::errors::TxError;
use crate::rows::PENDING;
use crate::schema::{
    audit_log, due_events, due_outbox, idempotency_records, invite_sends, old_audit, old_records,
    old_sends, outbox, users, webhook_events,
};
use crate::sql_types::DbTime;

/// Write body: one batch of each kind. Named global exception: retention
/// applies to every tenant alike.
pub async fn prune(c: &impl Conn, b: &PruneBefore) -> Result<Pruned, TxError> {
    let limit = i64::from(b.limit);
    let audit = c.execute(diesel::delete(
        audit_log::table.filter(
            audit_log::id.eq_any(
                old_audit
                    .filter(old_audit.field(audit_log::at).lt(DbTime::from(b.audit)))
                    .select(old_audit.field(audit_log::id))
                    .order(old_audit.field(audit_log::at).asc())
                    .limit(limit),
            ),
        ),
    ));
    // Never pending; never the message whose state a user's invite shows.
    let outbox = c.execute(diesel::delete(
        outbox::table.filter(
            outbox::id.eq_any(
                due_outbox
                    .filter(due_outbox.field(outbox::status).ne(PENDING))
                    .filter(
                        due_outbox
                            .field(outbox::created_at)
                            .lt(DbTime::from(b.outbox)),
                    )
                    .filter(not(exists(
                        users::table.filter(
                            users::tenant_id
                                .eq(due_outbox.field(outbox::tenant_id))
                                .and(
                                    users::invite_outbox_id
                                        .eq(due_outbox.field(outbox::id).nullable()),
                                ),
                        ),
                    )))
                    .select(due_outbox.field(outbox::id))
                    .order(due_outbox.field(outbox::created_at).asc())
                    .limit(limit),
            ),
        ),
    ));
    let sends = c.execute(diesel::delete(
        invite_sends::table.filter(
            invite_sends::id.eq_any(
                old_sends
                    .filter(
                        old_sends
                            .field(invite_sends::sent_at)
                            .lt(DbTime::from(b.sends)),
                    )
                    .select(old_sends.field(invite_sends::id))
                    .order(old_sends.field(invite_sends::sent_at).asc())
                    .limit(limit),
            ),
        ),
    ));
    // Keys are unique per tenant only: the outer filter keeps a fresh
    // record of another tenant with the same key out of the batch.
    let idempotency = c.execute(diesel::delete(
        idempotency_records::table
            .filter(idempotency_records::created_at.lt(DbTime::from(b.idempotency)))
            .filter(
                idempotency_records::idempotency_key.eq_any(
                    old_records
                        .filter(
                            old_records
                                .field(idempotency_records::created_at)
                                .lt(DbTime::from(b.idempotency)),
                        )
                        .select(old_records.field(idempotency_records::idempotency_key))
                        .order(old_records.field(idempotency_records::created_at).asc())
                        .limit(limit),
                ),
            ),
    ));
    // Never a pending event.
    let webhooks = c.execute(diesel::delete(
        webhook_events::table.filter(
            webhook_events::id.eq_any(
                due_events
                    .filter(due_events.field(webhook_events::status).ne(PENDING))
                    .filter(
                        due_events
                            .field(webhook_events::occurred_at)
                            .lt(DbTime::from(b.outbox)),
                    )
                    .select(due_events.field(webhook_events::id))
                    .order(due_events.field(webhook_events::occurred_at).asc())
                    .limit(limit),
            ),
        ),
    ));
    let (audit, outbox, sends, idempotency, webhooks) =
        futures_util::join!(audit, outbox, sends, idempotency, webhooks);
    Ok(Pruned {
        audit: audit?,
        outbox: outbox?,
        sends: sends?,
        idempotency: idempotency?,
        webhooks: webhooks?,
    })
}
