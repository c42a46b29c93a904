-- The lifecycle of CONTRACT §6: revoked invites, the delivery state of the
-- latest send, accepts in the audit trail (no key), erasable idempotency
-- records.
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check
    CHECK (status IN ('invited', 'active', 'revoked'));
ALTER TABLE users ADD COLUMN revoked_at timestamptz;
-- The outbox message of the latest send: its status is the invite's
-- delivery state.
ALTER TABLE users ADD COLUMN invite_outbox_id uuid;
UPDATE users SET invite_outbox_id = (
    SELECT s.id FROM invite_sends s
    WHERE s.tenant_id = users.tenant_id AND s.user_id = users.id
    ORDER BY s.sent_at DESC, s.id DESC LIMIT 1
);

-- An accept is done by the token's holder, not by a key.
ALTER TABLE audit_log ALTER COLUMN key_id DROP NOT NULL;
CREATE INDEX audit_log_user_idx ON audit_log (tenant_id, user_id, id);

-- The user a remembered response is about, so that erasing the user erases
-- the copies of their address in stored responses too.
ALTER TABLE idempotency_records ADD COLUMN user_id uuid;
