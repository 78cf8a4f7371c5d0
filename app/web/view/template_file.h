#pragma once

#include <string>

#include <kainjow/mustache.hpp>

namespace authfcgi::web::view {

// Reads and parses one Mustache template; std::runtime_error naming the file when it cannot
// be read or is invalid (a start-up error, never a worker that cannot render).
[[nodiscard]] kainjow::mustache::mustache parse_template_file(const std::string& path);

}  // namespace authfcgi::web::view
