DROP INDEX outbox_claim_idx;
