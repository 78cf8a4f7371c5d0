#include "web/response.h"

#include "util/strings.h"

namespace authfcgi::web {

Response Response::html(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.add_header("Content-Type", "text/html; charset=utf-8");
  return response;
}

Response Response::redirect(std::string location) {
  Response response;
  response.status = 302;
  response.add_header("Location", std::move(location));
  return response;
}

void Response::add_header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

std::string_view Response::header(std::string_view name) const {
  for (const auto& [header_name, value] : headers) {
    if (util::iequals_ascii(header_name, name)) {
      return value;
    }
  }
  return {};
}

std::vector<std::string_view> Response::headers_named(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [header_name, value] : headers) {
    if (util::iequals_ascii(header_name, name)) {
      values.emplace_back(value);
    }
  }
  return values;
}

}  // namespace authfcgi::web
