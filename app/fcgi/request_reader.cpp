#include "fcgi/request_reader.h"

#include <fcgiapp.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include "util/strings.h"
#include "util/utf8.h"
#include "web/cookie.h"
#include "web/form_parser.h"

namespace authfcgi::fcgi {
namespace {

constexpr int kBadRequest = 400;
constexpr int kPayloadTooLarge = 413;
constexpr std::size_t kMaxMethodBytes = 16;
constexpr std::string_view kHttpPrefix = "HTTP_";

// Methods are upper-case tokens; anything else cannot match a route and is refused early.
bool is_valid_method(std::string_view method) {
  return !method.empty() && method.size() <= kMaxMethodBytes &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// The path is compared byte for byte by the router and may end up in a Location header or a
// page, so it must be valid UTF-8 without NUL or other control characters.
bool is_acceptable_path(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return false;
  }
  const bool has_control = std::any_of(path.begin(), path.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
  return !has_control && util::is_valid_utf8(path);
}

// "HTTP_X_FORWARDED_FOR" -> "x-forwarded-for".
std::string header_name(std::string_view cgi_name) {
  std::string name = util::ascii_lower(cgi_name.substr(kHttpPrefix.size()));
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

}  // namespace

std::optional<std::string_view> Params::find(std::string_view name) const {
  for (const auto& [entry_name, value] : entries_) {
    if (entry_name == name) {
      return value;
    }
  }
  return std::nullopt;
}

Params params_from_envp(const char* const* envp) {
  constexpr std::size_t kTypicalParams = 32;
  Params params;
  // One allocation for the usual number of params instead of several as the vector grows.
  params.reserve(kTypicalParams);
  for (auto entry = envp; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto equals = text.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    params.add(text.substr(0, equals), text.substr(equals + 1));
  }
  return params;
}

std::variant<std::size_t, int> announced_body_length(const Params& params,
                                                     const RequestLimits& limits) {
  // nginx sends an empty CONTENT_LENGTH for requests without a body.
  auto text = params.get("CONTENT_LENGTH");
  if (text.empty()) {
    return std::size_t{0};
  }
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return kBadRequest;
  }
  std::size_t length = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (error == std::errc::result_out_of_range) {
    return kPayloadTooLarge;
  }
  if (error != std::errc{} || end != text.data() + text.size()) {
    return kBadRequest;
  }
  if (length > limits.max_body_bytes) {
    return kPayloadTooLarge;
  }
  return length;
}

namespace {

// Everything but the body length, which read_request has checked against CONTENT_LENGTH.
ReadResult parse_request(const Params& params, std::string_view body, const RequestLimits& limits) {
  web::Request request;
  request.method = std::string(params.get("REQUEST_METHOD"));
  if (!is_valid_method(request.method)) {
    return kBadRequest;
  }

  std::size_t header_bytes = 0;
  for (const auto& [name, value] : params.entries()) {
    if (name.starts_with(kHttpPrefix) && name.size() > kHttpPrefix.size()) {
      header_bytes += name.size() + value.size();
      request.headers.emplace(header_name(name), std::string(value));
    }
  }
  auto uri = params.get("REQUEST_URI");
  header_bytes += uri.size();
  if (header_bytes > limits.max_header_bytes) {
    return kBadRequest;
  }
  // CGI passes these two without the HTTP_ prefix.
  if (auto type = params.get("CONTENT_TYPE"); !type.empty()) {
    request.headers.emplace("content-type", std::string(type));
  }
  if (auto size = params.get("CONTENT_LENGTH"); !size.empty()) {
    request.headers.emplace("content-length", std::string(size));
  }

  std::string_view query;
  if (params.get("FCGI_ROLE") == "AUTHORIZER") {
    // mod_authnz_fcgi asks about the protected request itself (its method and URI, no body):
    // it becomes the gateway's verify, with that URI as nginx's snippet would pass it. The URI
    // is the protected site's business: it is not parsed, and only a safe one becomes `next`.
    request.gateway = web::GatewayCall::Authorizer;
    request.method = "GET";
    request.path = "/auth/verify";
    request.headers.insert_or_assign("x-original-uri", std::string(uri));
  } else if (!uri.empty()) {
    auto question = uri.find('?');
    request.path = std::string(uri.substr(0, question));
    query = question == std::string_view::npos ? std::string_view{} : uri.substr(question + 1);
  } else {
    // Servers that send no REQUEST_URI still send the CGI pieces.
    request.path = std::string(params.get("SCRIPT_NAME")) + std::string(params.get("PATH_INFO"));
    query = params.get("QUERY_STRING");
  }
  if (!is_acceptable_path(request.path)) {
    return kBadRequest;
  }
  auto parsed_query = web::parse_query_string(query);
  if (!parsed_query) {
    return kBadRequest;
  }
  request.query = std::move(*parsed_query);

  if (auto cookie_header = params.get("HTTP_COOKIE"); !cookie_header.empty()) {
    auto cookies = web::parse_cookie_header(cookie_header);
    if (!cookies) {
      return kBadRequest;
    }
    request.cookies = std::move(*cookies);
  }

  if (request.method == "POST" && request.gateway != web::GatewayCall::Authorizer) {
    auto form = web::parse_form_body(params.get("CONTENT_TYPE"), body);
    if (!form) {
      return kBadRequest;
    }
    request.form = std::move(*form);
  }

  request.remote_addr = std::string(params.get("REMOTE_ADDR"));
  request.require_group = std::string(params.get("AUTHFCGI_REQUIRE_GROUP"));
  if (request.gateway == web::GatewayCall::None &&
      params.get("AUTHFCGI_GATEWAY") == "auth_request") {
    request.gateway = web::GatewayCall::AuthRequest;
  }
  auto https = params.get("HTTPS");
  request.is_https = util::iequals_ascii(https, "on") || https == "1";
  return request;
}

}  // namespace

ReadResult read_request(const Params& params, const BodySource& read_body,
                        const RequestLimits& limits) {
  // An authorizer gets no body (the body belongs to the protected request): reading one that a
  // CONTENT_LENGTH announced would wait for ever.
  if (params.get("FCGI_ROLE") == "AUTHORIZER") {
    return parse_request(params, {}, limits);
  }
  const auto length = announced_body_length(params, limits);
  if (const auto* status = std::get_if<int>(&length)) {
    return *status;
  }
  const auto body = read_body(std::get<std::size_t>(length));
  if (!body) {
    return kBadRequest;
  }
  return parse_request(params, *body, limits);
}

ReadResult read_request(const Params& params, std::string_view body, const RequestLimits& limits) {
  return read_request(
      params,
      [body](std::size_t length) -> std::optional<std::string> {
        if (body.size() != length) {
          return std::nullopt;
        }
        return std::string(body);
      },
      limits);
}

std::optional<std::string> read_body(FCGX_Stream* in, std::size_t length) {
  std::string body(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const auto chunk = static_cast<int>(std::min<std::size_t>(length - done, INT_MAX));
    const int got = FCGX_GetStr(body.data() + done, chunk, in);
    if (got <= 0) {
      return std::nullopt;
    }
    done += static_cast<std::size_t>(got);
  }
  return body;
}

}  // namespace authfcgi::fcgi
