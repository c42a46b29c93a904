-- One row per send, for the cooldown and the rolling daily cap. id is the
-- id of the outbox message that carried the send.
CREATE TABLE invite_sends (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
