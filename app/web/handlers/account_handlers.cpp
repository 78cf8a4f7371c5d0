#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "domain/email.h"
#include "domain/throttle_policy.h"
#include "util/percent_encoding.h"
#include "web/cookie.h"
#include "web/cookie_names.h"
#include "web/handlers/handlers.h"

namespace authfcgi::web::handlers {
namespace {

std::string field_value(const Request& request, const std::string& name) {
  const auto found = request.form.find(name);
  return found == request.form.end() ? std::string() : found->second;
}

view::FormField field(std::string name, std::string label, std::string type,
                      std::string autocomplete, std::string value,
                      const domain::FormErrors& errors) {
  view::FormField result{std::move(name),  std::move(label),        std::move(type),
                         std::move(value), std::move(autocomplete), {}};
  if (const auto found = errors.find(result.name); found != errors.end()) {
    result.errors = found->second;
  }
  return result;
}

Response render_registration(PageContext& context, AuthHandlerServices& services,
                             const domain::RegistrationForm& form, const domain::FormErrors& errors,
                             std::string notice = {}) {
  services.core.ensure_session(context.visit);
  view::AccountFormPage page;
  page.heading = "Register";
  page.intro = std::move(notice);
  page.form_action = "/auth/register";
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.fields = {field("email", "Email", "email", "email", form.email, errors),
                 field("username", "Username", "text", "username", form.username, errors),
                 field("password", "Password", "password", "new-password", {}, errors),
                 field("password2", "Confirm password", "password", "new-password", {}, errors)};
  page.submit_label = "Register";
  page.layout = context.take_layout("Register");
  return Response::html(200, services.renderer.render(page));
}

}  // namespace

std::optional<Response> require_login(PageContext& context) {
  if (context.visit.user) {
    return std::nullopt;
  }
  context.flash("Please log in to access this page.");
  return Response::redirect("/auth/login?next=" + util::percent_encode(context.request.path));
}

std::string throttle_notice(std::int64_t retry_after_seconds) {
  std::string notice = "Too many failed login attempts. Please try again in ";
  notice += domain::wait_text(std::max<std::int64_t>(1, retry_after_seconds));
  notice += ".";
  return notice;
}

Response too_many_attempts(Response page, std::int64_t retry_after_seconds) {
  page.status = 429;
  page.add_header("Retry-After", std::to_string(retry_after_seconds));
  return page;
}

Response register_account(PageContext& context, AccountHandlerServices& services) {
  AuthHandlerServices& auth = services.auth;
  if (context.request.method != "POST") {
    return render_registration(context, auth, {}, {});
  }
  if (auto refused = refuse_without_csrf_token(context, auth)) {
    return std::move(*refused);
  }
  const domain::RegistrationForm form{
      field_value(context.request, "email"), field_value(context.request, "username"),
      field_value(context.request, "password"), field_value(context.request, "password2")};
  const auto outcome = services.self_service.register_account(form, context.request.remote_addr);
  if (outcome.retry_after_seconds > 0) {
    return too_many_attempts(
        render_registration(context, auth, form, {}, throttle_notice(outcome.retry_after_seconds)),
        outcome.retry_after_seconds);
  }
  if (!outcome.errors.empty()) {
    return render_registration(context, auth, form, outcome.errors);
  }
  // The same answer whether or not the address had an account (its owner got a mail).
  context.flash("A confirmation email has been sent to you by email.");
  return Response::redirect("/auth/login");
}

Response unconfirmed(PageContext& context, AuthHandlerServices& services) {
  if (!context.visit.user || context.visit.user->email_confirmed) {
    return Response::redirect("/");
  }
  services.core.ensure_session(context.visit);
  view::UnconfirmedPage page;
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.layout = context.take_layout("Confirm your account");
  return Response::html(200, services.renderer.render(page));
}

Response resend_confirmation(PageContext& context, AccountHandlerServices& services) {
  if (auto login = require_login(context)) {
    return std::move(*login);
  }
  if (context.request.method != "POST") {
    return Response::redirect("/auth/unconfirmed");
  }
  if (auto refused = refuse_without_csrf_token(context, services.auth)) {
    return std::move(*refused);
  }
  switch (
      services.self_service.resend_confirmation(*context.visit.user, context.request.remote_addr)) {
    case domain::ResendOutcome::Sent:
      context.flash("A new confirmation email has been sent to you by email.");
      break;
    case domain::ResendOutcome::TooSoon:
      context.flash(
          "A confirmation email was sent a moment ago: please check your inbox, or ask again in "
          "a minute.");
      return Response::redirect("/auth/unconfirmed");
    case domain::ResendOutcome::AlreadyConfirmed:
      break;
  }
  return Response::redirect("/");
}

Response confirm(PageContext& context, AccountHandlerServices& services, std::string_view token) {
  if (auto login = require_login(context)) {
    return std::move(*login);
  }
  switch (services.self_service.confirm(*context.visit.user, token)) {
    case domain::ConfirmOutcome::Confirmed:
      context.visit.user->email_confirmed = true;
      context.flash("You have confirmed your account. Thanks!");
      break;
    case domain::ConfirmOutcome::AlreadyConfirmed:
      break;
    case domain::ConfirmOutcome::Invalid:
      context.flash("The confirmation link is invalid or has expired.");
      break;
  }
  return Response::redirect("/");
}

}  // namespace authfcgi::web::handlers

namespace authfcgi::web::handlers {
namespace {

constexpr std::int64_t kResetCookieSeconds = 3600;

void set_reset_cookie(Response& response, const PageContext& context,
                      const AccountHandlerServices& services, std::string value) {
  SetCookie cookie;
  cookie.name = kResetCookie;
  cookie.value = std::move(value);
  cookie.path = kResetCookiePath;
  cookie.max_age = cookie.value.empty() ? 0 : kResetCookieSeconds;
  cookie.secure = context.request.is_https || services.force_secure_cookies;
  response.add_header("Set-Cookie", serialize_set_cookie(cookie));
}

Response render_reset_request(PageContext& context, AuthHandlerServices& services,
                              const std::string& email, const domain::FormErrors& errors) {
  services.core.ensure_session(context.visit);
  view::AccountFormPage page;
  page.heading = "Reset Password";
  page.form_action = "/auth/reset";
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.fields = {field("email", "Email", "email", "email", email, errors)};
  page.submit_label = "Reset Password";
  page.layout = context.take_layout("Password Reset");
  return Response::html(200, services.renderer.render(page));
}

Response render_reset_form(PageContext& context, AuthHandlerServices& services,
                           const domain::FormErrors& errors) {
  services.core.ensure_session(context.visit);
  view::AccountFormPage page;
  page.heading = "Reset Your Password";
  page.form_action = std::string(kResetCookiePath);
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.fields = {field("password", "New Password", "password", "new-password", {}, errors),
                 field("password2", "Confirm password", "password", "new-password", {}, errors)};
  page.submit_label = "Reset Password";
  page.layout = context.take_layout("Password Reset");
  Response response = Response::html(200, services.renderer.render(page));
  response.add_header("Referrer-Policy", "no-referrer");
  return response;
}

// A dead link: said on the request form, where a new mail can be asked for.
Response reset_link_dead(PageContext& context, const AccountHandlerServices& services) {
  context.flash("The reset link is invalid or has expired.");
  Response response = Response::redirect("/auth/reset");
  set_reset_cookie(response, context, services, {});
  return response;
}

}  // namespace

Response reset_request(PageContext& context, AccountHandlerServices& services) {
  if (context.visit.user) {
    return Response::redirect("/");
  }
  if (context.request.method != "POST") {
    return render_reset_request(context, services.auth, {}, {});
  }
  if (auto refused = refuse_without_csrf_token(context, services.auth)) {
    return std::move(*refused);
  }
  const std::string email = field_value(context.request, "email");
  // The address's form only: whether it has an account is never said.
  if (auto error = domain::validate_email(domain::normalize_email(email))) {
    domain::FormErrors errors;
    errors["email"].emplace_back(domain::email_error_message(*error));
    return render_reset_request(context, services.auth, email, errors);
  }
  services.self_service.request_reset(email, context.request.remote_addr);
  context.flash("An email with instructions to reset your password has been sent to you.");
  return Response::redirect("/auth/login");
}

Response reset_link(PageContext& context, AccountHandlerServices& services,
                    std::string_view token) {
  if (context.visit.user) {
    return Response::redirect("/");
  }
  // The token leaves the URL before any page renders: the form's address holds none.
  Response response = Response::redirect(std::string(kResetCookiePath));
  set_reset_cookie(response, context, services, std::string(token));
  response.add_header("Referrer-Policy", "no-referrer");
  return response;
}

Response reset_form(PageContext& context, AccountHandlerServices& services) {
  if (context.visit.user) {
    return Response::redirect("/");
  }
  const auto cookie = context.request.cookies.find(std::string(kResetCookie));
  if (cookie == context.request.cookies.end() || cookie->second.empty()) {
    return reset_link_dead(context, services);
  }
  const std::string& token = cookie->second;
  if (context.request.method != "POST") {
    if (!services.self_service.reset_token_valid(token)) {
      return reset_link_dead(context, services);
    }
    return render_reset_form(context, services.auth, {});
  }
  if (auto refused = refuse_without_csrf_token(context, services.auth)) {
    return std::move(*refused);
  }
  const auto outcome = services.self_service.reset_password(
      token, {field_value(context.request, "password"), field_value(context.request, "password2")});
  if (!outcome.token_valid) {
    return reset_link_dead(context, services);
  }
  if (!outcome.done) {
    return render_reset_form(context, services.auth, outcome.errors);
  }
  context.flash("Your password has been updated.");
  Response response = Response::redirect("/auth/login");
  set_reset_cookie(response, context, services, {});
  return response;
}

}  // namespace authfcgi::web::handlers

namespace authfcgi::web::handlers {
namespace {

Response render_change_password(PageContext& context, AuthHandlerServices& services,
                                const domain::FormErrors& errors) {
  services.core.ensure_session(context.visit);
  view::AccountFormPage page;
  page.heading = "Change Your Password";
  page.form_action = "/auth/change-password";
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.fields = {
      field("old_password", "Old password", "password", "current-password", {}, errors),
      field("password", "New password", "password", "new-password", {}, errors),
      field("password2", "Confirm new password", "password", "new-password", {}, errors)};
  page.submit_label = "Update Password";
  page.layout = context.take_layout("Change Password");
  return Response::html(200, services.renderer.render(page));
}

Response render_change_email(PageContext& context, AuthHandlerServices& services,
                             const std::string& email, const domain::FormErrors& errors) {
  services.core.ensure_session(context.visit);
  view::AccountFormPage page;
  page.heading = "Change Your Email Address";
  page.form_action = "/auth/change_email";
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.fields = {field("email", "New Email", "email", "email", email, errors),
                 field("password", "Password", "password", "current-password", {}, errors)};
  page.submit_label = "Update Email Address";
  page.layout = context.take_layout("Change Email Address");
  return Response::html(200, services.renderer.render(page));
}

}  // namespace

Response change_password(PageContext& context, AccountHandlerServices& services) {
  if (auto login = require_login(context)) {
    return std::move(*login);
  }
  if (context.request.method != "POST") {
    return render_change_password(context, services.auth, {});
  }
  if (auto refused = refuse_without_csrf_token(context, services.auth)) {
    return std::move(*refused);
  }
  const auto outcome = services.self_service.change_password(
      *context.visit.user,
      {field_value(context.request, "old_password"), field_value(context.request, "password"),
       field_value(context.request, "password2")},
      context.request.remote_addr);
  if (outcome.retry_after_seconds > 0) {
    context.flash(throttle_notice(outcome.retry_after_seconds));
    return too_many_attempts(render_change_password(context, services.auth, {}),
                             outcome.retry_after_seconds);
  }
  if (outcome.wrong_password) {
    context.flash("Invalid password.");
    return render_change_password(context, services.auth, {});
  }
  if (!outcome.done) {
    return render_change_password(context, services.auth, outcome.errors);
  }
  services.auth.core.keep_this_browser_logged_in(context.visit);
  context.flash("Your password has been updated.");
  return Response::redirect("/");
}

Response change_email_request(PageContext& context, AccountHandlerServices& services) {
  if (auto login = require_login(context)) {
    return std::move(*login);
  }
  if (context.request.method != "POST") {
    return render_change_email(context, services.auth, {}, {});
  }
  if (auto refused = refuse_without_csrf_token(context, services.auth)) {
    return std::move(*refused);
  }
  const std::string email = field_value(context.request, "email");
  const auto outcome = services.self_service.request_email_change(
      *context.visit.user, {email, field_value(context.request, "password")},
      context.request.remote_addr);
  if (outcome.retry_after_seconds > 0) {
    context.flash(throttle_notice(outcome.retry_after_seconds));
    return too_many_attempts(render_change_email(context, services.auth, email, {}),
                             outcome.retry_after_seconds);
  }
  if (outcome.wrong_password) {
    context.flash("Invalid email or password.");
    return render_change_email(context, services.auth, email, {});
  }
  if (!outcome.done) {
    return render_change_email(context, services.auth, email, outcome.errors);
  }
  context.flash(
      "An email with instructions to confirm your new email address has been sent to you.");
  return Response::redirect("/");
}

Response change_email(PageContext& context, AccountHandlerServices& services,
                      std::string_view token) {
  if (auto login = require_login(context)) {
    return std::move(*login);
  }
  switch (
      services.self_service.change_email(*context.visit.user, token, context.request.remote_addr)) {
    case domain::EmailChangeOutcome::Changed:
      context.flash("Your email address has been updated.");
      break;
    case domain::EmailChangeOutcome::Invalid:
      context.flash("Invalid request.");
      break;
  }
  return Response::redirect("/");
}

}  // namespace authfcgi::web::handlers
