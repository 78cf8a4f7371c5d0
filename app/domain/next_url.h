#pragma once

#include <string_view>

namespace authfcgi::domain {

// True when `next` (already percent-decoded once, as a query value is) is a path on this
// site that is safe to redirect to: it starts with exactly one '/', and neither it nor its
// percent-decoded form has a backslash, a second leading '/', a control character,
// white space or a non-ASCII byte. The lesson's startswith('/') lets "//evil.example" through.
[[nodiscard]] bool is_safe_next(std::string_view next);

}  // namespace authfcgi::domain
