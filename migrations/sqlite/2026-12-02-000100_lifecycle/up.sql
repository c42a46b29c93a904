-- The lifecycle of CONTRACT §6: revoked invites, the delivery state of the
-- latest send, accepts in the audit trail (no key), erasable idempotency
-- records.
--
-- SQLite cannot change a CHECK or a NOT NULL in place: `users` and
-- `audit_log` are rebuilt. Other tables reference `users`; with foreign
-- keys deferred to the commit, dropping it leaves their rows dangling for a
-- moment and the copy put back satisfies them again (the commit fails if a
-- row went missing).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE users_before AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'revoked')),
    created_at TEXT NOT NULL,
    verified_at TEXT,
    invite_token_hash TEXT,
    invite_expires_at TEXT,
    invite_sends INTEGER NOT NULL,
    invite_last_sent_at TEXT,
    version INTEGER NOT NULL,
    revoked_at TEXT,
    -- The outbox message of the latest send: its status is the invite's
    -- delivery state.
    invite_outbox_id TEXT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email_normalized)
) STRICT;
INSERT INTO users (tenant_id, id, email, email_normalized, name, status, created_at,
    verified_at, invite_token_hash, invite_expires_at, invite_sends, invite_last_sent_at,
    version, invite_outbox_id)
SELECT tenant_id, id, email, email_normalized, name, status, created_at,
    verified_at, invite_token_hash, invite_expires_at, invite_sends, invite_last_sent_at,
    version, (
        SELECT s.id FROM invite_sends s
        WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id
        ORDER BY s.sent_at DESC, s.id DESC LIMIT 1
    )
FROM users_before u;
DROP TABLE users_before;
CREATE UNIQUE INDEX users_invite_token_hash_key ON users (invite_token_hash)
    WHERE invite_token_hash IS NOT NULL;

-- An accept is done by the token's holder, not by a key.
CREATE TEMP TABLE audit_before AS SELECT * FROM audit_log;
DROP TABLE audit_log;
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    key_id TEXT,
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
INSERT INTO audit_log SELECT * FROM audit_before;
DROP TABLE audit_before;
CREATE INDEX audit_log_user_idx ON audit_log (tenant_id, user_id, id);

-- The user a remembered response is about, so that erasing the user erases
-- the copies of their address in stored responses too.
ALTER TABLE idempotency_records ADD COLUMN user_id TEXT;
