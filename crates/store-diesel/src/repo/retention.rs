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
    // Each delete repeats its sub-select's time bound: the row's key leads
    // with tenant_id, so `id IN (…)` alone could only be answered by
    // reading every row; with the bound, the time index narrows it to the
    // rows past their time.
    let audit = c.execute(diesel::delete(
        audit_log::table
            .filter(audit_log::at.lt(DbTime::from(b.audit)))
            .filter(
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
        invite_sends::table
            .filter(invite_sends::sent_at.lt(DbTime::from(b.sends)))
            .filter(
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
        webhook_events::table
            .filter(webhook_events::occurred_at.lt(DbTime::from(b.outbox)))
            .filter(
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use chrono::{TimeZone, Utc};
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::sql_types::Text;
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
    use diesel_migrations::MigrationHarness;
    use futures_util::FutureExt;

    use super::*;
    use crate::conn::SqliteConn;

    /// Keeps the SQL of every statement the connection starts.
    struct Statements(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Statements {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                let text = query.to_string();
                let sql = text.split(" -- binds:").next().unwrap_or_default();
                self.0.lock().unwrap().push(sql.to_owned());
            }
        }
    }

    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// A step's statements read the rows past their time through the time
    /// indexes: no whole table read, nothing sorted. Before those indexes
    /// each statement read its whole table twice (the sub-select, sorted,
    /// and the delete's `id IN (…)`), holding SQLite's one writer.
    #[test]
    fn a_prune_step_reads_no_whole_table_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prune.db");
        let mut raw = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        raw.run_pending_migrations(crate::migrate::SQLITE).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        raw.set_instrumentation(Statements(Arc::clone(&seen)));
        let conn = SqliteConn::new(raw);

        let at = Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap();
        let before = PruneBefore {
            audit: at,
            outbox: at,
            sends: at,
            idempotency: at,
            limit: 100,
        };
        let pruned = prune(&conn, &before).now_or_never().unwrap().unwrap();
        assert_eq!(pruned, Pruned::default());

        let statements = seen.lock().unwrap().clone();
        assert_eq!(statements.len(), 5, "{statements:#?}");
        for sql in statements {
            assert!(sql.starts_with("DELETE FROM"), "{sql}");
            let plan: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load(&mut *conn.raw())
                .unwrap();
            let plan: Vec<String> = plan.into_iter().map(|s| s.detail).collect();
            assert!(
                plan.iter()
                    .all(|step| !step.starts_with("SCAN") && !step.contains("TEMP B-TREE")),
                "{sql}\n{plan:#?}"
            );
        }
    }
}
