#include "domain/session_state.h"

#include <algorithm>

namespace authfcgi::domain {

void add_flash(SessionState& session, std::string message) {
  auto& flashes = session.flashes;
  if (std::find(flashes.begin(), flashes.end(), message) != flashes.end()) {
    return;
  }
  if (flashes.size() >= kMaxPendingFlashes) {
    flashes.erase(flashes.begin(), flashes.end() - (kMaxPendingFlashes - 1));
  }
  flashes.push_back(std::move(message));
}

}  // namespace authfcgi::domain
