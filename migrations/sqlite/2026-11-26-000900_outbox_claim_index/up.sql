-- Named global exception: the delivery worker claims due messages of all
-- tenants.
CREATE INDEX outbox_claim_idx ON outbox (status, next_attempt_at);
