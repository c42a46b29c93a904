CREATE INDEX invite_sends_user_sent_at_idx ON invite_sends (tenant_id, user_id, sent_at);
