#include <algorithm>
#include <string>
#include <utility>

#include "domain/email.h"
#include "domain/login_form.h"
#include "domain/next_url.h"
#include "domain/throttle_policy.h"
#include "util/percent_encoding.h"
#include "web/handlers/handlers.h"

namespace authfcgi::web::handlers {
namespace {

// The `next` query value when it is safe to redirect to, else empty.
std::string safe_next(const Request& request) {
  const auto found = request.query.find("next");
  if (found == request.query.end() || !domain::is_safe_next(found->second)) {
    return {};
  }
  return found->second;
}

Response render_form(PageContext& context, AuthHandlerServices& services, const std::string& next,
                     const domain::LoginForm& form, const domain::FieldErrors& errors,
                     std::string notice = {}) {
  services.core.ensure_session(context.visit);
  view::LoginPage page;
  page.form_action =
      next.empty() ? "/auth/login" : "/auth/login?next=" + util::percent_encode(next);
  page.csrf_token = services.csrf.issue(context.visit.session.csrf_secret, context.visit.now);
  page.email = form.email;  // the password is never echoed
  page.remember_me = form.remember_me;
  page.email_errors = errors.email;
  page.password_errors = errors.password;
  page.notice = std::move(notice);
  page.layout = context.take_layout("Login");
  return Response::html(200, services.renderer.render(page));
}

// 429 with Retry-After: the form again, with a message saying how long to wait.
Response render_throttled(PageContext& context, AuthHandlerServices& services,
                          const std::string& next, const domain::LoginForm& form,
                          std::int64_t retry_after_seconds) {
  const std::int64_t wait = std::max<std::int64_t>(1, retry_after_seconds);
  return too_many_attempts(render_form(context, services, next, form, {}, throttle_notice(wait)),
                           wait);
}

}  // namespace

Response login(PageContext& context, AuthHandlerServices& services) {
  const std::string next = safe_next(context.request);
  if (context.request.method != "POST") {
    return render_form(context, services, next, {}, {});
  }

  // CSRF first: on failure nothing else is evaluated.
  if (auto refused = refuse_without_csrf_token(context, services)) {
    return std::move(*refused);
  }

  const auto form = domain::LoginForm::from_fields(context.request.form);
  const auto errors = domain::validate(form);
  if (!errors.empty()) {
    return render_form(context, services, next, form, errors);
  }

  const auto attempt = services.core.log_in(
      context.visit, domain::normalize_email(form.email), form.password,
      form.remember_me ? domain::RememberChoice::Yes : domain::RememberChoice::No);
  if (attempt.result == domain::LoginResult::Throttled) {
    return render_throttled(context, services, next, form, attempt.retry_after_seconds);
  }
  if (attempt.result != domain::LoginResult::Success) {
    context.flash("Invalid email or password.");
    return render_form(context, services, next, form, {});
  }
  return Response::redirect(next.empty() ? "/" : next);
}

std::optional<Response> refuse_without_csrf_token(PageContext& context,
                                                  AuthHandlerServices& services) {
  const auto token = context.request.form.find("csrf_token");
  const CsrfCheck check = services.csrf.check(
      context.visit.session.csrf_secret,
      token == context.request.form.end() ? std::string_view() : std::string_view(token->second),
      context.visit.now);
  if (check == CsrfCheck::Ok) {
    return std::nullopt;
  }
  view::ErrorPage page;
  page.status = 400;
  page.heading = "Bad Request";
  page.message = std::string(csrf_failure_message(check));
  page.layout = context.take_layout("Bad Request");
  return Response::html(400, services.renderer.render(page));
}

}  // namespace authfcgi::web::handlers
