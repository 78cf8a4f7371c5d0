#include "web/form_parser.h"

#include <cgicc/CgiInput.h>
#include <cgicc/Cgicc.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "util/percent_encoding.h"
#include "util/strings.h"
#include "util/utf8.h"

// Urlencoded bodies and query strings are parsed here with a strict splitter and
// util::percent_decode: cgicc's own decoder silently accepts broken %XX, which the SPEC answers
// with 400. cgicc parses multipart/form-data only, after we have checked the boundary and the
// delimiters ourselves, because its multipart code misbehaves without a boundary.

namespace authfcgi::web {

namespace {

constexpr std::string_view kUrlencoded = "application/x-www-form-urlencoded";
constexpr std::string_view kMultipart = "multipart/form-data";

// Feeds cgicc from memory instead of stdin and the process environment, which a
// multi-threaded FastCGI worker must not touch.
class MemoryCgiInput final : public cgicc::CgiInput {
 public:
  MemoryCgiInput(std::string content_type, std::string_view body)
      : content_type_(std::move(content_type)),
        body_(body),
        content_length_(std::to_string(body.size())) {}

  size_t read(char* data, size_t length) override {
    const std::size_t count = std::min(length, body_.size() - position_);
    if (count > 0) {
      std::memcpy(data, body_.data() + position_, count);
    }
    position_ += count;
    return count;
  }

  std::string getenv(const char* name) override {
    const std::string_view variable(name);
    if (variable == "REQUEST_METHOD") {
      return "POST";
    }
    if (variable == "CONTENT_TYPE") {
      return content_type_;
    }
    if (variable == "CONTENT_LENGTH") {
      return content_length_;
    }
    return {};  // QUERY_STRING, HTTP_COOKIE and the rest: nothing
  }

 private:
  std::string content_type_;
  std::string_view body_;
  std::size_t position_ = 0;
  std::string content_length_;
};

bool acceptable_field(std::string_view name, std::string_view value, const FormLimits& limits) {
  return name.size() <= limits.max_name_bytes && value.size() <= limits.max_value_bytes &&
         name.find('\0') == std::string_view::npos && value.find('\0') == std::string_view::npos &&
         util::is_valid_utf8(name) && util::is_valid_utf8(value);
}

std::optional<FormFields> parse_urlencoded(std::string_view text, const FormLimits& limits) {
  FormFields fields;
  std::size_t count = 0;
  for (const std::string_view pair : util::split(text, '&')) {
    if (pair.empty()) {
      continue;  // "a=1&&b=2" and a trailing '&' are harmless
    }
    if (++count > limits.max_fields) {
      return std::nullopt;
    }
    const std::size_t equals = pair.find('=');
    const std::string_view raw_name = pair.substr(0, equals);
    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1);
    // Encoded sizes bound decoded sizes, so an oversized raw field fails before decoding.
    if (raw_name.size() > limits.max_name_bytes * 3 ||
        raw_value.size() > limits.max_value_bytes * 3) {
      return std::nullopt;
    }
    auto name = util::percent_decode(raw_name, util::PlusAsSpace::Yes);
    auto value = util::percent_decode(raw_value, util::PlusAsSpace::Yes);
    if (!name || !value || !acceptable_field(*name, *value, limits)) {
      return std::nullopt;
    }
    fields.emplace(std::move(*name), std::move(*value));
  }
  return fields;
}

struct MediaType {
  std::string type;  // lower-case, no parameters
  std::optional<std::string> boundary;
  bool malformed_boundary = false;
};

// RFC 2046 bchars; the boundary must not end with a space.
bool is_valid_boundary(std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ') {
    return false;
  }
  constexpr std::string_view kExtra = "'()+_,-./:=? ";
  return std::all_of(boundary.begin(), boundary.end(), [kExtra](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

MediaType parse_media_type(std::string_view content_type) {
  MediaType media;
  const auto parts = util::split(content_type, ';');
  media.type = util::ascii_lower(util::trim(parts.front()));
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view parameter = util::trim(parts[i]);
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos ||
        !util::iequals_ascii(util::trim(parameter.substr(0, equals)), "boundary")) {
      continue;
    }
    std::string_view value = util::trim(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!is_valid_boundary(value)) {
      media.malformed_boundary = true;
    } else if (!media.boundary) {
      media.boundary = std::string(value);
    }
  }
  return media;
}

std::optional<FormFields> parse_multipart(std::string_view body, const std::string& boundary,
                                          const FormLimits& limits) {
  if (body.empty()) {
    return FormFields{};  // nothing sent is no field, as for an empty urlencoded body
  }
  const std::string opening = "--" + boundary + "\r\n";
  const std::string closing = "--" + boundary + "--";
  // A well-formed body starts with the first delimiter (RFC 2046 allows a preamble; browsers
  // send none) and contains the closing one; cgicc would guess at anything else.
  if (body.substr(0, opening.size()) != opening || body.find(closing) == std::string_view::npos) {
    return std::nullopt;
  }
  try {
    // cgicc does not unquote the boundary parameter, so it gets the bare one.
    MemoryCgiInput input(std::string(kMultipart) + "; boundary=" + boundary, body);
    const cgicc::Cgicc cgi(&input);
    const auto& elements = cgi.getElements();
    const auto& files = cgi.getFiles();
    if (elements.size() + files.size() > limits.max_fields) {
      return std::nullopt;
    }
    if (elements.empty() && files.empty()) {
      return std::nullopt;  // delimiters but no part cgicc could read: broken
    }
    FormFields fields;
    for (const cgicc::FormEntry& entry : elements) {
      const std::string& name = entry.getName();
      const std::string& value = entry.getValue();
      if (name.empty() || !acceptable_field(name, value, limits)) {
        return std::nullopt;
      }
      fields.emplace(name, value);
    }
    // Uploaded files are not form fields of ours; they only count towards the limit.
    return fields;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<FormFields> parse_form_body(std::string_view content_type, std::string_view body,
                                          const FormLimits& limits) {
  try {
    const MediaType media = parse_media_type(content_type);
    if (media.type == kUrlencoded) {
      return parse_urlencoded(body, limits);
    }
    if (media.type == kMultipart) {
      if (!media.boundary || media.malformed_boundary) {
        return std::nullopt;
      }
      return parse_multipart(body, *media.boundary, limits);
    }
    return FormFields{};
  } catch (const std::exception&) {
    return std::nullopt;  // only bad_alloc is possible here; a bad request either way
  }
}

std::optional<FormFields> parse_query_string(std::string_view query, const FormLimits& limits) {
  try {
    return parse_urlencoded(query, limits);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace authfcgi::web
