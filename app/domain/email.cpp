#include "domain/email.h"

#include <algorithm>
#include <cstddef>

#include "util/strings.h"
#include "util/utf8.h"

namespace authfcgi::domain {
namespace {

constexpr std::size_t kMaxEmailCharacters = 64;

bool is_control_or_space(unsigned char c) { return c <= 0x20 || c == 0x7F; }

bool valid_local_part(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return false;
  }
  constexpr std::string_view kSpecials = "()<>[]\\,;:\"@";
  return std::none_of(local.begin(), local.end(), [&](char c) {
    return is_control_or_space(static_cast<unsigned char>(c)) ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool valid_domain_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool valid_domain(std::string_view domain) {
  const auto labels = util::split(domain, '.');
  if (labels.size() < 2) {
    return false;
  }
  if (!std::all_of(labels.begin(), labels.end(), valid_domain_label)) {
    return false;
  }
  // A top-level domain is never all digits ("user@1.2.3.4" is no address for a login).
  const auto tld = labels.back();
  return !std::all_of(tld.begin(), tld.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string normalize_email(std::string_view raw) { return util::ascii_lower(util::trim(raw)); }

std::optional<EmailError> validate_email(std::string_view normalized) {
  if (normalized.empty()) {
    return EmailError::Missing;
  }
  if (util::count_code_points(normalized) > kMaxEmailCharacters) {
    return EmailError::TooLong;
  }
  const auto at = normalized.rfind('@');
  if (at == std::string_view::npos || !valid_local_part(normalized.substr(0, at)) ||
      !valid_domain(normalized.substr(at + 1))) {
    return EmailError::Invalid;
  }
  return std::nullopt;
}

std::optional<EmailError> validate_new_email(std::string_view normalized) {
  if (auto error = validate_email(normalized)) {
    return error;
  }
  const bool printable_ascii = std::all_of(normalized.begin(), normalized.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7F;
  });
  if (!printable_ascii) {
    return EmailError::Invalid;
  }
  return std::nullopt;
}

std::string_view email_error_message(EmailError error) {
  switch (error) {
    case EmailError::Missing:
      return "This field is required.";
    case EmailError::TooLong:
      return "Field must be between 1 and 64 characters long.";
    case EmailError::Invalid:
      return "Invalid email address.";
  }
  return "Invalid email address.";
}

}  // namespace authfcgi::domain
