#include "domain/auth_core.h"

#include <array>
#include <utility>

namespace authfcgi::domain {
namespace {

CurrentUser current_user(const User& user) {
  return {user.id, user.email, user.username, user.groups, user.confirmed};
}

bool marker_live(const DeviceMarker& marker, std::int64_t now, std::int64_t max_age_seconds) {
  return marker.issued_at <= now && now - marker.issued_at < max_age_seconds;
}

}  // namespace

AuthCore::AuthCore(AuthCoreDependencies deps)
    : users_(deps.users),
      events_(deps.events),
      clock_(deps.clock),
      crypto_(deps.crypto),
      device_max_age_seconds_(deps.throttle_settings.device_max_age_seconds),
      sessions_(deps.sessions, deps.crypto, deps.session_settings),
      remember_(deps.remember_tokens, deps.crypto, deps.session_settings.remember_max_age_seconds),
      accounts_(deps.users, deps.sessions, deps.remember_tokens, deps.hasher),
      throttle_(deps.throttle, deps.random, deps.clock, deps.throttle_settings),
      auth_(deps.users, deps.hasher, throttle_, deps.events, deps.clock,
            std::move(deps.dummy_hash)) {}

void AuthCore::record(AuthEventKind kind, const Visit& visit, std::string_view account) {
  events_.record(AuthEvent{kind, clock_.now(), visit.client_address, std::string(account)});
}

void AuthCore::respond_to_theft(Visit& visit, UserId user_id) {
  accounts_.log_out_everywhere(user_id);
  // The account is named by id: looking up its email would cost a query for a log line.
  record(AuthEventKind::RememberTokenReused, visit, "user-id:" + std::to_string(user_id));
  visit.remember = {CookieIntent::Clear, {}};
}

void AuthCore::identify(Visit& visit, Restore restore) {
  if (visit.session.user_id) {
    visit.user = sessions_.load_user(visit.session, visit.now);
    if (!visit.user) {
      // Logged out elsewhere, expired, evicted or deleted: anonymous from now on.
      visit.session.user_id.reset();
    }
  }
  if (visit.user || restore == Restore::No || !visit.remember_cookie) {
    return;
  }
  const RememberResult result = remember_.check(*visit.remember_cookie, visit.now);
  switch (result.check) {
    case RememberCheck::Superseded:
      return;  // anonymous for this one request; the winning request's cookie stands
    case RememberCheck::Reused:
      respond_to_theft(visit, result.user_id);
      return;
    case RememberCheck::Valid:
      if (const auto user = users_.find_by_id(result.user_id)) {
        restore_from_token(visit, *user, result);
        return;
      }
      break;
    case RememberCheck::Invalid:
      break;
  }
  record(AuthEventKind::RememberTokenRejected, visit, "");
  visit.remember = {CookieIntent::Clear, {}};
}

void AuthCore::keep_this_browser_logged_in(Visit& visit) {
  if (!visit.user) {
    return;
  }
  sessions_.log_in(visit.session, visit.user->id, visit.now);
  if (visit.remember_cookie) {
    visit.remember = {CookieIntent::Clear, {}};
  }
}

void AuthCore::restore_from_token(Visit& visit, const User& user, const RememberResult& token) {
  // Tokens rotate on use. The new session and token are written before the old token is
  // claimed, so a failure on the way leaves the browser's token unused (it simply tries again)
  // rather than used without a successor, which would later read as theft. The user's groups
  // (which a session row brings with it) are read first of all, for the same reason.
  CurrentUser restored = current_user(user);
  restored.groups = users_.groups_of(user.id);
  SessionState session = visit.session;
  sessions_.log_in(session, user.id, visit.now);
  std::string successor = remember_.issue(user.id, visit.now);
  if (!remember_.claim(token, visit.now)) {
    // A parallel request of the same browser exchanged it first; its answer carries the
    // cookies. This one leaves nothing behind and stays anonymous.
    sessions_.log_out(session, visit.now);
    remember_.withdraw(successor);
    return;
  }
  remember_.bound(user.id, visit.now);
  visit.session = std::move(session);
  visit.remember = {CookieIntent::Set, std::move(successor)};
  visit.user = std::move(restored);
  record(AuthEventKind::RememberTokenUsed, visit, user.email);
}

LoginAttempt AuthCore::log_in(Visit& visit, std::string_view email, std::string_view password,
                              RememberChoice remember) {
  const std::optional<DeviceMarker> marker = device_marker_for(visit, email);
  AttemptSource source{std::string(email), visit.client_address, std::nullopt};
  if (marker) {
    source.device = DeviceClaim{marker->id, marker->issued_at + device_max_age_seconds_};
  }
  const LoginOutcome outcome = auth_.authenticate(source, password);
  if (outcome.result != LoginResult::Success || !outcome.user) {
    return {
        outcome.result == LoginResult::Success ? LoginResult::InvalidCredentials : outcome.result,
        outcome.retry_after_seconds};
  }
  const UserId user_id = outcome.user->id;
  // A token of an earlier login in this browser is given up rather than orphaned; one that
  // proves a copy exists ends every login of its user before the new session starts.
  if (visit.remember_cookie) {
    const RememberResult old = remember_.give_up(*visit.remember_cookie, visit.now);
    if (old.check == RememberCheck::Reused) {
      respond_to_theft(visit, old.user_id);
    }
    visit.remember = {CookieIntent::Clear, {}};
  }
  sessions_.log_in(visit.session, user_id, visit.now);
  visit.user = current_user(*outcome.user);
  issue_device_marker(visit, email, outcome.device_trusted ? marker : std::nullopt);
  if (remember == RememberChoice::Yes) {
    visit.remember = {CookieIntent::Set, remember_.issue(user_id, visit.now)};
    remember_.bound(user_id, visit.now);
  }
  return {LoginResult::Success, 0};
}

std::optional<DeviceMarker> AuthCore::device_marker_for(const Visit& visit,
                                                        std::string_view email) const {
  for (const DeviceMarker& marker : visit.device_markers) {
    if (marker_live(marker, visit.now, device_max_age_seconds_) &&
        crypto_.device_account_tag_matches(email, marker.account_tag)) {
      return marker;
    }
  }
  return std::nullopt;
}

void AuthCore::issue_device_marker(Visit& visit, std::string_view email,
                                   const std::optional<DeviceMarker>& trusted) const {
  std::vector<DeviceMarker> markers;
  if (trusted) {
    // Renewed: a browser in use stays known for a year after its last login, not its first.
    markers.push_back(DeviceMarker{trusted->account_tag, trusted->id, visit.now});
  } else {
    std::array<std::string, 1> id;
    crypto_.random_tokens(id, 16);
    markers.push_back(DeviceMarker{crypto_.device_account_tag(email), id[0], visit.now});
  }
  for (const DeviceMarker& marker : visit.device_markers) {
    if (markers.size() < kMaxDeviceMarkers &&
        marker_live(marker, visit.now, device_max_age_seconds_) &&
        !crypto_.device_account_tag_matches(email, marker.account_tag)) {
      markers.push_back(marker);
    }
  }
  visit.device_update = std::move(markers);
}

bool AuthCore::log_out(Visit& visit) {
  bool ended = false;
  if (visit.user) {
    record(AuthEventKind::Logout, visit, visit.user->email);
    sessions_.log_out(visit.session, visit.now);
    visit.user.reset();
    ended = true;
  }
  if (visit.remember_cookie) {
    const RememberResult token = remember_.give_up(*visit.remember_cookie, visit.now);
    if (token.check == RememberCheck::Reused) {
      respond_to_theft(visit, token.user_id);
    } else if (token.check == RememberCheck::Valid && !ended) {
      // A browser remembered but not yet restored in this session is logged out all the same.
      if (const auto user = users_.find_by_id(token.user_id)) {
        record(AuthEventKind::Logout, visit, user->email);
        ended = true;
      }
    }
    visit.remember = {CookieIntent::Clear, {}};
  }
  return ended;
}

GatewayAnswer AuthCore::verify(Visit& visit, std::string_view required_groups,
                               std::string_view original_uri) {
  identify(visit, Restore::FromRememberCookie);
  if (!visit.user) {
    return {GatewayResult::Anonymous, login_location(original_uri)};
  }
  return {passes(*visit.user, required_groups) ? GatewayResult::Allowed : GatewayResult::Forbidden,
          {}};
}

void AuthCore::ensure_session(Visit& visit) const {
  sessions_.ensure_started(visit.session, visit.now);
}

}  // namespace authfcgi::domain
