#include "crypto/bounded_password_hasher.h"

#include <algorithm>
#include <thread>

namespace authfcgi::crypto {

namespace {

std::ptrdiff_t effective_bound(unsigned max_concurrent) {
  const unsigned wanted =
      max_concurrent != 0 ? max_concurrent : std::max(1U, std::thread::hardware_concurrency());
  return std::min(static_cast<std::ptrdiff_t>(wanted), BoundedPasswordHasher::kMaxBound);
}

// Holds one slot for the lifetime of a call, released even when the inner hasher throws.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<BoundedPasswordHasher::kMaxBound>& slots)
      : slots_(slots) {
    slots_.acquire();
  }
  ~SlotGuard() { slots_.release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  std::counting_semaphore<BoundedPasswordHasher::kMaxBound>& slots_;
};

}  // namespace

BoundedPasswordHasher::BoundedPasswordHasher(const domain::PasswordHasher& inner,
                                             unsigned max_concurrent)
    : inner_(inner), bound_(effective_bound(max_concurrent)), slots_(bound_) {}

std::string BoundedPasswordHasher::hash(std::string_view password) const {
  const SlotGuard slot(slots_);
  return inner_.hash(password);
}

bool BoundedPasswordHasher::verify(std::string_view encoded_hash, std::string_view password) const {
  const SlotGuard slot(slots_);
  return inner_.verify(encoded_hash, password);
}

bool BoundedPasswordHasher::needs_rehash(std::string_view encoded_hash) const {
  return inner_.needs_rehash(encoded_hash);
}

}  // namespace authfcgi::crypto
