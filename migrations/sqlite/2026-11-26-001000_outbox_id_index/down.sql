DROP INDEX outbox_id_idx;
