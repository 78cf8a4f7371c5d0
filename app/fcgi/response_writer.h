#pragma once

#include <string>
#include <string_view>

#include "web/response.h"

struct FCGX_Stream;

namespace authfcgi::fcgi {

// HEAD is answered like GET without the body.
enum class IncludeBody { No, Yes };

// "Status: 200 OK\r\n", the headers, "\r\n", then the body (unless IncludeBody::No). CR, LF
// and NUL are stripped from header names and values so no header can be split. Content-Length
// is the writer's alone (one the response carries is dropped): the body's size, also for HEAD,
// where the body is not sent. Pure.
[[nodiscard]] std::string format_response(const web::Response& response, IncludeBody include_body);
// What goes before the body: the same for GET and HEAD.
[[nodiscard]] std::string format_head(const web::Response& response);

// The reason phrase for a status ("Not Found"); "Unknown" for codes we never send.
[[nodiscard]] std::string_view reason_phrase(int status);

// format_response written to out (the body straight from the response, not copied). Returns
// false when the web server went away.
bool write_response(FCGX_Stream* out, const web::Response& response, IncludeBody include_body);

}  // namespace authfcgi::fcgi
