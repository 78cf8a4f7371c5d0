#include "web/view/renderer.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <kainjow/mustache.hpp>

namespace authfcgi::web::view {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

mustache load_template(const std::string& dir, std::string_view name) {
  const std::string path = dir + "/" + std::string(name) + ".mustache";
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error("cannot read template " + path);
  }
  std::ostringstream text;
  text << file.rdbuf();
  mustache parsed(text.str());
  if (!parsed.is_valid()) {
    throw std::runtime_error("invalid template " + path + ": " + parsed.error_message());
  }
  return parsed;
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

}  // namespace

struct Renderer::Templates {
  mustache base;
  mustache index;
  mustache login;
  mustache secret;
  mustache error;

  // Pages are rendered into the layout's {{{body}}}, the one unescaped tag: its content is
  // our own already-escaped output.
  std::string in_layout(const Layout& layout, mustache& page, const data& page_values) {
    data values = layout_data(layout);
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
};

Renderer::Renderer(const std::string& templates_dir)
    : templates_(std::make_unique<Templates>(
          Templates{load_template(templates_dir, "base"), load_template(templates_dir, "index"),
                    load_template(templates_dir, "login"), load_template(templates_dir, "secret"),
                    load_template(templates_dir, "error")})) {}

Renderer::~Renderer() = default;

std::string Renderer::render(const IndexPage& page) {
  return templates_->in_layout(page.layout, templates_->index, layout_data(page.layout));
}

std::string Renderer::render(const LoginPage& page) {
  data values = layout_data(page.layout);
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
  return templates_->in_layout(page.layout, templates_->login, values);
}

std::string Renderer::render(const SecretPage& page) {
  return templates_->in_layout(page.layout, templates_->secret, layout_data(page.layout));
}

std::string Renderer::render(const ErrorPage& page) {
  data values = layout_data(page.layout);
  values.set("status", std::to_string(page.status));
  values.set("heading", page.heading);
  values.set("message", page.message);
  return templates_->in_layout(page.layout, templates_->error, values);
}

}  // namespace authfcgi::web::view
