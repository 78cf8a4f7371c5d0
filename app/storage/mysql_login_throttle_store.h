#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "domain/login_throttle_store.h"
#include "storage/mysql_connection.h"

namespace authfcgi::storage {

// The login_throttle table. Keys are stored byte for byte (utf8mb4_bin) and must be valid UTF-8
// of at most kMaxKeyBytes bytes; every method throws std::invalid_argument for a longer key,
// because truncating could make two keys share one counter. Callers build short keys
// ("account:" + a 64-character email, "address:" + an IP address).
class MysqlLoginThrottleStore final : public domain::LoginThrottleStore {
 public:
  // The width of login_throttle.throttle_key (VARCHAR(191): characters, and at least one byte
  // each, so any key of this many bytes fits).
  static constexpr std::size_t kMaxKeyBytes = 191;

  explicit MysqlLoginThrottleStore(MysqlConnection& connection) : connection_(connection) {}

  [[nodiscard]] domain::ThrottleCounters get(std::string_view account_key,
                                             std::string_view address_key) override;
  domain::ThrottleState record_failure(std::string_view key, std::int64_t now,
                                       std::int64_t forget_after_seconds) override;
  void reset(std::string_view key) override;

 private:
  MysqlConnection& connection_;
};

}  // namespace authfcgi::storage
