-- Back to rowid tables, rows and indexes as they were.
CREATE TABLE invite_sends_new (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
INSERT INTO invite_sends_new (tenant_id, id, user_id, sent_at)
SELECT tenant_id, id, user_id, sent_at FROM invite_sends;
DROP TABLE invite_sends;
ALTER TABLE invite_sends_new RENAME TO invite_sends;
CREATE INDEX invite_sends_user_sent_at_idx ON invite_sends (tenant_id, user_id, sent_at);

CREATE TABLE audit_log_new (
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
INSERT INTO audit_log_new (tenant_id, id, user_id, key_id, request_id, action, outcome, at)
SELECT tenant_id, id, user_id, key_id, request_id, action, outcome, at FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_user_idx ON audit_log (tenant_id, user_id, id);

CREATE TABLE outbox_new (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    payload TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    failed_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
INSERT INTO outbox_new (tenant_id, id, user_id, payload, status, attempts, next_attempt_at,
    claimed_until, last_error, created_at, sent_at, failed_at)
SELECT tenant_id, id, user_id, payload, status, attempts, next_attempt_at,
    claimed_until, last_error, created_at, sent_at, failed_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_claim_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_id_idx ON outbox (id);
