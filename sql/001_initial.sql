-- Initial schema. Applied once by the migrator (authctl db migrate), which records version 1 in
-- schema_version. Statements end with ';' at the end of a line; the migrator splits on that.
--
-- Collations: emails and usernames use utf8mb4_bin so that lookups and uniqueness are exact.
-- A *_ci collation would fold accents ('josé' = 'jose') and let one account's email find another
-- account. Callers lower-case emails before they get here. Token columns are ASCII and
-- case-sensitive (base64url selectors differ by case).

CREATE TABLE IF NOT EXISTS users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  email VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  username VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  password_hash VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_email (email),
  UNIQUE KEY uq_users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per logged-in session, keyed by a hash of the session id (never the id itself).
CREATE TABLE IF NOT EXISTS sessions (
  sid_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at BIGINT NOT NULL, -- unix seconds
  PRIMARY KEY (sid_hash),
  KEY ix_sessions_user_id (user_id),
  CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- "Remember me": a public selector plus the hash of a secret validator.
CREATE TABLE IF NOT EXISTS remember_tokens (
  selector VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  validator_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id BIGINT UNSIGNED NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at BIGINT NOT NULL, -- unix seconds
  PRIMARY KEY (selector),
  KEY ix_remember_tokens_user_id (user_id),
  CONSTRAINT fk_remember_tokens_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Failed-login counters shared by every worker and host. throttle_key is 'account:<email>' or
-- 'address:<ip>'; 191 characters keeps the key within InnoDB's index limit for any charset.
CREATE TABLE IF NOT EXISTS login_throttle (
  throttle_key VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  failures INT NOT NULL DEFAULT 0,
  last_failure BIGINT NOT NULL DEFAULT 0, -- unix seconds
  locked_until BIGINT NOT NULL DEFAULT 0, -- unix seconds
  PRIMARY KEY (throttle_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
