-- Keyed by id alone: a presented key carries no tenant. Named global
-- exception to "tenant_id leads every key".
CREATE TABLE api_keys (
    id uuid NOT NULL PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    role text NOT NULL,
    name text,
    secret_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
