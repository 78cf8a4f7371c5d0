-- Self-service accounts (registration, confirmation, password reset, change of address) and
-- the mail they send. Every key and address compares byte for byte (binary), like users.email:
-- under an accent-insensitive collation 'paul@exämple.com' would find 'paul@example.com'.

-- Accounts made by `authctl user add` (all of them until now) are confirmed; a registration
-- writes 0 and the confirmation link sets 1.
ALTER TABLE users ADD COLUMN IF NOT EXISTS confirmed TINYINT(1) NOT NULL DEFAULT 1;

-- The links of the mails: only a digest of each token is kept (the token itself is in the mail
-- alone). purpose: 1 confirm the account, 2 reset the password, 3 change the address (to
-- new_email). A token is deleted when used or after expires_at (unix seconds); a reset token
-- also holds the digest of the password hash it was issued for, and is void once that changed.
CREATE TABLE IF NOT EXISTS account_tokens (
  token_digest CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  purpose TINYINT UNSIGNED NOT NULL,
  new_email VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  password_digest CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (token_digest),
  KEY ix_account_tokens_user (user_id, purpose),
  KEY ix_account_tokens_expiry (expires_at),
  CONSTRAINT fk_account_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Mail waiting to be delivered, written in the same transaction as the change that caused it:
-- the workers deliver it off the request path, with retries and back-off. kind (which mail) and
-- client_network (who asked, as the throttle counts addresses) serve the mail throttles. A sent
-- mail keeps its row until `authctl db prune` removes it after its retention.
CREATE TABLE IF NOT EXISTS mail_outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  recipient VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind TINYINT UNSIGNED NOT NULL,
  client_network VARBINARY(64) NOT NULL DEFAULT '',
  subject VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  text_body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  html_body MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  sent_at BIGINT NULL,
  last_error VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  PRIMARY KEY (id),
  KEY ix_mail_outbox_due (sent_at, next_attempt_at),
  KEY ix_mail_outbox_recipient (recipient, kind, created_at),
  KEY ix_mail_outbox_client (client_network, kind, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
