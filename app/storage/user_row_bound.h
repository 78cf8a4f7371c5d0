#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "domain/user.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// Deletes the user's rows of `table` that expired at `now`, and all but the `keep` most
// recently created. For the tables with user_id, expires_at and an auto-increment seq:
// sessions and remember_tokens. `table` is one of our names, never input.
void trim_user_rows(MysqlConnection& connection, std::string_view table, domain::UserId user_id,
                    std::size_t keep, std::int64_t now);

}  // namespace authfcgi::storage
