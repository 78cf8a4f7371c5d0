#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/errors.h"
#include "domain/remember_token_store.h"
#include "domain/session_store.h"
#include "domain/user.h"

namespace authfcgi::testing {

// Erases at most max_rows entries of the map whose value matches; how many.
template <typename Map, typename Matches>
std::size_t erase_up_to(Map& map, std::size_t max_rows, Matches matches) {
  std::size_t erased = 0;
  for (auto entry = map.begin(); entry != map.end() && erased < max_rows;) {
    if (matches(entry->second)) {
      entry = map.erase(entry);
      ++erased;
    } else {
      ++entry;
    }
  }
  return erased;
}

// In-memory session rows. Tests look at `rows` ("the row is gone"), not at calls. `users`
// stands in for the users table of the join; `unavailable` makes every call throw as a
// database outage does.
class FakeSessionStore : public domain::SessionStore {
 public:
  struct Row {
    domain::UserId user_id = 0;
    std::int64_t expires_at = 0;
    std::uint64_t seq = 0;
  };

  void create(std::string_view sid_hash, domain::UserId user_id, std::int64_t expires_at) override {
    check();
    rows.insert_or_assign(std::string(sid_hash), Row{user_id, expires_at, ++last_seq_});
  }
  std::optional<domain::CurrentUser> find_user(std::string_view sid_hash,
                                               std::int64_t now) override {
    check();
    const auto row = rows.find(std::string(sid_hash));
    if (row == rows.end() || row->second.expires_at <= now) {
      return std::nullopt;
    }
    const auto user = users.find(row->second.user_id);
    return user == users.end() ? std::nullopt : std::optional(user->second);
  }
  void remove(std::string_view sid_hash) override {
    check();
    rows.erase(std::string(sid_hash));
  }
  void remove_for_user(domain::UserId user_id) override {
    check();
    std::erase_if(rows, [&](const auto& row) { return row.second.user_id == user_id; });
  }
  void trim_for_user(domain::UserId user_id, std::size_t keep, std::int64_t now) override {
    check();
    std::vector<std::uint64_t> seqs;
    for (const auto& [hash, row] : rows) {
      if (row.user_id == user_id) {
        seqs.push_back(row.seq);
      }
    }
    std::sort(seqs.rbegin(), seqs.rend());
    const std::uint64_t first_gone = seqs.size() > keep ? seqs[keep] : 0;
    std::erase_if(rows, [&](const auto& row) {
      return row.second.user_id == user_id &&
             (row.second.expires_at <= now || row.second.seq <= first_gone);
    });
  }

  std::size_t prune(std::int64_t now, std::size_t max_rows) override {
    check();
    return erase_up_to(rows, max_rows, [&](const Row& row) { return row.expires_at <= now; });
  }

  [[nodiscard]] std::size_t count_for(domain::UserId user_id) const {
    return static_cast<std::size_t>(std::count_if(
        rows.begin(), rows.end(), [&](const auto& row) { return row.second.user_id == user_id; }));
  }

  std::map<std::string, Row> rows;  // by sid hash
  std::map<domain::UserId, domain::CurrentUser> users;
  bool unavailable = false;

 private:
  void check() const {
    if (unavailable) {
      throw domain::StorageUnavailable("fake session store: unavailable");
    }
  }
  std::uint64_t last_seq_ = 0;
};

// In-memory remember tokens, by selector; `seq` orders them by issue.
class FakeRememberTokenStore : public domain::RememberTokenStore {
 public:
  void insert(const domain::RememberTokenRecord& record) override {
    check();
    rows.insert_or_assign(record.selector, record);
    seqs[record.selector] = ++last_seq_;
  }
  std::optional<domain::RememberTokenRecord> find(std::string_view selector) override {
    check();
    const auto row = rows.find(std::string(selector));
    return row == rows.end() ? std::nullopt : std::optional(row->second);
  }
  bool mark_used(std::string_view selector, std::int64_t now) override {
    check();
    const auto row = rows.find(std::string(selector));
    if (lose_next_mark_used) {
      lose_next_mark_used = false;  // a parallel request marked it first
      if (row != rows.end()) {
        row->second.used_at = now;
      }
      return false;
    }
    if (row == rows.end() || row->second.used_at != 0) {
      return false;
    }
    row->second.used_at = now;
    return true;
  }
  void remove(std::string_view selector) override {
    check();
    rows.erase(std::string(selector));
  }
  bool remove_unused(std::string_view selector) override {
    check();
    const auto row = rows.find(std::string(selector));
    if (row == rows.end() || row->second.used_at != 0) {
      return false;
    }
    rows.erase(row);
    return true;
  }
  void remove_for_user(domain::UserId user_id) override {
    check();
    std::erase_if(rows, [&](const auto& row) { return row.second.user_id == user_id; });
  }
  // Live tokens by issue order; used ones by how long they had been live, then issue order.
  void trim_for_user(domain::UserId user_id, std::size_t keep, std::int64_t now) override {
    check();
    std::erase_if(rows, [&](const auto& row) {
      return row.second.user_id == user_id && row.second.expires_at <= now;
    });
    for (const bool used : {false, true}) {
      std::vector<std::pair<std::int64_t, std::uint64_t>> ranks;
      for (const auto& [selector, row] : rows) {
        if (row.user_id == user_id && (row.used_at != 0) == used) {
          ranks.emplace_back(rank(row), seqs.at(selector));
        }
      }
      if (ranks.size() <= keep) {
        continue;
      }
      std::sort(ranks.rbegin(), ranks.rend());
      const auto first_gone = ranks[keep];
      std::erase_if(rows, [&](const auto& row) {
        return row.second.user_id == user_id && (row.second.used_at != 0) == used &&
               std::pair(rank(row.second), seqs.at(row.first)) <= first_gone;
      });
    }
  }

  std::size_t prune(std::int64_t now, std::size_t max_rows) override {
    check();
    return erase_up_to(rows, max_rows, [&](const domain::RememberTokenRecord& row) {
      return row.expires_at <= now;
    });
  }

  [[nodiscard]] std::size_t count_for(domain::UserId user_id) const {
    return static_cast<std::size_t>(std::count_if(
        rows.begin(), rows.end(), [&](const auto& row) { return row.second.user_id == user_id; }));
  }

  std::map<std::string, domain::RememberTokenRecord> rows;  // by selector
  bool lose_next_mark_used = false;
  bool unavailable = false;

 private:
  void check() const {
    if (unavailable) {
      throw domain::StorageUnavailable("fake remember token store: unavailable");
    }
  }
  static std::int64_t rank(const domain::RememberTokenRecord& row) {
    return row.used_at != 0 ? row.used_at - row.issued_at : 0;
  }
  std::map<std::string, std::uint64_t> seqs;
  std::uint64_t last_seq_ = 0;
};

}  // namespace authfcgi::testing
