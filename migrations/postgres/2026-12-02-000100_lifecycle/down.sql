ALTER TABLE idempotency_records DROP COLUMN user_id;
DROP INDEX audit_log_user_idx;
DELETE FROM audit_log WHERE key_id IS NULL;
ALTER TABLE audit_log ALTER COLUMN key_id SET NOT NULL;
ALTER TABLE users DROP COLUMN invite_outbox_id;
ALTER TABLE users DROP COLUMN revoked_at;
UPDATE users SET status = 'invited' WHERE status = 'revoked';
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('invited', 'active'));
