-- Groups for the auth gateway: a protected location may require membership of one of a list.
-- Names compare byte for byte (binary), like every other key. Deleting a user deletes its
-- memberships.
CREATE TABLE IF NOT EXISTS user_groups (
  user_id BIGINT UNSIGNED NOT NULL,
  group_name VARBINARY(64) NOT NULL,
  PRIMARY KEY (user_id, group_name),
  CONSTRAINT fk_user_groups_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- The user's groups again, sorted and comma-separated, kept by every change of user_groups in
-- the same transaction: the session statement that every logged-in request runs reads this
-- column of the row it joins anyway, instead of aggregating user_groups each time.
ALTER TABLE users ADD COLUMN IF NOT EXISTS group_list VARBINARY(8192) NOT NULL DEFAULT '';
