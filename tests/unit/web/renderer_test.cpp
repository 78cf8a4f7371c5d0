#include "web/view/renderer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace authfcgi::web::view {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RendererTest : public ::testing::Test {
 protected:
  Renderer renderer_{AUTHFCGI_SOURCE_DIR "/templates"};
};

TEST_F(RendererTest, AnonymousIndexGreetsAnonymousWithLogInLink) {
  const auto html = renderer_.render(IndexPage{Layout{"Home", false, "", {}}});
  EXPECT_THAT(html, HasSubstr("Hello, Anonymous!"));
  EXPECT_THAT(html, HasSubstr(R"(<a href="/auth/login">Log In</a>)"));
  EXPECT_THAT(html, Not(HasSubstr("Log Out")));
}

TEST_F(RendererTest, LoggedInIndexGreetsUserWithLogOutLink) {
  const auto html = renderer_.render(IndexPage{Layout{"Home", true, "john", {}}});
  EXPECT_THAT(html, HasSubstr("Hello, john!"));
  EXPECT_THAT(html, HasSubstr(R"(<a href="/auth/logout">Log Out</a>)"));
}

TEST_F(RendererTest, UsernameAndFlashesAreEscaped) {
  const auto html = renderer_.render(
      IndexPage{Layout{"Home", true, "<script>alert(1)</script>", {"<b>flash</b>"}}});
  EXPECT_THAT(html, Not(HasSubstr("<script>alert(1)")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;flash&lt;/b&gt;"));
}

TEST_F(RendererTest, LoginFormHasTheLessonsFields) {
  LoginPage page;
  page.form_action = "/auth/login?next=%2Fsecret";
  page.csrf_token = "123.abc";
  page.email = "\"><script>";
  page.email_errors = {"Invalid email address."};
  const auto html = renderer_.render(page);
  EXPECT_THAT(html, HasSubstr(R"(name="csrf_token" type="hidden" value="123.abc")"));
  EXPECT_THAT(html, HasSubstr(R"(name="email")"));
  EXPECT_THAT(html, HasSubstr(R"(name="password" required type="password" value="")"));
  EXPECT_THAT(html, HasSubstr(R"(name="remember_me" type="checkbox" value="y")"));
  EXPECT_THAT(html, HasSubstr(R"(type="submit" value="Log In")"));
  EXPECT_THAT(html, HasSubstr(R"(action="/auth/login?next=%2Fsecret")"));
  EXPECT_THAT(html, HasSubstr("value=\"&quot;&gt;&lt;script&gt;\""));
  EXPECT_THAT(html, HasSubstr("Invalid email address."));
}

TEST(RendererStartup, BrokenTemplateIsRefusedWithItsName) {
  const auto dir = std::filesystem::temp_directory_path() / "authfcgi-broken-templates";
  std::filesystem::create_directories(dir);
  for (const char* name : {"base", "index", "login", "secret", "error"}) {
    std::ofstream(dir / (std::string(name) + ".mustache")) << "ok {{#open}} never closed";
  }
  try {
    Renderer renderer(dir.string());
    FAIL() << "a broken template was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("base.mustache"));
  }
  std::filesystem::remove_all(dir);
}

TEST(RendererStartup, MissingDirectoryIsRefused) {
  EXPECT_THROW(Renderer("/nonexistent/authfcgi/templates"), std::runtime_error);
}

}  // namespace
}  // namespace authfcgi::web::view
