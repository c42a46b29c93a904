-- The three tables a resend inserts into, invite_sends, outbox and
-- audit_log, are stored in the order of their primary key alone (WITHOUT
-- ROWID). A rowid table with a TEXT primary key is two b-trees, the rows
-- by rowid and an index of the key, and each insert wrote a page of both;
-- now it writes one. Their rows are small (an outbox payload is a JSON
-- object of under 200 bytes, erased once sent), within what a key b-tree
-- keeps in its leaves; an outbox row that also holds a long last error
-- spills to an overflow page, as any long row does.
--
-- SQLite cannot change this in place: the tables are rebuilt, rows and
-- indexes as they were. Nothing references them by a foreign key; their
-- own references to users stay.
CREATE TABLE invite_sends_new (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT, WITHOUT ROWID;
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
) STRICT, WITHOUT ROWID;
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
) STRICT, WITHOUT ROWID;
INSERT INTO outbox_new (tenant_id, id, user_id, payload, status, attempts, next_attempt_at,
    claimed_until, last_error, created_at, sent_at, failed_at)
SELECT tenant_id, id, user_id, payload, status, attempts, next_attempt_at,
    claimed_until, last_error, created_at, sent_at, failed_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_claim_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_id_idx ON outbox (id);
