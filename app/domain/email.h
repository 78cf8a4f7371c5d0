#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace authfcgi::domain {

enum class EmailError { Missing, TooLong, Invalid };

// Trims surrounding white space and lower-cases ASCII: emails are stored and compared so.
[[nodiscard]] std::string normalize_email(std::string_view raw);
// Checks a normalized email: required, 1..64 characters, a plausible address.
[[nodiscard]] std::optional<EmailError> validate_email(std::string_view normalized);
// For an address being stored (registration, a change of address, authctl user add): as
// validate_email, and ASCII only (printable, no space): a non-ASCII local part or domain, an
// invisible or control character is Invalid (an IDN domain is typed in its xn-- form). Logins
// and lookups take validate_email: accounts that have a non-ASCII address keep logging in.
[[nodiscard]] std::optional<EmailError> validate_new_email(std::string_view normalized);
// The WTForms texts: "This field is required.", "Field must be between 1 and 64 characters
// long.", "Invalid email address."
[[nodiscard]] std::string_view email_error_message(EmailError error);

}  // namespace authfcgi::domain
