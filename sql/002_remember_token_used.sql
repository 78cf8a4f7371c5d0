-- Remember-me tokens rotate on use. The used token is kept (until it expires) with the time it
-- was used, so that if it ever comes back after a short grace period it is recognised as
-- stolen and every session and token of its user is revoked.
ALTER TABLE remember_tokens ADD COLUMN IF NOT EXISTS used_at BIGINT NOT NULL DEFAULT 0;
