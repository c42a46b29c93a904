CREATE INDEX api_keys_tenant_id_idx ON api_keys (tenant_id);
