-- psql script: the large data set for `cargo xtask bench`, written straight
-- into the migrated schema (migrations/postgres/) because a million invites
-- through the API would take hours. Variables: :tenants other tenants,
-- :users users spread over them, every tenth still invited (a live token
-- hash and one delivered outbox message each), the rest active.
-- The benchmarked tenant (created by `beckon tenant create`) gets its own
-- invited users through the API afterwards.
SET synchronous_commit = off;
BEGIN;
INSERT INTO tenants (id, name, created_at)
SELECT gen_random_uuid(), 'Tenant ' || g, now() - interval '90 days'
FROM generate_series(1, :tenants) g;

CREATE TEMP TABLE bench_tenants AS
SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM tenants WHERE name LIKE 'Tenant %';
CREATE UNIQUE INDEX ON bench_tenants (n);

-- Users spread round robin over the tenants, so every index is as
-- scattered as a live system's.
INSERT INTO users (tenant_id, id, email, email_normalized, name, status, created_at,
                   verified_at, invite_token_hash, invite_expires_at, invite_sends,
                   invite_last_sent_at, version)
SELECT t.id, gen_random_uuid(),
       'User' || g || '@Example.com', 'user' || g || '@example.com', 'User ' || g,
       CASE WHEN g % 10 = 0 THEN 'invited' ELSE 'active' END,
       now() - interval '30 days',
       CASE WHEN g % 10 = 0 THEN NULL ELSE now() - interval '29 days' END,
       CASE WHEN g % 10 = 0 THEN encode(sha256(g::text::bytea), 'hex') END,
       CASE WHEN g % 10 = 0 THEN now() + interval '7 days' END,
       1,
       now() - interval '30 days',
       CASE WHEN g % 10 = 0 THEN 1 ELSE 2 END
FROM generate_series(0, :users - 1) g
JOIN bench_tenants t ON t.n = g % :tenants;

-- Their sends' records are not written: a running server prunes send
-- records after 24 hours, and a month-old set of them would have the
-- pruner deleting 100,000 rows during the first measured run.
INSERT INTO outbox (tenant_id, id, user_id, payload, status, attempts, next_attempt_at,
                    created_at, sent_at)
SELECT tenant_id, gen_random_uuid(), id, NULL, 'sent', 1, invite_last_sent_at,
       invite_last_sent_at, invite_last_sent_at
FROM users WHERE status = 'invited';
COMMIT;
-- A database that has held these rows for a while: statistics gathered,
-- the visibility map and hint bits set, and the dirty pages written out,
-- so that the runs do not share the machine with autovacuum's pass over
-- a million fresh rows, or with the first readers setting hint bits.
VACUUM (ANALYZE);
CHECKPOINT;
