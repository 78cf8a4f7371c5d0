// The ceiling for any FastCGI application on this machine: the same process and thread model
// as authfcgi (spawn-fcgi hands over the listening socket on fd 0; N threads, each with its own
// FCGX_Request, accepting with FCGX_Accept_r), but no work per request. Every request gets the
// same bytes: a response captured from a real authfcgi at bench start (CGI "Status:" line,
// headers, blank line, body), read once at start-up.
//
//   authfcgi_ceiling --response FILE [--threads N]
//
// SIGTERM ends the process at once (there is nothing to drain).
#include <fcgiapp.h>

#include <charconv>
#include <climits>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr std::string_view kUsage = "usage: authfcgi_ceiling --response FILE [--threads N]\n";

struct Arguments {
  std::string response_path;
  unsigned threads = 4;
};

std::optional<unsigned> parse_count(std::string_view text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value == 0 || value > 1024) {
    return std::nullopt;
  }
  return value;
}

std::optional<Arguments> parse_arguments(const std::vector<std::string_view>& args) {
  Arguments parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i + 1 >= args.size()) {
      return std::nullopt;
    }
    const std::string_view value = args[i + 1];
    if (args[i] == "--response") {
      parsed.response_path = std::string(value);
    } else if (args[i] == "--threads") {
      const auto threads = parse_count(value);
      if (!threads) {
        return std::nullopt;
      }
      parsed.threads = *threads;
    } else {
      return std::nullopt;
    }
    ++i;
  }
  if (parsed.response_path.empty()) {
    return std::nullopt;
  }
  return parsed;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return std::nullopt;
  }
  return text;
}

// What authfcgi's worker loop does minus the application: accept, drain the request body
// (nginx expects it read), write the response, finish.
void serve(const std::string& response) {
  FCGX_Request request;
  if (FCGX_InitRequest(&request, 0, 0) != 0) {
    std::cerr << "authfcgi_ceiling: FCGX_InitRequest failed\n";
    return;
  }
  const int length = static_cast<int>(response.size());
  char sink[4096];
  while (FCGX_Accept_r(&request) >= 0) {
    while (FCGX_GetStr(sink, static_cast<int>(sizeof sink), request.in) > 0) {
    }
    FCGX_PutStr(response.data(), length, request.out);
    FCGX_Finish_r(&request);
  }
  std::cerr << "authfcgi_ceiling: accept failed; thread ends\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto arguments = parse_arguments(args);
  if (!arguments) {
    std::cerr << kUsage;
    return 2;
  }
  const auto response = read_file(arguments->response_path);
  if (!response || response->empty() || response->size() > INT_MAX) {
    std::cerr << "authfcgi_ceiling: cannot read a response from " << arguments->response_path
              << "\n";
    return 2;
  }
  if (FCGX_Init() != 0 || FCGX_IsCGI() != 0) {
    std::cerr << "authfcgi_ceiling: fd 0 is not a FastCGI listening socket (use spawn-fcgi)\n";
    return 2;
  }
  // libfcgi installs a SIGTERM handler that only flags a shutdown while accept() restarts;
  // the ceiling has nothing to drain, so SIGTERM ends it at once.
  std::signal(SIGTERM, SIG_DFL);
  std::vector<std::thread> threads;
  threads.reserve(arguments->threads);
  for (unsigned i = 0; i < arguments->threads; ++i) {
    threads.emplace_back([&response] { serve(*response); });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  return 1;
}
