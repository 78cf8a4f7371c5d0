#include "web/view/renderer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

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

// The prerendered pages must be byte for byte what a full render gives, for every value a
// request can bring (escaping included), and pages that do not fit must still render fully.
class PrerenderedPagesTest : public ::testing::Test {
 protected:
  static std::vector<Layout> layouts() {
    std::vector<Layout> all;
    for (const char* title : {"Home", "Login", "a<b>&\"c'"}) {
      all.push_back(Layout{title, false, "", {}});
      for (const char* name : {"john", "<script>alert('x')</script>", "\xc3\xa9 &amp;", "", " ",
                               "\t", "authfcgi-slot-1&"}) {
        all.push_back(Layout{title, true, name, {}});
        all.push_back(Layout{title, true, name, {"Flash & <b>bold</b>"}});
      }
      all.push_back(Layout{title, false, "", {"You have been logged out."}});
    }
    return all;
  }

  static std::vector<LoginPage> login_pages() {
    std::vector<LoginPage> all;
    for (const auto& layout : layouts()) {
      for (const char* action : {"/auth/login", "/auth/login?next=%2Fsecret&x=\"1\""}) {
        LoginPage page;
        page.layout = layout;
        page.form_action = action;
        page.csrf_token = "1732460000.c2lnbmF0dXJl";
        all.push_back(page);
        page.email = "paul@example.com";
        all.push_back(page);
        page.email.clear();
        page.remember_me = true;
        all.push_back(page);
        page.remember_me = false;
        page.notice = "Too many failed login attempts.";
        all.push_back(page);
        page.notice.clear();
        page.email_errors = {"Invalid email address."};
        all.push_back(page);
        page.email_errors.clear();
        page.password_errors = {"This field is required."};
        all.push_back(page);
      }
    }
    return all;
  }

  static void expect_same_pages(const std::string& templates_dir) {
    Renderer prerendered(templates_dir, Renderer::Prerender::On);
    Renderer full(templates_dir, Renderer::Prerender::Off);
    for (const auto& layout : layouts()) {
      EXPECT_EQ(prerendered.render(IndexPage{layout}), full.render(IndexPage{layout}))
          << "index for " << layout.title << "/" << layout.username;
      EXPECT_EQ(prerendered.render(SecretPage{layout}), full.render(SecretPage{layout}))
          << "secret for " << layout.title << "/" << layout.username;
    }
    for (const auto& page : login_pages()) {
      EXPECT_EQ(prerendered.render(page), full.render(page))
          << "login for " << page.layout.username << " at " << page.form_action;
    }
  }
};

TEST_F(PrerenderedPagesTest, ShippedTemplatesGiveTheSameBytesAsAFullRender) {
  EXPECT_EQ(Renderer(AUTHFCGI_SOURCE_DIR "/templates").prerendered_pages(), 6U);
  EXPECT_EQ(
      Renderer(AUTHFCGI_SOURCE_DIR "/templates", Renderer::Prerender::Off).prerendered_pages(), 0U);
  expect_same_pages(AUTHFCGI_SOURCE_DIR "/templates");
}

TEST_F(PrerenderedPagesTest, CustomTemplatesWithRawRepeatedOrMarkerLikeTagsStillRenderRight) {
  const auto dir = std::filesystem::temp_directory_path() / "authfcgi-custom-templates";
  std::filesystem::create_directories(dir);
  // Unescaped title, the username twice and in a section, text that looks like a marker.
  std::ofstream(dir / "base.mustache")
      << "<title>{{{title}}}</title>{{#logged_in}}{{username}}|{{#username}}[{{.}}]"
         "{{/username}}{{/logged_in}}{{#flashes}}<p>{{message}}</p>{{/flashes}}{{{body}}}";
  std::ofstream(dir / "index.mustache") << "authfcgi-slot-0& Hello, {{username}}!";
  std::ofstream(dir / "secret.mustache") << "Secret of {{& username}}";
  std::ofstream(dir / "logout.mustache") << "Log out? {{csrf_token}}";
  std::ofstream(dir / "login.mustache")
      << "<form action=\"{{form_action}}\">{{csrf_token}}|{{csrf_token}}"
         "{{#notice}}{{notice}}{{/notice}}<input value=\"{{email}}\"></form>";
  std::ofstream(dir / "error.mustache") << "{{status}} {{heading}}: {{message}}";
  std::ofstream(dir / "account_form.mustache") << "{{heading}}";
  std::ofstream(dir / "unconfirmed.mustache") << "{{csrf_token}}";
  expect_same_pages(dir.string());

  Renderer renderer(dir.string());
  // The raw {{{title}}} in the layout leaves no page fit for prerendering.
  EXPECT_EQ(renderer.prerendered_pages(), 0U);
  EXPECT_THAT(renderer.render(SecretPage{Layout{"S", true, "<i>", {}}}),
              HasSubstr("Secret of <i>"));
  EXPECT_THAT(renderer.render(IndexPage{Layout{"<T>", false, "", {}}}),
              HasSubstr("<title><T></title>"));
  std::filesystem::remove_all(dir);
}

// One Renderer serves every thread of a worker: pages rendered at once from several threads,
// prerendered or not, come out whole and right.
// Templates whose output a cut at the markers cannot follow: a line that only holds a section
// with a value (kainjow drops it when it renders blank), and a layout that escapes the page
// (the markers come out escaped twice). Those pages are rendered fully, and stay right.
TEST_F(PrerenderedPagesTest, PagesTheCutCannotFollowAreRenderedFully) {
  const auto dir = std::filesystem::temp_directory_path() / "authfcgi-unfit-templates";
  std::filesystem::create_directories(dir);
  const auto write_pages = [&dir] {
    std::ofstream(dir / "index.mustache") << "Hello, {{username}}!";
    std::ofstream(dir / "secret.mustache") << "Secret";
    std::ofstream(dir / "logout.mustache") << "Log out? {{csrf_token}}";
    std::ofstream(dir / "login.mustache")
        << "<form action=\"{{form_action}}\">{{csrf_token}}{{#notice}}{{notice}}{{/notice}}</form>";
    std::ofstream(dir / "error.mustache") << "{{status}} {{heading}}: {{message}}";
    std::ofstream(dir / "account_form.mustache") << "{{heading}}";
    std::ofstream(dir / "unconfirmed.mustache") << "{{csrf_token}}";
    std::ofstream(dir / "account_form.mustache") << "{{heading}}";
    std::ofstream(dir / "unconfirmed.mustache") << "{{csrf_token}}";
  };
  write_pages();
  std::ofstream(dir / "base.mustache")
      << "<title>{{title}}</title>\n<ul>\n  {{#logged_in}}{{username}}{{/logged_in}}\n</ul>\n"
         "{{#flashes}}<p>{{message}}</p>{{/flashes}}{{{body}}}\n";
  expect_same_pages(dir.string());
  // The blank-line rule only bites when logged in: the three anonymous pages stay prerendered.
  EXPECT_EQ(Renderer(dir.string()).prerendered_pages(), 3U);

  std::ofstream(dir / "base.mustache")
      << "<title>{{title}}</title>{{#flashes}}<p>{{message}}</p>{{/flashes}}<pre>{{body}}</pre>";
  expect_same_pages(dir.string());
  // Only the secret pages, whose body holds no value, are still prerendered.
  EXPECT_EQ(Renderer(dir.string()).prerendered_pages(), 2U);
  std::filesystem::remove_all(dir);
}

TEST(RendererThreads, PagesRenderedFromManyThreadsAtOnceAreIntact) {
  const Renderer renderer(AUTHFCGI_SOURCE_DIR "/templates");
  LoginPage form;
  form.layout = Layout{"Login", false, "", {}};
  form.form_action = "/auth/login";
  form.csrf_token = "1732460000.dG9rZW4";
  LoginPage failed = form;
  failed.layout.flashes = {"Invalid email or password."};
  failed.email = "paul@example.com";
  const IndexPage greeting{Layout{"Home", true, "john", {"You have been logged in."}}};
  const std::string expected_form = renderer.render(form);
  const std::string expected_failed = renderer.render(failed);
  const std::string expected_greeting = renderer.render(greeting);

  constexpr int kThreads = 4;
  constexpr int kRounds = 300;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        wrong[static_cast<std::size_t>(t)] += renderer.render(form) != expected_form ? 1 : 0;
        wrong[static_cast<std::size_t>(t)] += renderer.render(failed) != expected_failed ? 1 : 0;
        wrong[static_cast<std::size_t>(t)] +=
            renderer.render(greeting) != expected_greeting ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_THAT(wrong, ::testing::Each(0));
  EXPECT_THAT(expected_failed, HasSubstr("Invalid email or password."));
  EXPECT_THAT(expected_greeting, HasSubstr("Hello, john!"));
}

TEST(RendererStartup, BrokenTemplateIsRefusedWithItsName) {
  const auto dir = std::filesystem::temp_directory_path() / "authfcgi-broken-templates";
  std::filesystem::create_directories(dir);
  for (const char* name : {"base", "index", "login", "secret", "logout", "error"}) {
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
