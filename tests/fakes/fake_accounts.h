#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/account_tokens.h"
#include "domain/errors.h"
#include "domain/mail.h"
#include "domain/password_hasher.h"
#include "domain/user_repository.h"

namespace authfcgi::testing {

// The users table in memory, with its unique keys (email, username; byte for byte).
class FakeUserRepository : public domain::UserRepository {
 public:
  std::optional<domain::User> find_by_email(std::string_view email) override {
    const auto found = std::find_if(users.begin(), users.end(),
                                    [&](const auto& entry) { return entry.second.email == email; });
    return found == users.end() ? std::nullopt : std::optional(found->second);
  }
  std::optional<domain::User> find_by_id(domain::UserId id) override {
    const auto found = users.find(id);
    return found == users.end() ? std::nullopt : std::optional(found->second);
  }
  bool update_password_hash(domain::UserId id, std::string_view hash) override {
    const auto found = users.find(id);
    if (found == users.end()) {
      return false;
    }
    found->second.password_hash = std::string(hash);
    return true;
  }
  bool replace_password_hash(domain::UserId id, std::string_view expected,
                             std::string_view hash) override {
    const auto found = users.find(id);
    if (found == users.end() || found->second.password_hash != expected) {
      return false;
    }
    found->second.password_hash = std::string(hash);
    return true;
  }
  domain::UserId add(std::string_view email, std::string_view username,
                     std::string_view hash) override {
    return insert(email, username, hash, true);
  }
  domain::UserId add_unconfirmed(std::string_view email, std::string_view username,
                                 std::string_view hash) override {
    return insert(email, username, hash, false);
  }
  bool confirm(domain::UserId id) override {
    const auto found = users.find(id);
    if (found == users.end()) {
      return false;
    }
    found->second.confirmed = true;
    return true;
  }
  bool change_email(domain::UserId id, std::string_view email) override {
    const auto found = users.find(id);
    if (found == users.end()) {
      return false;
    }
    if (auto other = find_by_email(email); other && other->id != id) {
      throw domain::DuplicateKey("users.email");
    }
    found->second.email = std::string(email);
    found->second.confirmed = true;
    return true;
  }
  void lock(domain::UserId) override {}
  bool username_taken(std::string_view username) override {
    return std::any_of(users.begin(), users.end(),
                       [&](const auto& entry) { return entry.second.username == username; });
  }
  std::vector<domain::User> list() override {
    std::vector<domain::User> all;
    for (const auto& [id, user] : users) {
      all.push_back(user);
    }
    return all;
  }
  std::vector<std::string> groups_of(domain::UserId id) override {
    const auto found = users.find(id);
    return found == users.end() ? std::vector<std::string>{} : found->second.groups;
  }
  bool add_to_group(domain::UserId id, std::string_view group) override {
    const auto found = users.find(id);
    if (found == users.end()) {
      return false;
    }
    found->second.groups.emplace_back(group);
    return true;
  }
  bool remove_from_group(domain::UserId, std::string_view) override { return false; }
  bool remove(domain::UserId id) override { return users.erase(id) > 0; }

  domain::UserId insert(std::string_view email, std::string_view username, std::string_view hash,
                        bool confirmed) {
    if (find_by_email(email) || username_taken(username)) {
      throw domain::DuplicateKey("users");
    }
    const domain::UserId id = next_id++;
    domain::User user{id, std::string(email), std::string(username), std::string(hash), {}};
    user.confirmed = confirmed;
    users.emplace(id, std::move(user));
    return id;
  }

  std::map<domain::UserId, domain::User> users;
  domain::UserId next_id = 1;
};

// account_tokens in memory, by digest.
class FakeAccountTokenStore : public domain::AccountTokenStore {
 public:
  void add(std::string_view digest, const domain::AccountToken& token) override {
    tokens.insert_or_assign(std::string(digest), token);
  }
  std::optional<domain::AccountToken> find(std::string_view digest) override {
    const auto found = tokens.find(std::string(digest));
    return found == tokens.end() ? std::nullopt : std::optional(found->second);
  }
  bool take(std::string_view digest) override { return tokens.erase(std::string(digest)) > 0; }
  void remove_for_user(domain::UserId user_id, domain::TokenPurpose purpose) override {
    std::erase_if(tokens, [&](const auto& entry) {
      return entry.second.user_id == user_id && entry.second.purpose == purpose;
    });
  }
  std::size_t prune(std::int64_t now, std::size_t max_rows) override {
    std::size_t erased = 0;
    for (auto entry = tokens.begin(); entry != tokens.end() && erased < max_rows;) {
      if (entry->second.expires_at <= now) {
        entry = tokens.erase(entry);
        ++erased;
      } else {
        ++entry;
      }
    }
    return erased;
  }
  std::map<std::string, domain::AccountToken> tokens;
};

// "hash:<password>", so tests can see what was hashed; counts the hashes (the cost).
class FakePasswordHasher : public domain::PasswordHasher {
 public:
  std::string hash(std::string_view password) const override {
    ++hashes;
    return "hash:" + std::string(password);
  }
  bool verify(std::string_view encoded, std::string_view password) const override {
    return encoded == "hash:" + std::string(password);
  }
  bool needs_rehash(std::string_view) const override { return false; }
  mutable int hashes = 0;
};

// The mail as data: "<kind> to <address>: <link>".
class FakeMailComposer : public domain::MailComposer {
 public:
  domain::MailMessage compose(std::string_view to,
                              const domain::MailContent& content) const override {
    return {std::string(to), "subject " + std::to_string(static_cast<int>(content.kind)),
            "Dear " + content.username + ", " + content.link_path, "<p>html</p>"};
  }
};

}  // namespace authfcgi::testing
