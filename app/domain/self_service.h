#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/account_tokens.h"
#include "domain/accounts.h"
#include "domain/clock.h"
#include "domain/login_throttle.h"
#include "domain/mail.h"
#include "domain/password_hasher.h"
#include "domain/password_policy.h"
#include "domain/token_crypto.h"
#include "domain/user.h"
#include "domain/user_repository.h"

namespace authfcgi::domain {

struct SelfServiceSettings {
  std::int64_t confirm_seconds = 24 * 3600;
  std::int64_t reset_seconds = 3600;
  std::int64_t change_email_seconds = 24 * 3600;
  std::int64_t resend_interval_seconds = 60;  // at most one confirmation mail a minute
  std::int64_t mails_per_account_hour = 3;    // reset (and resend) mails to one account
  std::int64_t mails_per_network_hour = 20;   // and asked for from one network
};

struct SelfServiceDependencies {
  UserRepository& users;
  AccountTokenStore& tokens;
  MailOutbox& outbox;
  Transactions& transactions;
  const MailComposer& composer;
  const PasswordHasher& hasher;
  const PasswordStrength& strength;
  const TokenCrypto& crypto;
  const Clock& clock;
  LoginThrottle& throttle;
  Accounts& accounts;  // the one revoke policy: a new password ends every login
  SelfServiceSettings settings;
};

// A form's problems by field name ("email", "username", "password", ...), WTForms' way: an
// empty map means the form was accepted.
using FormErrors = std::map<std::string, std::vector<std::string>>;

struct RegistrationForm {
  std::string email;
  std::string username;
  std::string password;
  std::string password2;
};

struct RegisterOutcome {
  FormErrors errors;
  std::int64_t retry_after_seconds = 0;  // > 0: throttled, nothing was looked at
};

enum class ConfirmOutcome { Confirmed, AlreadyConfirmed, Invalid };

struct NewPasswordForm {
  std::string password;
  std::string password2;
};

struct ChangePasswordForm {
  std::string old_password;
  std::string password;
  std::string password2;
};

struct ChangePasswordOutcome {
  std::int64_t retry_after_seconds = 0;  // > 0: throttled as a login would be; nothing checked
  bool wrong_password = false;           // "Invalid password."
  FormErrors errors;
  bool done = false;  // every other login of the user ended
};

struct ChangeEmailForm {
  std::string email;
  std::string password;
};

struct ChangeEmailOutcome {
  std::int64_t retry_after_seconds = 0;  // > 0: throttled as a login would be; nothing checked
  bool wrong_password = false;           // "Invalid email or password."
  FormErrors errors;
  bool done = false;  // the mail is queued (or, for a taken address, nothing: the same answer)
};

enum class EmailChangeOutcome { Changed, Invalid };

struct ResetOutcome {
  bool token_valid = false;  // false: "The reset link is invalid or has expired."
  FormErrors errors;         // the new password's problems (token_valid and not done)
  bool done = false;
};
enum class ResendOutcome { Sent, TooSoon, AlreadyConfirmed };

// The accounts' self-service flows (the lesson's next chapter): registration and the
// confirmation of an address. Each change and the mail it causes are one transaction; mail is
// only queued here and delivered off the request path. One instance per thread.
class SelfService {
 public:
  explicit SelfService(SelfServiceDependencies deps);

  // Creates an unconfirmed account and queues its confirmation mail. An address that has an
  // account gets the same outcome (the same work: one hash, one queued mail) and its owner a
  // mail saying someone tried; nothing changes. Counts against the client address like a failed
  // login. Throws StorageUnavailable.
  [[nodiscard]] RegisterOutcome register_account(const RegistrationForm& form,
                                                 std::string_view client_address);
  // The confirmation link, followed by the logged-in user it was sent to.
  [[nodiscard]] ConfirmOutcome confirm(const CurrentUser& user, std::string_view token);
  // Another confirmation mail, at most one a minute.
  [[nodiscard]] ResendOutcome resend_confirmation(const CurrentUser& user,
                                                  std::string_view client_address);

  // A logged-in user's new password: the old one first; then every login of the user ends
  // (the caller keeps this browser logged in) and a notice goes to the address.
  [[nodiscard]] ChangePasswordOutcome change_password(const CurrentUser& user,
                                                      const ChangePasswordForm& form,
                                                      std::string_view client_address);
  // A new address, confirmed by a link mailed to it; an address that has an account gets the
  // same answer and no mail.
  [[nodiscard]] ChangeEmailOutcome request_email_change(const CurrentUser& user,
                                                        const ChangeEmailForm& form,
                                                        std::string_view client_address);
  // The link of that mail, followed by the logged-in user: the address changes, the old one
  // gets a notice.
  [[nodiscard]] EmailChangeOutcome change_email(const CurrentUser& user, std::string_view token,
                                                std::string_view client_address);

  // "Forgot your password": queues the request as typed (one row, whether or not the address
  // has an account, so the answer costs the same); the caller answers the same either way.
  void request_reset(std::string_view email, std::string_view client_address);
  // The delivery's side of it: a reset mail when the address has an account, within the mail
  // throttles (3 an hour per account, 20 per client network); silently nothing otherwise.
  void expand_reset_request(const QueuedMail& request);
  // Whether a reset link still works (for the form's GET: a dead link is said at once).
  [[nodiscard]] bool reset_token_valid(std::string_view token);
  // Sets the new password from a reset link: once, within the hour, while the password is the
  // one it was issued for; every session and remember token of the user ends.
  [[nodiscard]] ResetOutcome reset_password(std::string_view token, const NewPasswordForm& form);

 private:
  // A new random token: the text for the link; its digest is what is stored.
  [[nodiscard]] std::string new_token() const;
  void queue(std::string_view to, const MailContent& content, std::string_view client_address);
  // A logged-in user's own password, checked through the login throttle: the stored user when
  // right; else nullopt, with retry_after_seconds > 0 when the throttle refused.
  struct PasswordCheck {
    std::optional<User> user;
    std::int64_t retry_after_seconds = 0;
  };
  [[nodiscard]] PasswordCheck check_own_password(const CurrentUser& user, std::string_view password,
                                                 std::string_view client_address);
  // The user a reset token is good for now, or nullopt.
  [[nodiscard]] std::optional<User> reset_user(std::string_view digest);

  SelfServiceDependencies deps_;
};

}  // namespace authfcgi::domain
