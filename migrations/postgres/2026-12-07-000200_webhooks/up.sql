-- A tenant's webhook endpoint: where its events go and the secret that
-- signs them (kept as given: signing needs it).
CREATE TABLE webhooks (
    tenant_id uuid NOT NULL PRIMARY KEY REFERENCES tenants (id),
    url text NOT NULL,
    secret text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Events to deliver, written with the change they report (only while the
-- tenant has an endpoint). No foreign key to users: a `user.deleted`
-- event outlives its user. email is erased (NULL) once the event is
-- delivered or given up, and when the user is erased.
CREATE TABLE webhook_events (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    event_type text NOT NULL,
    email text,
    send_number integer,
    message_id uuid,
    occurred_at timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    claimed_until timestamptz,
    last_error text,
    settled_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

-- Named global exception: the worker claims due events of all tenants.
CREATE INDEX webhook_events_claim_idx ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_user_idx ON webhook_events (tenant_id, user_id);
