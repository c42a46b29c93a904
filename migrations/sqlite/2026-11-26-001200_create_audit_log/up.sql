-- Append-only; no foreign keys: an attempt on a user that does not exist is
-- audited too, and the trail must outlive what it mentions.
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    key_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
