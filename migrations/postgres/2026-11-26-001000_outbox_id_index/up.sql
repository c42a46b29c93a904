-- Named global exception: the worker settles a claimed message by its id
-- (OutboxRepo::mark_sent and friends take no tenant).
CREATE INDEX outbox_id_idx ON outbox (id);
