-- pgbench: the SQL of one resend as Beckon issues it (key lookup cached,
-- cooldown and daily cap off as in the wrk run, no Idempotency-Key), for
-- the database floor: read the user, then one transaction that rotates the
-- token under the version check and inserts the send, the outbox message
-- and the audit line. One extra indexed lookup (bench_users) picks the user.
-- Columns as in migrations/postgres/; :payload is the size of a stored
-- message. Variables are bound as parameters (pgbench -M prepared).
\set n random(0, :users - 1)
SELECT u.id AS uid, u.version AS v FROM bench_users b JOIN users u ON u.tenant_id = b.tenant_id AND u.id = b.id WHERE b.n = :n \gset
BEGIN;
UPDATE users SET invite_token_hash = md5(random()::text) || md5(random()::text), invite_expires_at = now() + interval '7 days', invite_last_sent_at = now(), invite_sends = invite_sends + 1, version = version + 1 WHERE tenant_id = :tenant AND id = :uid AND version = :v AND status = 'invited';
INSERT INTO invite_sends (tenant_id, id, user_id, sent_at) VALUES (:tenant, gen_random_uuid(), :uid, now());
INSERT INTO outbox (tenant_id, id, user_id, payload, status, attempts, next_attempt_at, created_at) VALUES (:tenant, gen_random_uuid(), :uid, repeat('x', :payload), 'pending', 0, now(), now());
INSERT INTO audit_log (tenant_id, id, user_id, key_id, request_id, action, outcome, at) VALUES (:tenant, gen_random_uuid(), :uid, gen_random_uuid(), 'bench', 'ResendInvite', 'succeeded', now());
END;
