#include "web/app.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/auth_core.h"
#include "domain/errors.h"
#include "domain/self_service.h"
#include "util/ip_address.h"
#include "util/utf8.h"
#include "web/cookie.h"
#include "web/cookie_names.h"
#include "web/csrf.h"
#include "web/device_cookie_codec.h"
#include "web/handlers/handlers.h"
#include "web/page_context.h"
#include "web/router.h"
#include "web/session_codec.h"
#include "web/status_page.h"

namespace authfcgi::web {
namespace {

std::string_view reason_heading(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

std::string_view error_message(int status) {
  switch (status) {
    case 400:
      return "The browser (or proxy) sent a request that this server could not understand.";
    case 403:
      return "You don't have the permission to access the requested resource. It is either "
             "read-protected or not readable by the server.";
    case 404:
      return "The requested URL was not found on the server.";
    case 405:
      return "The method is not allowed for the requested URL.";
    case 413:
      return "The data value transmitted exceeds the capacity limit.";
    case 503:
      return "The service is temporarily unavailable. Please try again in a moment.";
    default:
      return "The server encountered an internal error and was unable to complete your request.";
  }
}

// One write per line, so lines of several threads never interleave. The texts come from our
// storage layer and the standard library, never from a password or a cookie.
void log_line(const std::string& text) {
  const std::string line = "authfcgi: " + text + "\n";
  std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
  std::cerr.flush();
}

// Hardening headers for every response; every page shows the session's state (navbar,
// flashes), so none may be cached.
void add_common_headers(Response& response) {
  response.add_header("X-Frame-Options", "DENY");
  response.add_header("Content-Security-Policy", "frame-ancestors 'none'");
  response.add_header("X-Content-Type-Options", "nosniff");
  // A page may ask for less (the reset form: no-referrer).
  if (response.header("Referrer-Policy").empty()) {
    response.add_header("Referrer-Policy", "same-origin");
  }
  response.add_header("Cache-Control", "no-store");
}

// nginx's auth_request keeps only the first Set-Cookie of the verify answer, and a remember-me
// restore sets two cookies: each goes in a header of its own, which the snippet turns back into
// a Set-Cookie for the browser (conf/nginx/authfcgi-protect.conf).
void name_cookies_for_the_gateway(Response& response) {
  for (auto& [name, value] : response.headers) {
    if (name != "Set-Cookie") {
      continue;
    }
    if (value.starts_with(std::string(kSessionCookie) + "=")) {
      name = "Authfcgi-Set-Session";
    } else if (value.starts_with(std::string(kRememberCookie) + "=")) {
      name = "Authfcgi-Set-Remember";
    }
  }
}

// Apache's mod_authnz_fcgi after a 200 moves the Variable-* headers into the request's
// environment (REMOTE_USER for UserExpr, REMOTE_EMAIL, REMOTE_GROUPS) and sends every other
// header to the browser with the protected page: only the cookies of a remember-me restore
// belong there. Anonymous browsers get the redirect to the login page from the authorizer itself.
Response for_the_authorizer(Response response) {
  if (response.status == 401) {
    response.status = 302;
    return response;
  }
  if (response.status != 200) {
    // Apache sends this body as its own error page, labelled ISO-8859-1 whatever we say.
    response.body = util::html_as_ascii(response.body);
    return response;
  }
  Response allowed;
  for (auto& [name, value] : response.headers) {
    if (name == "Remote-User") {
      allowed.add_header("Variable-REMOTE_USER", std::move(value));
    } else if (name == "Remote-Email") {
      allowed.add_header("Variable-REMOTE_EMAIL", std::move(value));
    } else if (name == "Remote-Groups") {
      allowed.add_header("Variable-REMOTE_GROUPS", std::move(value));
    } else if (name == "Set-Cookie") {
      allowed.add_header(name, std::move(value));
    }
  }
  return allowed;
}

// The path for the log: a mailed link's token is left out (it is a password while it lives).
std::string loggable_path(const std::string& path) {
  for (const std::string_view prefix : {"/auth/confirm/", "/auth/reset/", "/auth/change_email/"}) {
    if (path.starts_with(prefix) && path != "/auth/reset/password") {
      return std::string(prefix) + "...";
    }
  }
  return path;
}

std::optional<std::string> cookie_value(const Request& request, std::string_view name) {
  const auto found = request.cookies.find(std::string(name));
  if (found == request.cookies.end()) {
    return std::nullopt;
  }
  return found->second;
}

}  // namespace

struct App::Impl {
  explicit Impl(const AppDependencies& deps)
      : deps_(deps),
        codec_(deps.keys, deps.session_settings.max_age_seconds),
        csrf_(deps.keys, deps.session_settings.csrf_time_limit_seconds),
        devices_(deps.keys),
        core_(domain::AuthCoreDependencies{
            deps.users, deps.sessions, deps.remember_tokens, deps.throttle, deps.hasher,
            deps.token_crypto, deps.random, deps.events, deps.clock, deps.session_settings,
            deps.throttle_settings, std::string(deps.dummy_hash)}),
        services_{core_, csrf_, deps.renderer} {
    if (deps.accounts != nullptr) {
      self_service_.emplace(domain::SelfServiceDependencies{
          deps.users, deps.accounts->tokens, deps.accounts->outbox, deps.accounts->transactions,
          deps.accounts->composer, deps.hasher, deps.accounts->strength, deps.token_crypto,
          deps.clock, core_.throttle(), core_.accounts(), domain::SelfServiceSettings{}});
      account_services_.emplace(handlers::AccountHandlerServices{
          services_, *self_service_, deps.accounts->registration_open,
          deps.session_settings.force_secure_cookies});
    }
  }

  Response handle(const Request& request);
  Response error_page(PageContext* context, int status);

  // The session from the cookie, or an empty (not yet started) one.
  domain::SessionState load_session(const Request& request, std::int64_t now) const;
  Response route(PageContext& context, const RouteMatch& match);
  Response account_route(PageContext& context, const RouteMatch& match);
  Response operations_page(const Request& request, const RouteMatch& match);
  void count(domain::PoolEvent event);
  void count_verify_answer(int status);
  void send_cookies(domain::Visit& visit, bool secure, Response& response);

  AppDependencies deps_;
  SessionCodec codec_;
  Csrf csrf_;
  DeviceCookieCodec devices_;
  domain::AuthCore core_;
  handlers::AuthHandlerServices services_;
  std::optional<domain::SelfService> self_service_;  // with AppDependencies::accounts
  std::optional<handlers::AccountHandlerServices> account_services_;
};

domain::SessionState App::Impl::load_session(const Request& request, std::int64_t now) const {
  if (const auto value = cookie_value(request, kSessionCookie)) {
    if (auto decoded = codec_.decode(*value, now)) {
      return *decoded;
    }
  }
  return {};
}

Response App::Impl::route(PageContext& context, const RouteMatch& match) {
  // nginx marks /auth/verify `internal`; behind any server only the gateway's own call reaches
  // it (a browser sent there would spend its remember token on a response whose cookies it
  // never stores).
  if (!match.route ||
      (*match.route == Route::Verify && context.request.gateway == GatewayCall::None)) {
    return error_page(&context, 404);
  }
  // Flasky's before_app_request: a logged-in user who has not confirmed the address sees only
  // the home page and the auth pages until it is confirmed.
  if (context.visit.user && !context.visit.user->email_confirmed && *match.route != Route::Index &&
      !context.request.path.starts_with("/auth/")) {
    return Response::redirect("/auth/unconfirmed");
  }
  if (!match.method_allowed) {
    Response response = error_page(&context, 405);
    response.add_header("Allow", match.allow);
    return response;
  }
  switch (*match.route) {
    case Route::Index:
      return handlers::home(context, deps_.renderer);
    case Route::Login:
      return handlers::login(context, services_);
    case Route::Logout:
      return handlers::logout(context, services_);
    case Route::Secret:
      return handlers::secret(context, deps_.renderer);
    case Route::Verify: {
      Response response = handlers::verify(context, core_);
      // nginx shows /auth/forbidden itself (error_page); Apache shows the authorizer's body.
      if (response.status == 403 && context.request.gateway == GatewayCall::Authorizer) {
        return error_page(&context, 403);
      }
      return response;
    }
    case Route::Forbidden:
      return error_page(&context, 403);
    case Route::Status:
    case Route::Ping:
      return operations_page(context.request, match);
    case Route::Unconfirmed:
      return handlers::unconfirmed(context, services_);
    case Route::Register:
    case Route::ResendConfirmation:
    case Route::Confirm:
    case Route::ChangePassword:
    case Route::ChangeEmailRequest:
    case Route::ChangeEmail:
    case Route::ResetRequest:
    case Route::ResetLink:
    case Route::ResetForm:
      return account_route(context, match);
  }
  return error_page(&context, 404);
}

// The self-service account pages: 404 where the app has no account services, and
// /auth/register where registration is closed.
Response App::Impl::account_route(PageContext& context, const RouteMatch& match) {
  if (!account_services_ ||
      (*match.route == Route::Register && !account_services_->registration_open)) {
    return error_page(&context, 404);
  }
  auto& services = *account_services_;
  switch (*match.route) {
    case Route::Register:
      return handlers::register_account(context, services);
    case Route::ResendConfirmation:
      return handlers::resend_confirmation(context, services);
    case Route::Confirm:
      return handlers::confirm(context, services, match.param);
    case Route::ChangePassword:
      return handlers::change_password(context, services);
    case Route::ChangeEmailRequest:
      return handlers::change_email_request(context, services);
    case Route::ChangeEmail:
      return handlers::change_email(context, services, match.param);
    case Route::ResetRequest:
      return handlers::reset_request(context, services);
    case Route::ResetLink:
      return handlers::reset_link(context, services, match.param);
    case Route::ResetForm:
      return handlers::reset_form(context, services);
    default:
      return error_page(&context, 404);
  }
}

void App::Impl::send_cookies(domain::Visit& visit, bool secure, Response& response) {
  // A flash for an anonymous visitor with no session yet (the /secret redirect) needs one.
  if (!visit.session.flashes.empty()) {
    core_.ensure_session(visit);
  }
  if (visit.session_cookie() == domain::CookieIntent::Set) {
    SetCookie cookie;
    cookie.name = kSessionCookie;
    cookie.value = codec_.encode(visit.session);
    cookie.secure = secure;
    response.add_header("Set-Cookie", serialize_set_cookie(cookie));
  }
  if (visit.remember.intent != domain::CookieIntent::Keep) {
    SetCookie cookie;
    cookie.name = kRememberCookie;
    const bool set = visit.remember.intent == domain::CookieIntent::Set;
    cookie.value = set ? visit.remember.value : std::string();
    cookie.max_age = set ? deps_.session_settings.remember_max_age_seconds : 0;
    cookie.secure = secure;
    response.add_header("Set-Cookie", serialize_set_cookie(cookie));
  }
  if (visit.device_update) {
    SetCookie cookie;
    cookie.name = kDeviceCookie;
    cookie.value = devices_.encode(*visit.device_update);
    cookie.max_age = deps_.throttle_settings.device_max_age_seconds;
    cookie.secure = secure;
    cookie.path = kDeviceCookiePath;
    response.add_header("Set-Cookie", serialize_set_cookie(cookie));
  }
}

Response App::Impl::error_page(PageContext* context, int status) {
  view::ErrorPage page;
  page.status = status;
  page.heading = std::string(reason_heading(status));
  page.message = std::string(error_message(status));
  if (context != nullptr) {
    page.layout = context->take_layout(page.heading);
  } else {
    page.layout.title = page.heading;
  }
  return Response::html(status, deps_.renderer.render(page));
}

void App::Impl::count(domain::PoolEvent event) {
  if (deps_.meter != nullptr) {
    deps_.meter->count(event);
  }
}

void App::Impl::count_verify_answer(int status) {
  if (status == 200) {
    count(domain::PoolEvent::VerifyAllowed);
  } else if (status == 403) {
    count(domain::PoolEvent::VerifyForbidden);
  } else if (status == 401 || status == 302) {
    count(domain::PoolEvent::VerifyLogin);
  }
}

// /auth/status and /auth/ping: no session, no cookies, answered from the pool's counters.
Response App::Impl::operations_page(const Request& request, const RouteMatch& match) {
  if (!deps_.status.enabled) {
    return error_page(nullptr, 404);
  }
  if (!util::is_loopback_ip(request.remote_addr)) {
    const auto client = util::canonical_ip(request.remote_addr);
    if (!client || std::find(deps_.status.allow.begin(), deps_.status.allow.end(), *client) ==
                       deps_.status.allow.end()) {
      log_line("refused " + loggable_path(request.path) +
               " to a client neither on loopback nor in status_allow");
      return error_page(nullptr, 403);
    }
  }
  if (!match.method_allowed) {
    Response response = error_page(nullptr, 405);
    response.add_header("Allow", match.allow);
    return response;
  }
  if (*match.route == Route::Ping) {
    return ping_page();
  }
  if (deps_.pool_status == nullptr) {
    log_line("/auth/status: this worker has no status segment (see its log at start)");
    return error_page(nullptr, 503);
  }
  std::optional<domain::MailBacklog> backlog;
  if (deps_.accounts != nullptr) {
    try {
      backlog = deps_.accounts->outbox.backlog();
    } catch (const domain::StorageUnavailable& error) {
      // Answered all the same (200), so not one of the requests the database failed.
      log_line(std::string("/auth/status without the mail outbox: ") + error.what());
    }
  }
  domain::PoolStatus figures;
  try {
    figures = deps_.pool_status->read();
  } catch (const std::runtime_error& error) {
    log_line(std::string("/auth/status: ") + error.what());
    return error_page(nullptr, 503);
  }
  return status_page(request, figures, backlog, deps_.clock.now());
}

Response App::Impl::handle(const Request& request) {
  if (const RouteMatch match = match_route(request.method, request.path);
      match.route && (*match.route == Route::Status || *match.route == Route::Ping) &&
      request.gateway == GatewayCall::None) {
    Response response;
    try {
      response = operations_page(request, match);
    } catch (const std::exception& error) {
      log_line(std::string("/auth/status failed: ") + error.what());
      response = error_page(nullptr, 500);
    }
    add_common_headers(response);
    return response;
  }
  const std::int64_t now = deps_.clock.now();
  const auto device_cookie = cookie_value(request, kDeviceCookie);
  domain::Visit visit(
      load_session(request, now), cookie_value(request, kRememberCookie), request.remote_addr, now,
      device_cookie ? devices_.decode(*device_cookie) : std::vector<domain::DeviceMarker>{});
  PageContext context{request, visit};
  const bool secure_cookies = request.is_https || deps_.session_settings.force_secure_cookies;

  Response response;
  // The browser's cookies as identify left them, when it changed them: a restore exchanged the
  // remember token, so an error page later in the request must still carry the new cookies, or
  // the browser would come back with the used token and read as a thief.
  std::optional<domain::Visit> identified;
  const auto send_identified_cookies = [&] {
    if (identified) {
      try {
        send_cookies(*identified, secure_cookies, response);
      } catch (const std::exception& error) {
        log_line("cookies not sent with the error page: " + std::string(error.what()));
      }
    }
  };
  try {
    const RouteMatch match = match_route(request.method, request.path);
    // A password login and a logout give the remember cookie up; exchanging it for a new token
    // first would only have them undo that.
    const bool gives_remember_up =
        match.route && match.method_allowed &&
        ((*match.route == Route::Login && request.method == "POST") ||
         (*match.route == Route::Logout && handlers::logout_acts(request)));
    // The gateway's verify identifies the browser itself (AuthCore::verify).
    if (!(match.route && *match.route == Route::Verify)) {
      core_.identify(visit,
                     gives_remember_up ? domain::Restore::No : domain::Restore::FromRememberCookie);
    }
    if (visit.session_cookie() != domain::CookieIntent::Keep ||
        visit.remember.intent != domain::CookieIntent::Keep) {
      identified.emplace(visit);
    }
    response = route(context, match);
    if (match.route && *match.route == Route::Verify && request.gateway != GatewayCall::None) {
      count_verify_answer(response.status);
    }
    send_cookies(visit, secure_cookies, response);
    if (match.route && *match.route == Route::Verify &&
        request.gateway == GatewayCall::AuthRequest) {
      name_cookies_for_the_gateway(response);
    }
  } catch (const domain::StorageUnavailable& error) {
    count(domain::PoolEvent::DatabaseError);
    log_line("database unavailable on " + request.method + " " + loggable_path(request.path) +
             ": " + error.what());
    response = error_page(nullptr, 503);
    response.add_header("Retry-After", "5");
    send_identified_cookies();
  } catch (const std::exception& error) {
    log_line("internal error on " + request.method + " " + loggable_path(request.path) + ": " +
             error.what());
    response = error_page(nullptr, 500);
    send_identified_cookies();
  }
  if (request.gateway == GatewayCall::Authorizer) {
    response = for_the_authorizer(std::move(response));
    if (response.status == 200) {
      return response;
    }
  }
  // HEAD keeps the GET's body: the response writer sends its length and leaves it out.
  add_common_headers(response);
  return response;
}

App::App(AppDependencies deps) : impl_(std::make_unique<Impl>(deps)) {}
App::~App() = default;

Response App::handle(const Request& request) { return impl_->handle(request); }

Response App::error_page(int status) {
  Response response = impl_->error_page(nullptr, status);
  add_common_headers(response);
  return response;
}

}  // namespace authfcgi::web
