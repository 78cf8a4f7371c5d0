#include "storage/mysql_login_throttle_store.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "storage/batch_delete.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

constexpr std::string_view kKeyHash = "UNHEX(SHA2(?, 256))";
// Lock rows unused for this long are pruned; an admission holds one for milliseconds.
constexpr std::int64_t kLockRowIdleSeconds = 600;

std::string repeated(std::string_view item, std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) {
      text += ", ";
    }
    text += item;
  }
  return text;
}

std::vector<std::string> key_texts(std::span<const domain::ThrottleKey> keys) {
  std::vector<std::string> texts;
  texts.reserve(keys.size());
  for (const domain::ThrottleKey& key : keys) {
    texts.push_back(key.text());
  }
  return texts;
}

// A single statement that lost a lock conflict was rolled back whole (a deadlock with a prune,
// say): running it again is safe, and an outcome is worth recording.
void with_retry_on_conflict(MysqlConnection& connection, const std::string& sql,
                            const std::function<void(sql::PreparedStatement&)>& work) {
  constexpr int kTries = 3;
  for (int attempt = 1;; ++attempt) {
    try {
      connection.with_statement(sql, work);
      return;
    } catch (const LockConflict&) {
      if (attempt == kTries) {
        throw;
      }
    }
  }
}

}  // namespace

std::vector<domain::KeyHistory> MysqlLoginThrottleStore::histories(
    const std::vector<std::string>& texts, std::int64_t now) {
  std::vector<domain::KeyHistory> histories(texts.size());
  // Which key a row belongs to, told by the server: CASE key_hash WHEN <key 0> THEN 0 ...
  // Summed up by the server from the covering index: a key under an endless attack (or with
  // raised limits) may hold many rows, and only these numbers decide.
  std::string sql = "SELECT CASE key_hash";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    sql += " WHEN UNHEX(SHA2(?, 256)) THEN " + std::to_string(i);
  }
  sql +=
      " END, pending = 1 AND lease_until > ? AS in_flight, COUNT(*), MAX(failed_at), "
      "MIN(expires_at) FROM login_failures WHERE key_hash IN (";
  sql += repeated(kKeyHash, texts.size());
  sql += ") AND expires_at > ? GROUP BY key_hash, in_flight";
  connection_.with_statement(sql, [&](sql::PreparedStatement& statement) {
    unsigned next = 1;
    for (const std::string& text : texts) {
      statement.setString(next++, text);
    }
    statement.setInt64(next++, now);
    for (const std::string& text : texts) {
      statement.setString(next++, text);
    }
    statement.setInt64(next++, now);
    const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
    while (rows->next()) {
      const auto index = static_cast<std::size_t>(rows->getInt64(1));
      if (index >= histories.size()) {
        continue;
      }
      domain::KeyHistory& history = histories[index];
      if (rows->getInt(2) != 0) {
        history.pending = rows->getInt64(3);
      } else {
        history.failures = rows->getInt64(3);
        history.last_failure = rows->getInt64(4);
        history.first_expiry = rows->getInt64(5);
      }
    }
  });
  return histories;
}

std::vector<domain::KeyHistory> MysqlLoginThrottleStore::read(
    std::span<const domain::ThrottleKey> keys, std::int64_t now) {
  return histories(key_texts(keys), now);
}

domain::AdmitOutcome MysqlLoginThrottleStore::admit(std::span<const domain::ThrottleKey> keys,
                                                    std::string_view attempt, std::int64_t now,
                                                    std::int64_t lease_until,
                                                    const Decide& decide) {
  const std::vector<std::string> texts = key_texts(keys);
  // Every admission locks its keys in the same order, so two of them never wait for each other
  // in a circle.
  std::vector<std::string> lock_order = texts;
  std::sort(lock_order.begin(), lock_order.end());
  lock_order.erase(std::unique(lock_order.begin(), lock_order.end()), lock_order.end());

  try {
    MysqlConnection::Transaction transaction(connection_);
    std::string lock_sql = "INSERT INTO login_throttle_locks (key_hash, used_at) VALUES ";
    lock_sql += repeated("(UNHEX(SHA2(?, 256)), ?)", lock_order.size());
    lock_sql += " ON DUPLICATE KEY UPDATE used_at = VALUES(used_at)";
    connection_.with_statement(lock_sql, [&](sql::PreparedStatement& statement) {
      unsigned next = 1;
      for (const std::string& text : lock_order) {
        statement.setString(next++, text);
        statement.setInt64(next++, now);
      }
      statement.executeUpdate();
    });

    const std::vector<domain::KeyHistory> read = histories(texts, now);
    const std::vector<PendingMark> marks = decide(read);
    if (!marks.empty()) {
      std::string insert_sql =
          "INSERT INTO login_failures (key_hash, scope, email, address, device, attempt, pending, "
          "failed_at, expires_at, lease_until) VALUES ";
      insert_sql += repeated("(UNHEX(SHA2(?, 256)), ?, ?, ?, ?, ?, 1, ?, ?, ?)", marks.size());
      connection_.with_statement(insert_sql, [&](sql::PreparedStatement& statement) {
        unsigned next = 1;
        for (const PendingMark& mark : marks) {
          const domain::ThrottleKey& key = keys[mark.key];
          statement.setString(next++, texts.at(mark.key));
          statement.setString(next++, std::string(domain::scope_name(key.scope)));
          statement.setString(next++, key.email);
          // The column only serves listing and clearing: the key itself is the hash of all of
          // it, so a cut address can never merge two keys.
          statement.setString(next++, key.address.substr(0, 255));
          statement.setString(next++, key.device);
          statement.setString(next++, std::string(attempt));
          statement.setInt64(next++, now);
          statement.setInt64(next++, mark.expires_at);
          statement.setInt64(next++, lease_until);
        }
        statement.executeUpdate();
      });
    }
    transaction.commit();
  } catch (const LockConflict&) {
    return domain::AdmitOutcome::Busy;
  }
  return domain::AdmitOutcome::Decided;
}

void MysqlLoginThrottleStore::record_failure(std::string_view attempt, std::int64_t now,
                                             std::span<const domain::FailureExpiry> expiries) {
  if (expiries.empty()) {
    return;
  }
  std::string sql =
      "UPDATE login_failures SET pending = 0, failed_at = ?, expires_at = CASE key_hash";
  for (std::size_t i = 0; i < expiries.size(); ++i) {
    sql += " WHEN UNHEX(SHA2(?, 256)) THEN ?";
  }
  sql += " ELSE expires_at END WHERE attempt = ?";
  with_retry_on_conflict(connection_, sql, [&](sql::PreparedStatement& statement) {
    unsigned next = 1;
    statement.setInt64(next++, now);
    for (const domain::FailureExpiry& expiry : expiries) {
      statement.setString(next++, expiry.key.text());
      statement.setInt64(next++, expiry.expires_at);
    }
    statement.setString(next++, std::string(attempt));
    statement.executeUpdate();
  });
}

void MysqlLoginThrottleStore::forget(std::string_view attempt,
                                     std::span<const domain::ThrottleKey> reset) {
  std::string sql = "DELETE FROM login_failures WHERE attempt = ?";
  if (!reset.empty()) {
    sql += " OR (pending = 0 AND key_hash IN (" + repeated(kKeyHash, reset.size()) + "))";
  }
  with_retry_on_conflict(connection_, sql, [&](sql::PreparedStatement& statement) {
    unsigned next = 1;
    statement.setString(next++, std::string(attempt));
    for (const domain::ThrottleKey& key : reset) {
      statement.setString(next++, key.text());
    }
    statement.executeUpdate();
  });
}

std::vector<domain::ThrottleListing> MysqlLoginThrottleStore::list(std::int64_t now) {
  std::vector<domain::ThrottleListing> listings;
  connection_.with_statement(
      "SELECT MIN(scope), MIN(email), MIN(address), MIN(device), COUNT(*), MAX(failed_at), "
      "MIN(expires_at) FROM login_failures "
      "WHERE expires_at > ? AND NOT (pending = 1 AND lease_until > ?) "
      "GROUP BY key_hash ORDER BY MIN(scope), MIN(email), MIN(address), MIN(device)",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, now);
        statement.setInt64(2, now);
        const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
        while (rows->next()) {
          domain::ThrottleListing listing;
          const std::string scope = rows->getString(1);
          for (const auto candidate :
               {domain::ThrottleScope::Pair, domain::ThrottleScope::Address,
                domain::ThrottleScope::Account, domain::ThrottleScope::Device}) {
            if (domain::scope_name(candidate) == scope) {
              listing.key.scope = candidate;
            }
          }
          listing.key.email = rows->getString(2);
          listing.key.address = rows->getString(3);
          listing.key.device = rows->getString(4);
          listing.history.failures = rows->getInt64(5);
          listing.history.last_failure = rows->getInt64(6);
          listing.history.first_expiry = rows->getInt64(7);
          listings.push_back(std::move(listing));
        }
      });
  return listings;
}

std::size_t MysqlLoginThrottleStore::clear(const domain::ThrottleFilter& filter) {
  std::string where;
  std::string value;
  // Named by scope too: the address key's email and the account and device keys' address are
  // empty, and must not be taken for "the keys of ''".
  if (filter.email) {
    where = " WHERE email = ? AND scope IN ('pair', 'account', 'device')";
    value = *filter.email;
  } else if (filter.address) {
    where = " WHERE address = ? AND scope IN ('pair', 'address')";
    value = filter.address->substr(0, 255);
  }
  std::size_t keys = 0;
  connection_.with_statement("SELECT COUNT(DISTINCT key_hash) FROM login_failures" + where,
                             [&](sql::PreparedStatement& statement) {
                               if (!where.empty()) {
                                 statement.setString(1, value);
                               }
                               const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                               if (rows->next()) {
                                 keys = static_cast<std::size_t>(rows->getInt64(1));
                               }
                             });
  connection_.with_statement("DELETE FROM login_failures" + where,
                             [&](sql::PreparedStatement& statement) {
                               if (!where.empty()) {
                                 statement.setString(1, value);
                               }
                               statement.executeUpdate();
                             });
  return keys;
}

std::size_t MysqlLoginThrottleStore::prune(std::int64_t now, std::size_t max_rows) {
  std::size_t deleted = 0;
  try {
    deleted = delete_matching(connection_, "login_failures", "id", KeyType::Number,
                              "expires_at <= ?", now, max_rows);
    // max_rows bounds the whole call (what one login may spend on it): lock rows get the rest.
    if (deleted < max_rows) {
      deleted += delete_matching(connection_, "login_throttle_locks", "key_hash", KeyType::Text,
                                 "used_at < ?", now - kLockRowIdleSeconds, max_rows - deleted);
    }
  } catch (const LockConflict&) {
    // Housekeeping gives way to logins; the next prune deletes what is left.
  }
  return deleted;
}

}  // namespace authfcgi::storage
