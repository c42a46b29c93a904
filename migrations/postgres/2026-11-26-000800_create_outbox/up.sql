-- payload is the serialized email (with the token); it is erased (NULL)
-- once the message is sent or has failed for good.
CREATE TABLE outbox (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    payload text,
    status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    claimed_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL,
    sent_at timestamptz,
    failed_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
