#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "web/request.h"

struct FCGX_Stream;

namespace authfcgi::fcgi {

// FastCGI params (the CGI environment of one request) as views into strings that outlive it:
// libfcgi's envp, valid until the request is finished. A request has a few dozen, so a lookup
// scans them instead of copying each into a map; the first of repeated names wins.
class Params {
 public:
  using Entry = std::pair<std::string_view, std::string_view>;

  void reserve(std::size_t count) { entries_.reserve(count); }
  void add(std::string_view name, std::string_view value) { entries_.emplace_back(name, value); }
  [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const;
  // The value, or "" when the param is absent.
  [[nodiscard]] std::string_view get(std::string_view name) const {
    return find(name).value_or(std::string_view{});
  }
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Input limits; anything beyond them is refused before the app sees the request.
struct RequestLimits {
  std::size_t max_body_bytes = 64 * 1024;    // CONTENT_LENGTH above this: 413
  std::size_t max_header_bytes = 16 * 1024;  // all HTTP_* names and values together: 400
};

// Either the parsed request or the status to refuse it with (400 or 413).
using ReadResult = std::variant<web::Request, int>;

// "NAME=value" strings (FCGX_Request::envp, a null-terminated array) into Params, which point
// into them; entries without '=' are skipped.
[[nodiscard]] Params params_from_envp(const char* const* envp);

// The body length announced by CONTENT_LENGTH (0 when absent), or the status to refuse it
// with: 413 above max_body_bytes, 400 when not a plain decimal number. read_request is the
// one place that calls it, before any of the body is read.
[[nodiscard]] std::variant<std::size_t, int> announced_body_length(const Params& params,
                                                                   const RequestLimits& limits);

// Reads exactly `length` bytes of the body; nullopt when there are not that many.
using BodySource = std::function<std::optional<std::string>(std::size_t length)>;

// Turns params and the body into a web::Request, or 400/413. CONTENT_LENGTH is checked first
// and read_body is called only for an acceptable length (a refused body is never read); a
// body that ends early is 400. A form is parsed only for POST.
[[nodiscard]] ReadResult read_request(const Params& params, const BodySource& read_body,
                                      const RequestLimits& limits = {});
// The same with the whole body at hand. Pure. A body longer or shorter than CONTENT_LENGTH
// is 400.
[[nodiscard]] ReadResult read_request(const Params& params, std::string_view body,
                                      const RequestLimits& limits = {});

// Reads exactly length bytes of the request body; nullopt when the stream ends first.
[[nodiscard]] std::optional<std::string> read_body(FCGX_Stream* in, std::size_t length);

}  // namespace authfcgi::fcgi
