#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// How a table's key is bound: as a number or as a string.
enum class KeyType { Number, Text };

// Deletes up to `limit` rows of `table` that match `condition` (our own SQL fragment with one
// parameter, `bound`): found by a plain read, which locks nothing, then deleted by `key` with
// the condition checked again under the row lock, so a row that counts again meanwhile stays.
// A range DELETE would lock every row it scans (and the first one past its range) for as long
// as it runs, and deadlock with the requests writing there. Returns how many it deleted; a
// lock conflict ends it early (the rows it met stay for the next run).
std::size_t delete_matching(MysqlConnection& connection, const std::string& table,
                            const std::string& key, KeyType key_type, const std::string& condition,
                            std::int64_t bound, std::size_t limit);

}  // namespace authfcgi::storage
