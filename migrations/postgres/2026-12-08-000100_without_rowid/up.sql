-- Nothing to change: PostgreSQL's tables have no rowid. SQLite's migration
-- of the same name stores invite_sends, outbox and audit_log by their
-- primary key.
SELECT 1;
