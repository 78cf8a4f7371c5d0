#pragma once

#include <cstddef>
#include <semaphore>
#include <string>
#include <string_view>

#include "domain/password_hasher.h"

namespace authfcgi::crypto {

// Lets at most max_concurrent hash/verify calls reach the inner hasher at once, so argon2's
// memory use is bounded by max_concurrent * memlimit however many threads serve requests.
// Other callers wait. Thread-safe; the inner hasher must outlive this object.
class BoundedPasswordHasher final : public domain::PasswordHasher {
 public:
  // The largest bound the semaphore can represent; larger requests are clamped to it.
  static constexpr std::ptrdiff_t kMaxBound = 1024;

  // max_concurrent 0 means std::thread::hardware_concurrency() (at least 1).
  BoundedPasswordHasher(const domain::PasswordHasher& inner, unsigned max_concurrent);

  [[nodiscard]] std::string hash(std::string_view password) const override;
  [[nodiscard]] bool verify(std::string_view encoded_hash,
                            std::string_view password) const override;
  // Cheap (parses the hash string only), so not bounded.
  [[nodiscard]] bool needs_rehash(std::string_view encoded_hash) const override;

  [[nodiscard]] std::ptrdiff_t bound() const { return bound_; }

 private:
  const domain::PasswordHasher& inner_;
  std::ptrdiff_t bound_;
  mutable std::counting_semaphore<kMaxBound> slots_;
};

}  // namespace authfcgi::crypto
