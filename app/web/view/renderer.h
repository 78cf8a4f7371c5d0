#pragma once

#include <memory>
#include <string>

#include "web/view/page_models.h"

namespace authfcgi::web::view {

// Renders templates/*.mustache (layout + one template per page). The templates are read and
// parsed once, in the constructor, which throws std::runtime_error naming the file when one is
// missing or invalid. One instance per thread.
class Renderer {
 public:
  explicit Renderer(const std::string& templates_dir);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  [[nodiscard]] std::string render(const IndexPage& page);
  [[nodiscard]] std::string render(const LoginPage& page);
  [[nodiscard]] std::string render(const SecretPage& page);
  [[nodiscard]] std::string render(const ErrorPage& page);

 private:
  struct Templates;
  std::unique_ptr<Templates> templates_;
};

}  // namespace authfcgi::web::view
