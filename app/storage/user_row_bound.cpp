#include "storage/user_row_bound.h"

#include <string>

#include "storage/cppconn.h"

namespace authfcgi::storage {

void trim_user_rows(MysqlConnection& connection, std::string_view table, domain::UserId user_id,
                    std::size_t keep, std::int64_t now) {
  const std::string name(table);
  // One statement: expired rows, and every row at or below the (keep + 1)-th newest. The
  // derived table makes MariaDB read the threshold before it deletes.
  connection.with_statement(
      "DELETE FROM " + name + " WHERE user_id = ? AND (expires_at <= ? OR seq <= " +
          "(SELECT seq FROM (SELECT seq FROM " + name +
          " WHERE user_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?) AS oldest_kept))",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, user_id);
        statement.setInt64(2, now);
        statement.setInt64(3, user_id);
        statement.setInt64(4, static_cast<std::int64_t>(keep));
        statement.executeUpdate();
      });
}

}  // namespace authfcgi::storage
