-- A tenant's webhook endpoint: where its events go and the secret that
-- signs them (kept as given: signing needs it).
CREATE TABLE webhooks (
    tenant_id TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- Events to deliver, written with the change they report (only while the
-- tenant has an endpoint). No foreign key to users: a `user.deleted`
-- event outlives its user. email is erased (NULL) once the event is
-- delivered or given up, and when the user is erased.
CREATE TABLE webhook_events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    email TEXT,
    send_number INTEGER,
    message_id TEXT,
    occurred_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_error TEXT,
    settled_at TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- Named global exception: the worker claims due events of all tenants.
CREATE INDEX webhook_events_claim_idx ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_user_idx ON webhook_events (tenant_id, user_id);
