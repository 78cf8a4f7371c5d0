#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authfcgi::web {

// One HTTP response. Headers keep their order; Set-Cookie may repeat.
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static Response html(int status, std::string body);
  // A 302 to a path that we built ourselves (never taken from Host).
  static Response redirect(std::string location);

  void add_header(std::string name, std::string value);
  // The first header with this (case-insensitive) name, or empty.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] std::vector<std::string_view> headers_named(std::string_view name) const;
};

}  // namespace authfcgi::web
