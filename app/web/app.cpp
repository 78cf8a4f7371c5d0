#include "web/app.h"

#include <iostream>
#include <optional>
#include <string>

#include "domain/auth_service.h"
#include "domain/errors.h"
#include "web/cookie.h"
#include "web/cookie_names.h"
#include "web/csrf.h"
#include "web/handlers/handlers.h"
#include "web/page_context.h"
#include "web/remember_me.h"
#include "web/router.h"
#include "web/session_codec.h"
#include "web/session_manager.h"

namespace authfcgi::web {
namespace {

std::string_view reason_heading(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
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
  response.add_header("Referrer-Policy", "same-origin");
  response.add_header("Cache-Control", "no-store");
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
        codec_(deps.keys, deps.session_config.max_age_seconds),
        csrf_(deps.keys, deps.session_config.csrf_time_limit_seconds),
        sessions_(deps.sessions, deps.random, deps.session_config),
        remember_(deps.remember_tokens, deps.keys, deps.random,
                  deps.session_config.remember_max_age_seconds),
        auth_(deps.users, deps.hasher,
              domain::LoginThrottling{deps.throttle, deps.throttle_config.account,
                                      deps.throttle_config.address},
              deps.events, deps.clock, std::string(deps.dummy_hash)),
        services_{auth_, sessions_, remember_, csrf_, deps.renderer} {}

  Response handle(const Request& request);
  Response error_page(PageContext* context, int status);

  // The session from the cookie, or an empty (not yet started) one.
  domain::SessionState load_session(const Request& request, std::int64_t now) const;
  void restore_user(PageContext& context);
  Response route(PageContext& context);
  void save_session(PageContext& context, const std::optional<domain::SessionState>& original,
                    Response& response) const;

  AppDependencies deps_;
  SessionCodec codec_;
  Csrf csrf_;
  SessionManager sessions_;
  RememberMe remember_;
  domain::AuthService auth_;
  handlers::AuthHandlerServices services_;
};

domain::SessionState App::Impl::load_session(const Request& request, std::int64_t now) const {
  if (const auto value = cookie_value(request, kSessionCookie)) {
    if (auto decoded = codec_.decode(*value, now)) {
      return *decoded;
    }
  }
  return {};
}

void App::Impl::restore_user(PageContext& context) {
  if (context.session.user_id) {
    context.user = sessions_.load_user(context.session, context.now);
    if (!context.user) {
      // Logged out elsewhere, expired or deleted: this browser is anonymous from now on.
      context.session.user_id.reset();
    }
  }
  if (context.user) {
    return;
  }
  const auto token = cookie_value(context.request, kRememberCookie);
  if (!token) {
    return;
  }
  const RememberResult result = remember_.consume(*token, context.now);
  if (result.check == RememberCheck::Superseded) {
    return;  // anonymous for this one request; the winning request's cookie stands
  }
  std::optional<domain::User> user;
  if (result.check == RememberCheck::Valid) {
    user = deps_.users.find_by_id(result.user_id);
  }
  if (result.check == RememberCheck::Reused) {
    // The cookie was copied: whoever holds the newer token may be the thief or the user.
    // Log the user out everywhere; they log in again with their password.
    deps_.remember_tokens.remove_for_user(result.user_id);
    deps_.sessions.remove_for_user(result.user_id);
    // The account is named by id: looking up its email would cost a query for a log line.
    auth_.record_event(domain::AuthEventKind::RememberTokenReused,
                       "user-id:" + std::to_string(result.user_id), context.request.remote_addr);
  } else if (!user) {
    auth_.record_event(domain::AuthEventKind::RememberTokenRejected, "",
                       context.request.remote_addr);
  }
  if (!user) {
    context.extra_cookies.push_back(remember_.clear_cookie_header(context.secure_cookies));
    return;
  }
  // Tokens rotate on use: the old one is now used, the browser gets a new one and a new session.
  sessions_.log_in(context.session, user->id, context.now);
  context.issued_remember_token = remember_.issue(user->id, context.now);
  context.extra_cookies.push_back(
      remember_.cookie_header(context.issued_remember_token, context.secure_cookies));
  auth_.record_event(domain::AuthEventKind::RememberTokenUsed, user->email,
                     context.request.remote_addr);
  context.user = std::move(user);
}

Response App::Impl::route(PageContext& context) {
  const RouteMatch match = match_route(context.request.method, context.request.path);
  if (!match.route) {
    return error_page(&context, 404);
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
  }
  return error_page(&context, 404);
}

void App::Impl::save_session(PageContext& context,
                             const std::optional<domain::SessionState>& original,
                             Response& response) const {
  // A flash for an anonymous visitor with no session yet (the /secret redirect) needs one.
  if (!context.session.flashes.empty()) {
    sessions_.ensure_started(context.session, context.now);
  }
  if (!context.session.sid.empty() && (!original || *original != context.session)) {
    SetCookie cookie;
    cookie.name = kSessionCookie;
    cookie.value = codec_.encode(context.session);
    cookie.secure = context.secure_cookies;
    response.add_header("Set-Cookie", serialize_set_cookie(cookie));
  }
  for (auto& extra : context.extra_cookies) {
    response.add_header("Set-Cookie", std::move(extra));
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

Response App::Impl::handle(const Request& request) {
  const std::int64_t now = deps_.clock.now();
  PageContext context{request, now, load_session(request, now), std::nullopt, {}, false, {}};
  context.secure_cookies = request.is_https || deps_.session_config.force_secure_cookies;
  const std::optional<domain::SessionState> original =
      context.session.sid.empty() ? std::nullopt : std::optional(context.session);

  Response response;
  try {
    restore_user(context);
    response = route(context);
    save_session(context, original, response);
  } catch (const domain::StorageUnavailable& error) {
    log_line("database unavailable on " + request.method + " " + request.path + ": " +
             error.what());
    response = error_page(nullptr, 503);
    response.add_header("Retry-After", "5");
  } catch (const std::exception& error) {
    log_line("internal error on " + request.method + " " + request.path + ": " + error.what());
    response = error_page(nullptr, 500);
  }
  add_common_headers(response);
  if (request.method == "HEAD") {
    response.body.clear();
  }
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
