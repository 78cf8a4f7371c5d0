#include "domain/self_service.h"

#include <algorithm>
#include <array>
#include <utility>

#include "domain/email.h"
#include "domain/errors.h"
#include "domain/username.h"
#include "util/ip_address.h"

namespace authfcgi::domain {
namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::int64_t kHour = 3600;
constexpr std::string_view kRequired = "This field is required.";

// A new password typed twice, as every form that sets one checks it: Flask-WTF's order,
// DataRequired, then EqualTo('password2') on the password field, then our rules.
void check_new_password_fields(std::string_view password, std::string_view password2,
                               std::string_view username, std::string_view email,
                               const PasswordStrength& strength, FormErrors& errors) {
  if (password.empty()) {
    errors["password"].emplace_back(kRequired);
  } else if (password != password2) {
    errors["password"].emplace_back("Passwords must match.");
  } else if (auto problem = check_new_password(password, username, email, strength)) {
    errors["password"].emplace_back(password_problem_message(*problem));
  }
  if (password2.empty()) {
    errors["password2"].emplace_back(kRequired);
  }
}

FormErrors check_registration(const RegistrationForm& form, std::string_view email,
                              const PasswordStrength& strength) {
  FormErrors errors;
  if (auto error = validate_new_email(email)) {
    errors["email"].emplace_back(email_error_message(*error));
  }
  if (auto error = validate_username(form.username)) {
    errors["username"].emplace_back(username_error_message(*error));
  }
  check_new_password_fields(form.password, form.password2, form.username, email, strength, errors);
  return errors;
}

}  // namespace

SelfService::SelfService(SelfServiceDependencies deps) : deps_(std::move(deps)) {}

std::string SelfService::new_token() const {
  std::array<std::string, 1> token;
  deps_.crypto.random_tokens(token, kTokenBytes);
  return std::move(token[0]);
}

void SelfService::queue(std::string_view to, const MailContent& content,
                        std::string_view client_address) {
  deps_.outbox.enqueue(deps_.composer.compose(to, content), content.kind,
                       util::throttle_network(client_address), deps_.clock.now());
}

RegisterOutcome SelfService::register_account(const RegistrationForm& form,
                                              std::string_view client_address) {
  RegisterOutcome outcome;
  const std::string email = normalize_email(form.email);
  outcome.errors = check_registration(form, email, deps_.strength);
  if (!outcome.errors.empty()) {
    return outcome;
  }
  // A registration is an attempt on the address like a login: the throttle that stops
  // guessing stops a script that probes addresses through this form too.
  Admission admission = deps_.throttle.admit(AttemptSource{email, std::string(client_address), {}});
  if (!admission.attempt) {
    outcome.retry_after_seconds = admission.retry_after_seconds;
    return outcome;
  }
  // Both answers below cost one hash and one queued mail: neither time nor page tells whether
  // the address has an account. The username is checked first for the same reason.
  if (deps_.users.username_taken(form.username)) {
    outcome.errors["username"].emplace_back("Username already in use.");
    admission.attempt->failed();
    return outcome;
  }
  const std::string hash = deps_.hasher.hash(form.password);
  const std::int64_t now = deps_.clock.now();
  auto notify_owner = [&](const User& owner) {
    if (deps_.outbox.count_for_recipient(owner.email, MailKind::RegistrationAttempt,
                                         now - kHour + 1) < deps_.settings.mails_per_account_hour) {
      queue(owner.email, {MailKind::RegistrationAttempt, owner.username, "/auth/reset", {}},
            client_address);
    }
  };
  if (auto owner = deps_.users.find_by_email(email)) {
    notify_owner(*owner);
  } else {
    try {
      deps_.transactions.run([&] {
        const UserId id = deps_.users.add_unconfirmed(email, form.username, hash);
        const std::string token = new_token();
        deps_.tokens.add(
            deps_.crypto.session_id_digest(token),
            {id, TokenPurpose::ConfirmAccount, {}, now + deps_.settings.confirm_seconds, {}});
        queue(email, {MailKind::ConfirmAccount, form.username, "/auth/confirm/" + token, {}},
              client_address);
      });
    } catch (const DuplicateKey&) {
      // Registered meanwhile by another request: under either name, the same answers.
      if (auto registered = deps_.users.find_by_email(email)) {
        notify_owner(*registered);
      } else {
        outcome.errors["username"].emplace_back("Username already in use.");
      }
    }
  }
  admission.attempt->failed();
  return outcome;
}

ConfirmOutcome SelfService::confirm(const CurrentUser& user, std::string_view token) {
  if (user.email_confirmed) {
    return ConfirmOutcome::AlreadyConfirmed;
  }
  const std::string digest = deps_.crypto.session_id_digest(token);
  const auto found = deps_.tokens.find(digest);
  if (!found || found->purpose != TokenPurpose::ConfirmAccount || found->user_id != user.id ||
      found->expires_at <= deps_.clock.now()) {
    return ConfirmOutcome::Invalid;
  }
  bool confirmed = false;
  deps_.transactions.run(
      [&] { confirmed = deps_.tokens.take(digest) && deps_.users.confirm(user.id); });
  return confirmed ? ConfirmOutcome::Confirmed : ConfirmOutcome::Invalid;
}

ResendOutcome SelfService::resend_confirmation(const CurrentUser& user,
                                               std::string_view client_address) {
  if (user.email_confirmed) {
    return ResendOutcome::AlreadyConfirmed;
  }
  const std::int64_t now = deps_.clock.now();
  if (deps_.outbox.count_for_recipient(user.email, MailKind::ConfirmAccount,
                                       now - deps_.settings.resend_interval_seconds + 1) > 0 ||
      deps_.outbox.count_for_recipient(user.email, MailKind::ConfirmAccount, now - kHour + 1) >=
          deps_.settings.mails_per_account_hour + 1) {
    return ResendOutcome::TooSoon;
  }
  deps_.transactions.run([&] {
    const std::string token = new_token();
    deps_.tokens.add(
        deps_.crypto.session_id_digest(token),
        {user.id, TokenPurpose::ConfirmAccount, {}, now + deps_.settings.confirm_seconds, {}});
    queue(user.email, {MailKind::ConfirmAccount, user.username, "/auth/confirm/" + token, {}},
          client_address);
  });
  return ResendOutcome::Sent;
}

void SelfService::request_reset(std::string_view email, std::string_view client_address) {
  const std::string normalized = normalize_email(email);
  if (validate_email(normalized)) {
    return;
  }
  deps_.outbox.enqueue({normalized, {}, {}, {}}, MailKind::ResetRequest,
                       util::throttle_network(client_address), deps_.clock.now());
}

void SelfService::expand_reset_request(const QueuedMail& request) {
  const auto user = deps_.users.find_by_email(request.message.to);
  if (!user) {
    return;
  }
  const std::int64_t now = deps_.clock.now();
  deps_.transactions.run([&] {
    // Every process delivers: requests for one account are counted one at a time.
    deps_.users.lock(user->id);
    if (deps_.outbox.count_for_recipient(user->email, MailKind::ResetPassword, now - kHour + 1) >=
            deps_.settings.mails_per_account_hour ||
        deps_.outbox.count_from_network(request.client_network, MailKind::ResetPassword,
                                        now - kHour + 1) >= deps_.settings.mails_per_network_hour) {
      return;  // enough mail for now; the page said the same
    }
    const std::string token = new_token();
    AccountToken reset{user->id,
                       TokenPurpose::ResetPassword,
                       {},
                       now + deps_.settings.reset_seconds,
                       deps_.crypto.session_id_digest(user->password_hash)};
    deps_.tokens.add(deps_.crypto.session_id_digest(token), reset);
    deps_.outbox.enqueue(
        deps_.composer.compose(
            user->email, {MailKind::ResetPassword, user->username, "/auth/reset/" + token, {}}),
        MailKind::ResetPassword, request.client_network, now);
  });
}

std::optional<User> SelfService::reset_user(std::string_view digest) {
  const auto token = deps_.tokens.find(digest);
  if (!token || token->purpose != TokenPurpose::ResetPassword ||
      token->expires_at <= deps_.clock.now()) {
    return std::nullopt;
  }
  auto user = deps_.users.find_by_id(token->user_id);
  if (!user || !deps_.crypto.digest_matches(user->password_hash, token->password_digest)) {
    return std::nullopt;  // the password changed since: the link died with it
  }
  return user;
}

bool SelfService::reset_token_valid(std::string_view token) {
  return reset_user(deps_.crypto.session_id_digest(token)).has_value();
}

ResetOutcome SelfService::reset_password(std::string_view token, const NewPasswordForm& form) {
  ResetOutcome outcome;
  const std::string digest = deps_.crypto.session_id_digest(token);
  const auto user = reset_user(digest);
  if (!user) {
    return outcome;
  }
  outcome.token_valid = true;
  check_new_password_fields(form.password, form.password2, user->username, user->email,
                            deps_.strength, outcome.errors);
  if (!outcome.errors.empty()) {
    return outcome;
  }
  const std::string hash = deps_.hasher.hash(form.password);
  deps_.transactions.run([&] {
    // take() succeeds for one request only: a link used twice at once sets one password.
    if (!deps_.tokens.take(digest) || !deps_.accounts.set_password_hash(user->id, hash)) {
      outcome.token_valid = false;
      return;
    }
    deps_.tokens.remove_for_user(user->id, TokenPurpose::ResetPassword);
    outcome.done = true;
  });
  return outcome;
}

SelfService::PasswordCheck SelfService::check_own_password(const CurrentUser& user,
                                                           std::string_view password,
                                                           std::string_view client_address) {
  // Throttled as a login is: a stolen session cookie must not become an unthrottled way of
  // guessing the password.
  Admission admission =
      deps_.throttle.admit(AttemptSource{user.email, std::string(client_address), {}});
  if (!admission.attempt) {
    return {std::nullopt, std::max<std::int64_t>(1, admission.retry_after_seconds)};
  }
  auto stored = deps_.users.find_by_id(user.id);
  if (!stored || !deps_.hasher.verify(stored->password_hash, password)) {
    admission.attempt->failed();
    return {};
  }
  admission.attempt->succeeded();
  return {std::move(stored), 0};
}

ChangePasswordOutcome SelfService::change_password(const CurrentUser& user,
                                                   const ChangePasswordForm& form,
                                                   std::string_view client_address) {
  ChangePasswordOutcome outcome;
  if (form.old_password.empty()) {
    outcome.errors["old_password"].emplace_back(kRequired);
  }
  check_new_password_fields(form.password, form.password2, user.username, user.email,
                            deps_.strength, outcome.errors);
  if (!outcome.errors.empty()) {
    return outcome;
  }
  const auto checked = check_own_password(user, form.old_password, client_address);
  if (!checked.user) {
    outcome.retry_after_seconds = checked.retry_after_seconds;
    outcome.wrong_password = checked.retry_after_seconds == 0;
    return outcome;
  }
  const auto& stored = checked.user;
  const std::string hash = deps_.hasher.hash(form.password);
  deps_.transactions.run([&] {
    // Compare-and-swap: a change that ran meanwhile (authctl, another browser) wins.
    if (!deps_.users.replace_password_hash(user.id, stored->password_hash, hash)) {
      outcome.wrong_password = true;
      return;
    }
    deps_.accounts.log_out_everywhere(user.id);
    queue(stored->email, {MailKind::PasswordChanged, stored->username, "/auth/reset", {}},
          client_address);
    outcome.done = true;
  });
  return outcome;
}

ChangeEmailOutcome SelfService::request_email_change(const CurrentUser& user,
                                                     const ChangeEmailForm& form,
                                                     std::string_view client_address) {
  ChangeEmailOutcome outcome;
  const std::string email = normalize_email(form.email);
  if (auto error = validate_new_email(email)) {
    outcome.errors["email"].emplace_back(email_error_message(*error));
  }
  if (form.password.empty()) {
    outcome.errors["password"].emplace_back(kRequired);
  }
  if (!outcome.errors.empty()) {
    return outcome;
  }
  const auto checked = check_own_password(user, form.password, client_address);
  if (!checked.user) {
    outcome.retry_after_seconds = checked.retry_after_seconds;
    outcome.wrong_password = checked.retry_after_seconds == 0;
    return outcome;
  }
  const auto& stored = checked.user;
  outcome.done = true;
  if (deps_.users.find_by_email(email)) {
    return outcome;  // taken (or the user's own): the same answer, no mail
  }
  // Nobody's inbox fills with these: a few an hour to one address, 20 from one network.
  const std::int64_t now = deps_.clock.now();
  const std::int64_t since = now - kHour + 1;
  if (deps_.outbox.count_for_recipient(email, MailKind::ConfirmNewEmail, since) >=
          deps_.settings.mails_per_account_hour ||
      deps_.outbox.count_from_network(util::throttle_network(client_address),
                                      MailKind::ConfirmNewEmail,
                                      since) >= deps_.settings.mails_per_network_hour) {
    return outcome;
  }
  deps_.transactions.run([&] {
    const std::string token = new_token();
    deps_.tokens.add(
        deps_.crypto.session_id_digest(token),
        {user.id, TokenPurpose::ChangeEmail, email, now + deps_.settings.change_email_seconds, {}});
    queue(email, {MailKind::ConfirmNewEmail, stored->username, "/auth/change_email/" + token, {}},
          client_address);
  });
  return outcome;
}

EmailChangeOutcome SelfService::change_email(const CurrentUser& user, std::string_view token,
                                             std::string_view client_address) {
  const std::string digest = deps_.crypto.session_id_digest(token);
  const auto found = deps_.tokens.find(digest);
  if (!found || found->purpose != TokenPurpose::ChangeEmail || found->user_id != user.id ||
      found->expires_at <= deps_.clock.now() || found->new_email.empty()) {
    return EmailChangeOutcome::Invalid;
  }
  bool changed = false;
  try {
    deps_.transactions.run([&] {
      if (!deps_.tokens.take(digest) || !deps_.users.change_email(user.id, found->new_email)) {
        return;
      }
      // Links still in the old mailbox die with the move (it may be why the user moved).
      deps_.tokens.remove_for_user(user.id, TokenPurpose::ResetPassword);
      deps_.tokens.remove_for_user(user.id, TokenPurpose::ChangeEmail);
      queue(user.email, {MailKind::EmailChanged, user.username, {}, found->new_email},
            client_address);
      changed = true;
    });
  } catch (const DuplicateKey&) {
    return EmailChangeOutcome::Invalid;  // taken meanwhile by another account
  }
  return changed ? EmailChangeOutcome::Changed : EmailChangeOutcome::Invalid;
}

}  // namespace authfcgi::domain
