ALTER TABLE tenants DROP COLUMN locale;
