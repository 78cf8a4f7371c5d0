#pragma once

#include <map>
#include <string>

namespace authfcgi::web {

// How the auth gateway's verify was called, as the web server's configuration (never a client)
// says: a request for /auth/verify without either is a client's, and gets 404.
enum class GatewayCall {
  None,
  // nginx's auth_request subrequest: the snippet's location sets AUTHFCGI_GATEWAY=auth_request.
  AuthRequest,
  // Apache's mod_authnz_fcgi: a FastCGI AUTHORIZER request (FCGI_ROLE), for any protected URI.
  Authorizer,
};

// One HTTP request as the handlers see it: already parsed and within limits.
// Header names are lower-case with '-' (e.g. "content-type"); query and form values are
// percent-decoded, valid UTF-8 without NUL; the first of repeated names wins.
struct Request {
  std::string method;  // "GET", "POST", "HEAD", ...
  std::string path;    // the path part of REQUEST_URI, as sent (not decoded)
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> cookies;
  std::map<std::string, std::string> form;
  std::string remote_addr;
  bool is_https = false;
  // AUTHFCGI_REQUIRE_GROUP: the groups a protected location requires, set by the web server's
  // configuration (never by a client: client headers arrive as HTTP_*).
  std::string require_group;
  GatewayCall gateway = GatewayCall::None;
};

}  // namespace authfcgi::web
