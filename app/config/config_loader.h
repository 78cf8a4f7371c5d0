#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace authfcgi::config {

using Environment = std::map<std::string, std::string>;

// The worker refuses to start without a strong secret; authctl never signs anything and so
// may run with a configuration that has none.
enum class SecretRequirement { Required, Optional };

struct LoadResult {
  std::optional<Config> config;       // set when errors is empty
  std::vector<std::string> errors;    // one human-readable line each; never a secret's value
  std::vector<std::string> warnings;  // to print at start (old key names); never a value
};

// Parses a flat "key = value" file ('#' comments, blank lines) and applies the AUTHFCGI_*
// overrides from env. Unknown keys, repeated keys, bad numbers and booleans, and a secret
// shorter than 32 bytes are errors. Pure: reads no file and no process state.
[[nodiscard]] LoadResult load_config(std::string_view file_text, const Environment& env,
                                     SecretRequirement secret = SecretRequirement::Required);

// Reads the file at path, then as load_config. An unreadable file is an error.
[[nodiscard]] LoadResult load_config_file(const std::string& path, const Environment& env,
                                          SecretRequirement secret = SecretRequirement::Required);

// A copy of the process environment (for the composition roots only).
[[nodiscard]] Environment capture_environment();

}  // namespace authfcgi::config
