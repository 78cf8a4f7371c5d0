#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "web/view/page_models.h"

namespace authfcgi::web::view {

// Renders templates/*.mustache (layout + one template per page). The templates are read and
// parsed once, in the constructor, which throws std::runtime_error naming the file when one is
// missing or invalid. Thread-safe: one instance serves every thread of a worker process.
//
// The common pages (no flashed message, an empty login form) are also rendered once there, with
// markers where the title, username, form action and CSRF token go; a request for such a page
// then only appends its escaped values between the fixed texts, and gets the same bytes a full
// render would give. Prerender::Off renders every page fully (tests compare the two).
class Renderer {
 public:
  enum class Prerender { On, Off };

  // registration_open: the login page offers "New user? Click here to register."
  explicit Renderer(const std::string& templates_dir, Prerender prerender = Prerender::On,
                    bool registration_open = false);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  [[nodiscard]] std::string render(const IndexPage& page) const;
  [[nodiscard]] std::string render(const LoginPage& page) const;
  [[nodiscard]] std::string render(const SecretPage& page) const;
  [[nodiscard]] std::string render(const LogoutPage& page) const;
  [[nodiscard]] std::string render(const ErrorPage& page) const;
  [[nodiscard]] std::string render(const AccountFormPage& page) const;
  [[nodiscard]] std::string render(const UnconfirmedPage& page) const;

  // How many of the six common pages (index, login, secret; anonymous and logged in) are
  // prerendered: all of them with the shipped templates, fewer with templates that print a
  // slot's value unescaped.
  [[nodiscard]] std::size_t prerendered_pages() const;

 private:
  struct Templates;
  std::unique_ptr<Templates> templates_;
};

}  // namespace authfcgi::web::view
