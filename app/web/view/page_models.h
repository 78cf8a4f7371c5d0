#pragma once

#include <string>
#include <vector>

namespace authfcgi::web::view {

// What every page shows: the navbar (current_user) and the flashed messages.
struct Layout {
  std::string title;
  bool logged_in = false;
  std::string username;
  std::vector<std::string> flashes;
};

struct IndexPage {
  Layout layout;
};

struct LoginPage {
  Layout layout;
  std::string form_action;  // "/auth/login" plus the query (next=...), built by us
  std::string csrf_token;
  std::string email;  // as typed; the password is never echoed
  bool remember_me = false;
  std::vector<std::string> email_errors;
  std::vector<std::string> password_errors;
  std::string notice;  // e.g. the throttling message
};

// Asks to confirm a logout that another site linked to.
struct LogoutPage {
  Layout layout;
  std::string csrf_token;
};

struct SecretPage {
  Layout layout;
};

// One field of an account form; the password fields never carry a value.
struct FormField {
  std::string name;  // the form's name and the input's id
  std::string label;
  std::string type;          // "email", "text", "password"
  std::string value;         // as typed
  std::string autocomplete;  // "email", "username", "current-password", "new-password"
  std::vector<std::string> errors;
};

// The account forms (register, change password, reset, change email): a heading, an optional
// text, the fields and a button. Focus goes to the first field with an error, else the first.
struct AccountFormPage {
  Layout layout;
  std::string heading;
  std::string intro;
  std::string form_action;
  std::string csrf_token;
  std::vector<FormField> fields;
  std::string submit_label;
};

// Flasky's unconfirmed.html: why the site waits, and a button for another mail.
struct UnconfirmedPage {
  Layout layout;
  std::string csrf_token;
};

struct ErrorPage {
  Layout layout;
  int status = 500;
  std::string heading;  // "Not Found"
  std::string message;
};

}  // namespace authfcgi::web::view
