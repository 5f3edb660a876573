-- A secret shown once after a form (a new API key, new secrets): kept sealed until the page
-- after the redirect shows it, so reloading that page shows nothing and creates nothing.
ALTER TABLE console_sessions ADD COLUMN notice_sealed BLOB;
