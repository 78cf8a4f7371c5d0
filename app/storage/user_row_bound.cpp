#include "storage/user_row_bound.h"

#include <memory>
#include <optional>
#include <string>

#include "storage/batch_delete.h"
#include "storage/cppconn.h"

namespace authfcgi::storage {

void keep_highest_ranked(MysqlConnection& connection, std::string_view table,
                         std::string_view which, std::string_view rank, domain::UserId user_id,
                         std::size_t keep) {
  // Appended piece by piece: GCC 12's -Wrestrict misreads `"literal" + std::string` at -O2.
  std::string rows_of_user = " FROM ";
  rows_of_user.append(table).append(" WHERE user_id = ? AND (").append(which).append(")");
  std::string rank_of_row = "(";
  rank_of_row.append(rank).append(")");
  // The highest-ranking row that goes, read first with a plain (non-locking) SELECT: a DELETE
  // with this subquery would take shared locks on the rows it reads and deadlock against a
  // parallel login of the same user.
  struct Row {
    std::int64_t rank = 0;
    std::int64_t seq = 0;
  };
  std::optional<Row> first_gone;
  connection.with_statement(
      "SELECT " + rank_of_row + ", seq" + rows_of_user + " ORDER BY " + rank_of_row +
          " DESC, seq DESC LIMIT 1 OFFSET ?",
      [&](sql::PreparedStatement& statement) {
        statement.setInt64(1, user_id);
        statement.setInt64(2, static_cast<std::int64_t>(keep));
        const std::unique_ptr<sql::ResultSet> result(statement.executeQuery());
        if (result->next()) {
          first_gone = Row{result->getInt64(1), result->getInt64(2)};
        }
      });
  if (first_gone) {
    connection.with_statement("DELETE" + rows_of_user + " AND (" + rank_of_row + " < ? OR (" +
                                  rank_of_row + " = ? AND seq <= ?))",
                              [&](sql::PreparedStatement& statement) {
                                statement.setInt64(1, user_id);
                                statement.setInt64(2, first_gone->rank);
                                statement.setInt64(3, first_gone->rank);
                                statement.setInt64(4, first_gone->seq);
                                statement.executeUpdate();
                              });
  }
}

void delete_expired(MysqlConnection& connection, std::string_view table, domain::UserId user_id,
                    std::int64_t now) {
  std::string statement_text = "DELETE FROM ";
  statement_text.append(table).append(" WHERE user_id = ? AND expires_at <= ?");
  connection.with_statement(statement_text, [&](sql::PreparedStatement& statement) {
    statement.setInt64(1, user_id);
    statement.setInt64(2, now);
    statement.executeUpdate();
  });
}

std::size_t delete_expired_rows(MysqlConnection& connection, std::string_view table,
                                std::int64_t now, std::size_t max_rows) {
  // By seq (unique), row by row: a login of the same user trims its rows meanwhile, and a
  // range DELETE over the table would hold locks that login waits for.
  return delete_matching(connection, std::string(table), "seq", KeyType::Number, "expires_at <= ?",
                         now, max_rows);
}

}  // namespace authfcgi::storage
