-- Housekeeping (authctl db prune, and a batch a minute in each worker that delivers mail)
-- finds the expired rows of any user by their expiry: without these each batch reads the whole
-- table. The rows are written once per login or restore, so the index costs little.
ALTER TABLE sessions ADD KEY IF NOT EXISTS ix_sessions_expires (expires_at);
ALTER TABLE remember_tokens ADD KEY IF NOT EXISTS ix_remember_tokens_expires (expires_at);
