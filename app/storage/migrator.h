#pragma once

#include <string>
#include <vector>

#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// Applies sql/NNN_name.sql files in numeric order, each once, recording the version in
// schema_version. Safe to run twice and from two hosts at once (a named lock).
class Migrator {
 public:
  Migrator(MysqlConnection& connection, std::string sql_dir);
  // Returns the versions applied by this call (empty when up to date).
  std::vector<int> migrate();
  [[nodiscard]] int current_version();

 private:
  MysqlConnection& connection_;
  std::string sql_dir_;
};

}  // namespace authfcgi::storage
