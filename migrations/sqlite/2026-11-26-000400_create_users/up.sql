CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('invited', 'active')),
    created_at TEXT NOT NULL,
    verified_at TEXT,
    invite_token_hash TEXT,
    invite_expires_at TEXT,
    invite_sends INTEGER NOT NULL,
    invite_last_sent_at TEXT,
    version INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email_normalized)
) STRICT;
