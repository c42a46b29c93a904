-- Named global exception to "tenant_id leads every hot index": retention
-- deletes, for every tenant alike, the oldest rows past their time, a
-- batch a step, once a minute. Without an index on that time each step
-- read and sorted the whole table, and on SQLite it did so holding the
-- one writer: with 190,000 resends stored a step stopped every write for
-- about 0.4 s, and the stall grew with the tables. With these a step
-- reads its batch and no more.
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX invite_sends_sent_at_idx ON invite_sends (sent_at);
CREATE INDEX outbox_created_at_idx ON outbox (created_at);
CREATE INDEX idempotency_records_created_at_idx ON idempotency_records (created_at);
CREATE INDEX webhook_events_occurred_at_idx ON webhook_events (occurred_at);
