-- Login throttling by four rules (per account and address, per address, per account, per
-- device marker) with sliding windows: one row per key and counted failure, or per key and
-- attempt in flight (pending = 1 until lease_until: a possible failure while its password is
-- checked, so parallel attempts get no more tries than a sequence; a failure after that, unless
-- the outcome was recorded). A row counts until expires_at, the end of its key's window. key_hash is SHA-256 of the
-- key's canonical text; scope, email, address and device are the key's parts, for
-- `authctl throttle list` and `clear`. Everything compares bytes (binary columns). Replaces
-- login_throttle, whose counters (a count and a last failure per key) cannot become
-- per-failure rows; they are dropped, so every key starts clean.
CREATE TABLE IF NOT EXISTS login_failures (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  key_hash BINARY(32) NOT NULL,
  scope VARBINARY(8) NOT NULL,
  email VARBINARY(256) NOT NULL DEFAULT '',
  address VARBINARY(255) NOT NULL DEFAULT '',
  device VARBINARY(64) NOT NULL DEFAULT '',
  attempt VARBINARY(32) NOT NULL,
  pending TINYINT NOT NULL,
  failed_at BIGINT NOT NULL, -- unix seconds (for a pending row: when it was admitted)
  expires_at BIGINT NOT NULL, -- unix seconds
  lease_until BIGINT NOT NULL, -- unix seconds: a pending row is in flight until then
  PRIMARY KEY (id),
  -- Covers the admission's read: count, newest failure and oldest expiry per key and kind.
  KEY ix_login_failures_key (key_hash, expires_at, pending, lease_until, failed_at),
  KEY ix_login_failures_attempt (attempt),
  KEY ix_login_failures_expires (expires_at),
  KEY ix_login_failures_email (email),
  KEY ix_login_failures_address (address)
) ENGINE=InnoDB;

-- One row per key that an attempt was admitted on lately: admitting locks the rows of its keys
-- (in one order for everybody), so two attempts on a key are admitted one after the other.
-- A row is only needed while an admission runs; rows unused for a while are pruned.
CREATE TABLE IF NOT EXISTS login_throttle_locks (
  key_hash BINARY(32) NOT NULL,
  used_at BIGINT NOT NULL,
  PRIMARY KEY (key_hash),
  KEY ix_login_throttle_locks_used (used_at)
) ENGINE=InnoDB;

DROP TABLE IF EXISTS login_throttle;
