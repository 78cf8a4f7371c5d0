#include "web/view/mail_renderer.h"

#include "web/view/template_file.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <kainjow/mustache.hpp>

namespace authfcgi::web::view {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

struct MailKindInfo {
  domain::MailKind kind;
  std::string_view file;
  std::string_view subject;  // Flasky's, after the prefix
};

constexpr std::array<MailKindInfo, 6> kKinds{{
    {domain::MailKind::ConfirmAccount, "confirm", "Confirm Your Account"},
    {domain::MailKind::ResetPassword, "reset_password", "Reset Your Password"},
    {domain::MailKind::ConfirmNewEmail, "change_email", "Confirm your email address"},
    {domain::MailKind::PasswordChanged, "password_changed", "Your password has been changed"},
    {domain::MailKind::EmailChanged, "email_changed", "Your email address has been changed"},
    {domain::MailKind::RegistrationAttempt, "registration_attempt",
     "Someone tried to register with your email address"},
}};

std::string render(mustache& view, const data& values) {
  std::string out;
  view.render(values, [&out](const std::string& piece) { out += piece; });
  return out;
}

}  // namespace

struct MailRenderer::Templates {
  struct Pair {
    mustache text;
    mustache html;
  };
  std::map<domain::MailKind, Pair> by_kind;
  std::mutex lock;  // kainjow's render is not const
};

MailRenderer::MailRenderer(const std::string& templates_dir, std::string public_url,
                           std::string subject_prefix)
    : templates_(std::make_unique<Templates>()),
      public_url_(std::move(public_url)),
      subject_prefix_(std::move(subject_prefix)) {
  for (const auto& info : kKinds) {
    const std::string base = templates_dir + "/mail/" + std::string(info.file);
    templates_->by_kind.emplace(info.kind,
                                Templates::Pair{parse_template_file(base + ".txt.mustache"),
                                                parse_template_file(base + ".html.mustache")});
  }
}

MailRenderer::~MailRenderer() = default;

domain::MailMessage MailRenderer::compose(std::string_view to,
                                          const domain::MailContent& content) const {
  const auto info = std::find_if(kKinds.begin(), kKinds.end(), [&](const MailKindInfo& kind) {
    return kind.kind == content.kind;
  });
  if (info == kKinds.end()) {
    throw std::logic_error("no template for this kind of mail");
  }
  data values;
  values.set("username", content.username);
  values.set("new_email", content.new_email);
  values.set("site", public_url_);
  if (!content.link_path.empty()) {
    values.set("link", public_url_ + content.link_path);
  }
  domain::MailMessage message;
  message.to = std::string(to);
  message.subject = subject_prefix_.empty() ? std::string(info->subject)
                                            : subject_prefix_ + " " + std::string(info->subject);
  const std::lock_guard guard(templates_->lock);
  auto& pair = templates_->by_kind.at(content.kind);
  message.text = render(pair.text, values);
  message.html = render(pair.html, values);
  return message;
}

}  // namespace authfcgi::web::view
