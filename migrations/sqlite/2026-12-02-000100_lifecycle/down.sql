-- The rebuilt tables keep the wider CHECK and the nullable key_id: SQLite
-- cannot narrow them in place, and nothing relies on the narrower forms.
PRAGMA defer_foreign_keys = ON;
ALTER TABLE idempotency_records DROP COLUMN user_id;
DROP INDEX audit_log_user_idx;
DELETE FROM audit_log WHERE key_id IS NULL;
UPDATE users SET status = 'invited' WHERE status = 'revoked';
ALTER TABLE users DROP COLUMN invite_outbox_id;
ALTER TABLE users DROP COLUMN revoked_at;
