#pragma once

#include <memory>
#include <string>

#include "domain/mail.h"

namespace authfcgi::web::view {

// domain::MailComposer from templates/mail/<kind>.txt.mustache and .html.mustache (read and
// parsed once; a missing or invalid one is a start-up error). Links start with public_url,
// never with a request's Host. Thread-safe.
class MailRenderer final : public domain::MailComposer {
 public:
  MailRenderer(const std::string& templates_dir, std::string public_url,
               std::string subject_prefix);
  ~MailRenderer() override;
  MailRenderer(const MailRenderer&) = delete;
  MailRenderer& operator=(const MailRenderer&) = delete;

  [[nodiscard]] domain::MailMessage compose(std::string_view to,
                                            const domain::MailContent& content) const override;

 private:
  struct Templates;
  std::unique_ptr<Templates> templates_;
  std::string public_url_;
  std::string subject_prefix_;
};

}  // namespace authfcgi::web::view
