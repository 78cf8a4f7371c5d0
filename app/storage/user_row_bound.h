#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "domain/user.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// For the tables with user_id, expires_at and an auto-increment seq (sessions and
// remember_tokens). `table`, `which` and `rank` are our own SQL fragments, never input.

// Of the user's rows matching `which`, deletes all but the `keep` ranking highest by
// (`rank`, seq).
void keep_highest_ranked(MysqlConnection& connection, std::string_view table,
                         std::string_view which, std::string_view rank, domain::UserId user_id,
                         std::size_t keep);
// Deletes the user's rows that expired at `now`.
void delete_expired(MysqlConnection& connection, std::string_view table, domain::UserId user_id,
                    std::int64_t now);
// Deletes up to max_rows rows of any user that expired at `now`; how many.
std::size_t delete_expired_rows(MysqlConnection& connection, std::string_view table,
                                std::int64_t now, std::size_t max_rows);

}  // namespace authfcgi::storage
