#include "crypto/system_clock.h"

#include <chrono>
#include <thread>

namespace authfcgi::crypto {

std::int64_t SystemClock::now() const {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
}

void SystemClock::pause(std::chrono::milliseconds duration) const {
  std::this_thread::sleep_for(duration);
}

}  // namespace authfcgi::crypto
