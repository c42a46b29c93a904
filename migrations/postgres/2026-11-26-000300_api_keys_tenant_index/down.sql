DROP INDEX api_keys_tenant_id_idx;
