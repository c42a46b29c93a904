DROP INDEX webhook_events_occurred_at_idx;
DROP INDEX idempotency_records_created_at_idx;
DROP INDEX outbox_created_at_idx;
DROP INDEX invite_sends_sent_at_idx;
DROP INDEX audit_log_at_idx;
