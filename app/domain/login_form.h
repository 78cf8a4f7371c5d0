#pragma once

#include <map>
#include <string>
#include <vector>

namespace authfcgi::domain {

// The lesson's LoginForm (Flask-WTF): email, password, remember_me.
struct LoginForm {
  std::string email;  // as typed
  std::string password;
  bool remember_me = false;

  [[nodiscard]] static LoginForm from_fields(const std::map<std::string, std::string>& fields);
};

struct FieldErrors {
  std::vector<std::string> email;
  std::vector<std::string> password;

  [[nodiscard]] bool empty() const { return email.empty() && password.empty(); }
};

// The WTForms validators: DataRequired, Length(1, 64) and Email for the email; DataRequired
// for the password, which is also capped so argon2 never sees an unbounded input.
[[nodiscard]] FieldErrors validate(const LoginForm& form);

}  // namespace authfcgi::domain
