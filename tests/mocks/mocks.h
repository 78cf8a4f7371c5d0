#pragma once

#include <gmock/gmock.h>

#include "domain/auth_event_sink.h"
#include "domain/login_throttle_store.h"
#include "domain/password_hasher.h"
#include "domain/remember_token_store.h"
#include "domain/session_store.h"
#include "domain/user_repository.h"

namespace authfcgi::testing {

class MockUserRepository : public domain::UserRepository {
 public:
  MockUserRepository();
  ~MockUserRepository() override;
  MOCK_METHOD(std::optional<domain::User>, find_by_email, (std::string_view), (override));
  MOCK_METHOD(std::optional<domain::User>, find_by_id, (domain::UserId), (override));
  MOCK_METHOD(bool, update_password_hash, (domain::UserId, std::string_view), (override));
  MOCK_METHOD(bool, replace_password_hash, (domain::UserId, std::string_view, std::string_view),
              (override));
  MOCK_METHOD(domain::UserId, add_unconfirmed,
              (std::string_view, std::string_view, std::string_view), (override));
  MOCK_METHOD(bool, confirm, (domain::UserId), (override));
  MOCK_METHOD(bool, username_taken, (std::string_view), (override));
  MOCK_METHOD(void, lock, (domain::UserId), (override));
  MOCK_METHOD(bool, change_email, (domain::UserId, std::string_view), (override));
  MOCK_METHOD(domain::UserId, add, (std::string_view, std::string_view, std::string_view),
              (override));
  MOCK_METHOD(std::vector<domain::User>, list, (), (override));
  MOCK_METHOD(std::vector<std::string>, groups_of, (domain::UserId), (override));
  MOCK_METHOD(bool, add_to_group, (domain::UserId, std::string_view), (override));
  MOCK_METHOD(bool, remove_from_group, (domain::UserId, std::string_view), (override));
  MOCK_METHOD(bool, remove, (domain::UserId), (override));
};

class MockSessionStore : public domain::SessionStore {
 public:
  MockSessionStore();
  ~MockSessionStore() override;
  MOCK_METHOD(void, create, (std::string_view, domain::UserId, std::int64_t), (override));
  MOCK_METHOD(std::optional<domain::CurrentUser>, find_user, (std::string_view, std::int64_t),
              (override));
  MOCK_METHOD(void, remove, (std::string_view), (override));
  MOCK_METHOD(void, remove_for_user, (domain::UserId), (override));
  MOCK_METHOD(void, trim_for_user, (domain::UserId, std::size_t, std::int64_t), (override));
  MOCK_METHOD(std::size_t, prune, (std::int64_t, std::size_t), (override));
};

class MockRememberTokenStore : public domain::RememberTokenStore {
 public:
  MockRememberTokenStore();
  ~MockRememberTokenStore() override;
  MOCK_METHOD(void, insert, (const domain::RememberTokenRecord&), (override));
  MOCK_METHOD(std::optional<domain::RememberTokenRecord>, find, (std::string_view), (override));
  MOCK_METHOD(bool, mark_used, (std::string_view, std::int64_t), (override));
  MOCK_METHOD(void, remove, (std::string_view), (override));
  MOCK_METHOD(bool, remove_unused, (std::string_view), (override));
  MOCK_METHOD(void, remove_for_user, (domain::UserId), (override));
  MOCK_METHOD(void, trim_for_user, (domain::UserId, std::size_t, std::int64_t), (override));
  MOCK_METHOD(std::size_t, prune, (std::int64_t, std::size_t), (override));
};

class MockPasswordHasher : public domain::PasswordHasher {
 public:
  MockPasswordHasher();
  ~MockPasswordHasher() override;
  MOCK_METHOD(std::string, hash, (std::string_view), (const, override));
  MOCK_METHOD(bool, verify, (std::string_view, std::string_view), (const, override));
  MOCK_METHOD(bool, needs_rehash, (std::string_view), (const, override));
};

class MockAuthEventSink : public domain::AuthEventSink {
 public:
  MockAuthEventSink();
  ~MockAuthEventSink() override;
  MOCK_METHOD(void, record, (const domain::AuthEvent&), (override));
};

}  // namespace authfcgi::testing
