-- The language of a tenant's emails and /invite pages (CONTRACT §6
-- "Locales"). Tenants created before it are English. SQLite can add a
-- column with a CHECK in place (the default satisfies it).
ALTER TABLE tenants ADD COLUMN locale TEXT NOT NULL DEFAULT 'en'
    CHECK (locale IN ('en', 'de', 'fr'));
