-- Bounds on what one account holds: at most 100 sessions and 100 live remember tokens, a new
-- one ending the oldest, and at most 100 used tokens, kept as the theft signal. `seq` orders
-- rows by creation even within one second (a remember cookie replayed in a loop creates many
-- per second); the indexes make the trims range scans. `issued_at` tells how long a used token
-- had been live: the ones that lived longest (long enough to be copied) are the last to go.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE;
ALTER TABLE sessions ADD KEY IF NOT EXISTS ix_sessions_user_seq (user_id, seq);
ALTER TABLE remember_tokens ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE;
ALTER TABLE remember_tokens ADD COLUMN IF NOT EXISTS issued_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE remember_tokens ADD KEY IF NOT EXISTS ix_remember_tokens_user_seq (user_id, seq);
