CREATE TABLE users (
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    id uuid NOT NULL,
    email text NOT NULL,
    email_normalized text NOT NULL,
    name text,
    status text NOT NULL CHECK (status IN ('invited', 'active')),
    created_at timestamptz NOT NULL,
    verified_at timestamptz,
    invite_token_hash text,
    invite_expires_at timestamptz,
    invite_sends integer NOT NULL,
    invite_last_sent_at timestamptz,
    version bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email_normalized)
);
