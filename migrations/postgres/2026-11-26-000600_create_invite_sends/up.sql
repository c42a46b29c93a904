-- One row per send, for the cooldown and the rolling daily cap. id is the
-- id of the outbox message that carried the send.
CREATE TABLE invite_sends (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
