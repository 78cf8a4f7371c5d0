#include "domain/login_form.h"

#include <cstddef>
#include <string_view>

#include "domain/email.h"

namespace authfcgi::domain {
namespace {

constexpr std::size_t kMaxPasswordCharacters = 1024;

// WTForms counts characters; the form's values are valid UTF-8 by now.
std::size_t count_characters(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) {
    count += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1U : 0U;
  }
  return count;
}

std::string field(const std::map<std::string, std::string>& fields, const std::string& name) {
  const auto found = fields.find(name);
  return found == fields.end() ? std::string() : found->second;
}

}  // namespace

LoginForm LoginForm::from_fields(const std::map<std::string, std::string>& fields) {
  LoginForm form;
  form.email = field(fields, "email");
  form.password = field(fields, "password");
  // WTForms' BooleanField: any value but "" and "false" means checked.
  const std::string remember = field(fields, "remember_me");
  form.remember_me = !remember.empty() && remember != "false";
  return form;
}

FieldErrors validate(const LoginForm& form) {
  FieldErrors errors;
  if (const auto email_error = validate_email(normalize_email(form.email))) {
    errors.email.emplace_back(email_error_message(*email_error));
  }
  if (form.password.empty()) {
    errors.password.emplace_back("This field is required.");
  } else if (count_characters(form.password) > kMaxPasswordCharacters) {
    errors.password.emplace_back("Field cannot be longer than 1024 characters.");
  }
  return errors;
}

}  // namespace authfcgi::domain
