CREATE TABLE tenants (
    id uuid NOT NULL PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL
);
