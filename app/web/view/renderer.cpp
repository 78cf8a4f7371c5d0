#include "web/view/renderer.h"

#include "web/view/template_file.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <kainjow/mustache.hpp>

namespace authfcgi::web::view {

kainjow::mustache::mustache parse_template_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error("cannot read template " + path);
  }
  std::ostringstream text;
  text << file.rdbuf();
  kainjow::mustache::mustache parsed(text.str());
  if (!parsed.is_valid()) {
    throw std::runtime_error("invalid template " + path + ": " + parsed.error_message());
  }
  return parsed;
}

namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

mustache load_template(const std::string& dir, std::string_view name) {
  return parse_template_file(dir + "/" + std::string(name) + ".mustache");
}

data message_list(const std::vector<std::string>& messages) {
  data list{data::type::list};
  for (const auto& message : messages) {
    data item;
    item.set("message", message);
    list.push_back(item);
  }
  return list;
}

data layout_data(const Layout& layout) {
  data values;
  values.set("title", layout.title);
  values.set("logged_in", layout.logged_in ? data::type::bool_true : data::type::bool_false);
  values.set("username", layout.username);
  values.set("flashes", message_list(layout.flashes));
  return values;
}

data login_data(const LoginPage& page, bool registration_open) {
  data values = layout_data(page.layout);
  values.set("registration_open",
             registration_open ? data::type::bool_true : data::type::bool_false);
  values.set("form_action", page.form_action);
  values.set("csrf_token", page.csrf_token);
  values.set("email", page.email);
  values.set("remember_me", page.remember_me ? data::type::bool_true : data::type::bool_false);
  values.set("email_errors", message_list(page.email_errors));
  values.set("password_errors", message_list(page.password_errors));
  values.set("email_has_errors",
             page.email_errors.empty() ? data::type::bool_false : data::type::bool_true);
  values.set("password_has_errors",
             page.password_errors.empty() ? data::type::bool_false : data::type::bool_true);
  // An empty string would still open a mustache section.
  if (!page.notice.empty()) {
    values.set("notice", page.notice);
  }
  return values;
}

// The string values a prerendered page leaves open, by index.
enum Slot : std::size_t { kTitle, kUsername, kFormAction, kCsrfToken, kSlotCount };

using SlotValues = std::array<std::string_view, kSlotCount>;

// What stands in for slot N while prerendering. The '&' comes out as "&amp;" only where
// kainjow escapes the value ({{name}}); found unescaped ({{{name}}}, {{& name}}) it makes the
// page unfit for prerendering, since the fill below always escapes.
constexpr std::string_view kMarkerStart = "authfcgi-slot-";
constexpr std::string_view kMarkerEnd = "&";
constexpr std::string_view kEscapedMarkerEnd = "&amp;";

std::string marker(Slot slot) {
  return std::string(kMarkerStart) + std::to_string(static_cast<std::size_t>(slot)) +
         std::string(kMarkerEnd);
}

// A page's output for fixed values except the slots: the texts between them, and which slot
// goes after each text. Kainjow treats every string as true in a section, so a slot's value
// changes what is printed where the marker was printed, and, with some templates, whether a
// line is printed at all: Templates::prerendered checks each page against full renders.
class Prerendered {
 public:
  // nullopt when a marker was not printed escaped (or the template itself has text that looks
  // like one): such a page is always rendered fully.
  static std::optional<Prerendered> cut(std::string_view output) {
    Prerendered page;
    std::size_t from = 0;
    for (auto at = output.find(kMarkerStart); at != std::string_view::npos;
         at = output.find(kMarkerStart, from)) {
      const char* digits = output.data() + at + kMarkerStart.size();
      const char* end = output.data() + output.size();
      std::size_t slot = kSlotCount;
      const auto [after, error] = std::from_chars(digits, end, slot);
      const std::string_view rest(after, static_cast<std::size_t>(end - after));
      if (error != std::errc{} || slot >= kSlotCount || !rest.starts_with(kEscapedMarkerEnd)) {
        return std::nullopt;
      }
      page.texts_.emplace_back(output.substr(from, at - from));
      page.slots_.push_back(slot);
      from = static_cast<std::size_t>(after - output.data()) + kEscapedMarkerEnd.size();
    }
    page.texts_.emplace_back(output.substr(from));
    for (const auto& text : page.texts_) {
      page.fixed_bytes_ += text.size();
    }
    return page;
  }

  // The page with these values, escaped as kainjow escapes {{name}}.
  [[nodiscard]] std::string fill(const SlotValues& values) const {
    std::string out;
    out.reserve(fixed_bytes_ + 2 * slots_.size() * kTypicalValueBytes);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      out += texts_[i];
      out += kainjow::mustache::html_escape(std::string(values[slots_[i]]));
    }
    out += texts_.back();
    return out;
  }

 private:
  static constexpr std::size_t kTypicalValueBytes = 64;
  std::vector<std::string> texts_;
  std::vector<std::size_t> slots_;
  std::size_t fixed_bytes_ = 0;
};

// Whether a page's layout is the prerendered one (which has no flashed message).
bool plain_layout(const Layout& layout) { return layout.flashes.empty(); }

// Whether the login form is the empty one: nothing typed, no error, no notice.
bool plain_login(const LoginPage& page) {
  return plain_layout(page.layout) && page.email.empty() && !page.remember_me &&
         page.email_errors.empty() && page.password_errors.empty() && page.notice.empty();
}

// Values a prerendered page is checked with: blank ones, ones kainjow escapes, one that looks
// like an escaped marker, an ordinary one.
constexpr std::array<std::string_view, 7> kProbeValues = {
    "john", "", " ", "\t", "\n", "<a href=\"x\">&'</a>", "authfcgi-slot-1&amp;"};

Layout layout_with(const SlotValues& values, bool logged_in) {
  return Layout{std::string(values[kTitle]), logged_in, std::string(values[kUsername]), {}};
}

SlotValues layout_values(const Layout& layout) { return {layout.title, layout.username, {}, {}}; }

}  // namespace

struct Renderer::Templates {
  Templates(const std::string& dir, bool registration)
      : registration_open(registration),
        base(load_template(dir, "base")),
        index(load_template(dir, "index")),
        login(load_template(dir, "login")),
        secret(load_template(dir, "secret")),
        logout(load_template(dir, "logout")),
        error(load_template(dir, "error")),
        account_form(load_template(dir, "account_form")),
        unconfirmed(load_template(dir, "unconfirmed")) {}

  bool registration_open;  // the login page links to /auth/register
  mustache base;
  mustache index;
  mustache login;
  mustache secret;
  mustache logout;
  mustache error;
  mustache account_form;
  mustache unconfirmed;

  // Indexed by Layout::logged_in.
  std::array<std::optional<Prerendered>, 2> plain_index;
  std::array<std::optional<Prerendered>, 2> plain_login;
  std::array<std::optional<Prerendered>, 2> plain_secret;

  void prerender() {
    for (const bool logged_in : {false, true}) {
      plain_index.at(logged_in) = prerendered([&](const SlotValues& values) {
        const Layout layout = layout_with(values, logged_in);
        return in_layout(layout, index, layout_data(layout));
      });
      plain_secret.at(logged_in) = prerendered([&](const SlotValues& values) {
        const Layout layout = layout_with(values, logged_in);
        return in_layout(layout, secret, layout_data(layout));
      });
      plain_login.at(logged_in) = prerendered([&](const SlotValues& values) {
        LoginPage page;
        page.layout = layout_with(values, logged_in);
        page.form_action = values[kFormAction];
        page.csrf_token = values[kCsrfToken];
        return in_layout(page.layout, login, login_data(page, registration_open));
      });
    }
  }

  // The page cut at the markers, if fills of it equal full renders for every probe value: a
  // template can make kainjow print a value in ways the cut cannot follow (a line that held a
  // section tag and rendered blank is dropped; {{{body}}} printed escaped escapes the markers
  // twice), and such a page is always rendered fully.
  static std::optional<Prerendered> prerendered(
      const std::function<std::string(const SlotValues&)>& render_full) {
    SlotValues values;
    std::array<std::string, kSlotCount> markers;
    for (std::size_t slot = 0; slot < kSlotCount; ++slot) {
      markers.at(slot) = marker(static_cast<Slot>(slot));
      values.at(slot) = markers.at(slot);
    }
    auto page = Prerendered::cut(render_full(values));
    for (std::size_t probe = 0; page && probe < kProbeValues.size(); ++probe) {
      for (std::size_t slot = 0; slot < kSlotCount; ++slot) {
        values.at(slot) = kProbeValues.at((probe + slot) % kProbeValues.size());
      }
      if (page->fill(values) != render_full(values)) {
        page.reset();
      }
    }
    return page;
  }

  // kainjow's render is neither const nor documented as thread-safe; full renders (pages with
  // a flashed message or a filled-in form) take turns, the prerendered pages need no lock.
  std::mutex full_render_lock;

  // Pages are rendered into the layout's {{{body}}}, the one unescaped tag: its content is
  // our own already-escaped output.
  std::string in_layout(const Layout& layout, mustache& page, const data& page_values) {
    data values = layout_data(layout);
    const std::lock_guard<std::mutex> lock(full_render_lock);
    values.set("body", render_to_string(page, page_values));
    return render_to_string(base, values);
  }

  // Appends into one reserved string (kainjow's own render(data) goes through an ostringstream).
  static std::string render_to_string(mustache& view, const data& values) {
    constexpr std::size_t kTypicalPageBytes = 4096;
    std::string out;
    out.reserve(kTypicalPageBytes);
    view.render(values, [&out](const std::string& piece) { out += piece; });
    return out;
  }

  std::string layout_page(const Layout& layout, mustache& page,
                          const std::array<std::optional<Prerendered>, 2>& plain) {
    if (const auto& prerendered = plain.at(layout.logged_in); prerendered && plain_layout(layout)) {
      return prerendered->fill(layout_values(layout));
    }
    return in_layout(layout, page, layout_data(layout));
  }
};

Renderer::Renderer(const std::string& templates_dir, Prerender prerender, bool registration_open)
    : templates_(std::make_unique<Templates>(templates_dir, registration_open)) {
  if (prerender == Prerender::On) {
    templates_->prerender();
  }
}

Renderer::~Renderer() = default;

std::size_t Renderer::prerendered_pages() const {
  std::size_t count = 0;
  for (const auto* pages :
       {&templates_->plain_index, &templates_->plain_login, &templates_->plain_secret}) {
    for (const auto& page : *pages) {
      count += page.has_value() ? 1U : 0U;
    }
  }
  return count;
}

std::string Renderer::render(const IndexPage& page) const {
  return templates_->layout_page(page.layout, templates_->index, templates_->plain_index);
}

std::string Renderer::render(const LoginPage& page) const {
  if (const auto& prerendered = templates_->plain_login.at(page.layout.logged_in);
      prerendered && plain_login(page)) {
    auto values = layout_values(page.layout);
    values[kFormAction] = page.form_action;
    values[kCsrfToken] = page.csrf_token;
    return prerendered->fill(values);
  }
  return templates_->in_layout(page.layout, templates_->login,
                               login_data(page, templates_->registration_open));
}

std::string Renderer::render(const SecretPage& page) const {
  return templates_->layout_page(page.layout, templates_->secret, templates_->plain_secret);
}

std::string Renderer::render(const LogoutPage& page) const {
  data values = layout_data(page.layout);
  values.set("csrf_token", page.csrf_token);
  return templates_->in_layout(page.layout, templates_->logout, values);
}

std::string Renderer::render(const ErrorPage& page) const {
  data values = layout_data(page.layout);
  values.set("status", std::to_string(page.status));
  values.set("heading", page.heading);
  values.set("message", page.message);
  return templates_->in_layout(page.layout, templates_->error, values);
}

std::string Renderer::render(const AccountFormPage& page) const {
  data values = layout_data(page.layout);
  values.set("heading", page.heading);
  if (!page.intro.empty()) {
    values.set("intro", page.intro);
  }
  values.set("form_action", page.form_action);
  values.set("csrf_token", page.csrf_token);
  values.set("submit_label", page.submit_label);
  const auto first_error =
      std::find_if(page.fields.begin(), page.fields.end(),
                   [](const FormField& field) { return !field.errors.empty(); });
  const auto focused = first_error == page.fields.end() ? page.fields.begin() : first_error;
  data fields{data::type::list};
  for (auto field = page.fields.begin(); field != page.fields.end(); ++field) {
    data item;
    item.set("name", field->name);
    item.set("label", field->label);
    item.set("type", field->type);
    item.set("value", field->value);
    item.set("autocomplete", field->autocomplete);
    item.set("errors", message_list(field->errors));
    item.set("has_errors", field->errors.empty() ? data::type::bool_false : data::type::bool_true);
    item.set("autofocus", field == focused ? data::type::bool_true : data::type::bool_false);
    fields.push_back(item);
  }
  values.set("fields", fields);
  return templates_->in_layout(page.layout, templates_->account_form, values);
}

std::string Renderer::render(const UnconfirmedPage& page) const {
  data values = layout_data(page.layout);
  values.set("csrf_token", page.csrf_token);
  return templates_->in_layout(page.layout, templates_->unconfirmed, values);
}

}  // namespace authfcgi::web::view
