#pragma once

#include <map>
#include <string>

#include "web/request.h"
#include "web/response.h"

namespace authfcgi::testing {

// Keeps cookies between requests as a browser would (Max-Age=0 deletes).
class CookieJar {
 public:
  void absorb(const web::Response& response) {
    for (const auto header : response.headers_named("Set-Cookie")) {
      const auto eq = header.find('=');
      const auto semi = header.find(';');
      const std::string name(header.substr(0, eq));
      const std::string value(header.substr(eq + 1, semi - eq - 1));
      if (header.find("Max-Age=0") != std::string::npos) {
        cookies_.erase(name);
      } else {
        cookies_[name] = value;
      }
    }
  }
  void apply(web::Request& request) const {
    for (const auto& [name, value] : cookies_) {
      request.cookies[name] = value;
    }
  }
  [[nodiscard]] bool has(const std::string& name) const { return cookies_.count(name) > 0; }
  [[nodiscard]] std::string get(const std::string& name) const {
    const auto found = cookies_.find(name);
    return found == cookies_.end() ? std::string() : found->second;
  }
  void erase(const std::string& name) { cookies_.erase(name); }
  void set(const std::string& name, std::string value) { cookies_[name] = std::move(value); }

 private:
  std::map<std::string, std::string> cookies_;
};

}  // namespace authfcgi::testing
