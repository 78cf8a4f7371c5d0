-- Bounds on what one account holds: at most 100 sessions and 100 remember tokens, a new one
-- ending the oldest. `seq` orders rows by creation even within one second (a remember cookie
-- replayed in a loop creates many per second); the index makes the trim a range scan.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE;
ALTER TABLE sessions ADD KEY IF NOT EXISTS ix_sessions_user_seq (user_id, seq);
ALTER TABLE remember_tokens ADD COLUMN IF NOT EXISTS seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE;
ALTER TABLE remember_tokens ADD KEY IF NOT EXISTS ix_remember_tokens_user_seq (user_id, seq);
