#pragma once

#include <string>

namespace authfcgi::storage {

// Where and how to connect: the configuration file's db_* keys fill it (config::Config holds
// one), and storage reads nothing else of the configuration.
struct DatabaseSettings {
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string unix_socket;  // when set, used instead of host:port
  std::string user = "authfcgi";
  std::string password;
  std::string name = "authfcgi";
};

}  // namespace authfcgi::storage
