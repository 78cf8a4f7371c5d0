#pragma once

#include <string>
#include <utility>

#include "web/request.h"

namespace authfcgi::testing {

// A fluent web::Request for handler tests: RequestBuilder().post("/auth/login").form(...).
class RequestBuilder {
 public:
  RequestBuilder& get(std::string path) { return method("GET", std::move(path)); }
  RequestBuilder& head(std::string path) { return method("HEAD", std::move(path)); }
  RequestBuilder& post(std::string path) { return method("POST", std::move(path)); }
  RequestBuilder& method(std::string verb, std::string path) {
    request_.method = std::move(verb);
    request_.path = std::move(path);
    return *this;
  }
  RequestBuilder& query(std::string name, std::string value) {
    request_.query[std::move(name)] = std::move(value);
    return *this;
  }
  RequestBuilder& cookie(std::string name, std::string value) {
    request_.cookies[std::move(name)] = std::move(value);
    return *this;
  }
  RequestBuilder& field(std::string name, std::string value) {
    request_.form[std::move(name)] = std::move(value);
    return *this;
  }
  // name in lower case, as request_reader gives it.
  RequestBuilder& header(std::string name, std::string value) {
    request_.headers[std::move(name)] = std::move(value);
    return *this;
  }
  RequestBuilder& https() {
    request_.is_https = true;
    return *this;
  }
  RequestBuilder& from(std::string address) {
    request_.remote_addr = std::move(address);
    return *this;
  }
  // AUTHFCGI_REQUIRE_GROUP, as a protected location's web server configuration sets it.
  RequestBuilder& require_group(std::string groups) {
    request_.require_group = std::move(groups);
    return *this;
  }
  // The gateway's call, as nginx's snippet or Apache's authorizer marks it.
  RequestBuilder& gateway(web::GatewayCall call = web::GatewayCall::AuthRequest) {
    request_.gateway = call;
    return *this;
  }
  [[nodiscard]] web::Request build() const { return request_; }

 private:
  web::Request request_{"GET", "/", {}, {}, {}, {}, "127.0.0.1", false, {}};
};

}  // namespace authfcgi::testing
