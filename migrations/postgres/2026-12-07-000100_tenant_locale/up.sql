-- The language of a tenant's emails and /invite pages (CONTRACT §6
-- "Locales"). Tenants created before it are English.
ALTER TABLE tenants ADD COLUMN locale text NOT NULL DEFAULT 'en'
    CONSTRAINT tenants_locale_check CHECK (locale IN ('en', 'de', 'fr'));
