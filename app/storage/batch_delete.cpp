#include "storage/batch_delete.h"

#include <memory>
#include <vector>

#include "storage/cppconn.h"

namespace authfcgi::storage {
namespace {

// Rows are deleted this many at a time, by key.
constexpr std::size_t kDeleteChunk = 100;

std::string placeholders(std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    text += i > 0 ? ", ?" : "?";
  }
  return text;
}

}  // namespace

std::size_t delete_matching(MysqlConnection& connection, const std::string& table,
                            const std::string& key, KeyType key_type, const std::string& condition,
                            std::int64_t bound, std::size_t limit) {
  std::vector<std::string> found;
  connection.with_statement("SELECT " + key + " FROM " + table + " WHERE " + condition + " LIMIT ?",
                            [&](sql::PreparedStatement& statement) {
                              statement.setInt64(1, bound);
                              statement.setInt64(2, static_cast<std::int64_t>(limit));
                              const std::unique_ptr<sql::ResultSet> rows(statement.executeQuery());
                              while (rows->next()) {
                                found.push_back(rows->getString(1));
                              }
                            });
  // One statement text for every chunk (they are cached per text): a short chunk repeats its
  // first key.
  const std::string delete_sql = "DELETE FROM " + table + " WHERE " + condition + " AND " + key +
                                 " IN (" + placeholders(kDeleteChunk) + ")";
  std::size_t deleted = 0;
  try {
    for (std::size_t start = 0; start < found.size(); start += kDeleteChunk) {
      connection.with_statement(delete_sql, [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, bound);
        for (std::size_t i = 0; i < kDeleteChunk; ++i) {
          const std::string& value = found[start + i < found.size() ? start + i : start];
          const auto place = static_cast<unsigned>(i + 2);
          if (key_type == KeyType::Number) {
            statement.setInt64(place, std::stoll(value));
          } else {
            statement.setString(place, value);
          }
        }
        deleted += static_cast<std::size_t>(statement.executeUpdate());
      });
    }
  } catch (const LockConflict&) {
    // Housekeeping gives way to the requests that hold these rows; the next run deletes what
    // is left.
  }
  return deleted;
}

}  // namespace authfcgi::storage
