-- Append-only; no foreign keys: an attempt on a user that does not exist is
-- audited too, and the trail must outlive what it mentions.
CREATE TABLE audit_log (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid,
    key_id uuid NOT NULL,
    request_id text NOT NULL,
    action text NOT NULL,
    outcome text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
