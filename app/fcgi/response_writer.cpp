#include "fcgi/response_writer.h"

#include <fcgiapp.h>

#include <algorithm>
#include <climits>
#include <iterator>

#include "util/strings.h"

namespace authfcgi::fcgi {
namespace {

std::string strip_line_breaks(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  std::copy_if(text.begin(), text.end(), std::back_inserter(clean),
               [](char c) { return c != '\r' && c != '\n' && c != '\0'; });
  return clean;
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string format_head(const web::Response& response) {
  constexpr std::size_t kTypicalHeadBytes = 512;
  std::string out;
  out.reserve(kTypicalHeadBytes);
  out += "Status: ";
  out += std::to_string(response.status);
  out += ' ';
  out += reason_phrase(response.status);
  out += "\r\n";
  for (const auto& [name, value] : response.headers) {
    auto clean_name = strip_line_breaks(name);
    // A length from elsewhere could disagree with the body actually sent.
    if (clean_name.empty() || util::iequals_ascii(clean_name, "Content-Length")) {
      continue;
    }
    out += clean_name;
    out += ": ";
    out += strip_line_breaks(value);
    out += "\r\n";
  }
  // HEAD answers carry the length the GET would have (RFC 9110 9.3.2): the app renders the
  // page for HEAD as for GET, and a request refused before the app has its error page, so every
  // path counts the same body; only the body itself is left out.
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "\r\n";
  return out;
}

std::string format_response(const web::Response& response, IncludeBody include_body) {
  std::string out = format_head(response);
  if (include_body == IncludeBody::Yes) {
    out += response.body;
  }
  return out;
}

namespace {

bool put_all(FCGX_Stream* out, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto chunk = static_cast<int>(std::min<std::size_t>(text.size() - done, INT_MAX));
    const int written = FCGX_PutStr(text.data() + done, chunk, out);
    if (written < 0) {
      return false;
    }
    done += static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace

bool write_response(FCGX_Stream* out, const web::Response& response, IncludeBody include_body) {
  return put_all(out, format_head(response)) &&
         (include_body == IncludeBody::No || put_all(out, response.body));
}

}  // namespace authfcgi::fcgi
