#include "web/router.h"

#include <gtest/gtest.h>

namespace authfcgi::web {
namespace {

TEST(Router, KnownPathsAndMethods) {
  EXPECT_EQ(match_route("GET", "/").route, Route::Index);
  EXPECT_EQ(match_route("HEAD", "/secret").route, Route::Secret);
  EXPECT_TRUE(match_route("HEAD", "/secret").method_allowed);
  EXPECT_TRUE(match_route("POST", "/auth/login").method_allowed);
  EXPECT_EQ(match_route("GET", "/auth/logout").route, Route::Logout);
}

TEST(Router, WrongMethodGivesAllow) {
  const auto post_index = match_route("POST", "/");
  EXPECT_FALSE(post_index.method_allowed);
  EXPECT_EQ(post_index.allow, "GET, HEAD");
  const auto put_login = match_route("PUT", "/auth/login");
  EXPECT_FALSE(put_login.method_allowed);
  EXPECT_EQ(put_login.allow, "GET, HEAD, POST");
}

TEST(Router, UnknownAndNearMissPathsAreNotFound) {
  for (const char* path : {"/nope", "/secret/", "/Secret", "/auth/login/", "//secret", ""}) {
    EXPECT_FALSE(match_route("GET", path).route) << path;
  }
}

}  // namespace
}  // namespace authfcgi::web
