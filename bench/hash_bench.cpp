// Times argon2id verification with the worker's own hasher, to bound the login scenarios of
// scripts/bench: a core can verify at most 1 / (one verify's time) passwords per second.
//
//   authfcgi_hash_bench [--tries N] [--threads P] [--opslimit OPS] [--memlimit BYTES]
//
// Defaults: 20 tries, P = the number of cores, libsodium's interactive limits (the worker's
// default cost). Prints key=value lines: the single-thread median and mean verify time, the
// single-thread rate, and the aggregate rate of P threads verifying at once.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/sodium_init.h"
#include "crypto/sodium_password_hasher.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage =
    "usage: authfcgi_hash_bench [--tries N] [--threads P] [--opslimit OPS] [--memlimit BYTES]\n";
constexpr std::string_view kPassword = "bench password 0123456789";

struct Arguments {
  std::uint64_t tries = 20;
  std::uint64_t threads = std::max(1U, std::thread::hardware_concurrency());
  std::uint64_t opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  std::uint64_t memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
};

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value == 0) {
    return std::nullopt;
  }
  return value;
}

std::optional<Arguments> parse_arguments(const std::vector<std::string_view>& args) {
  Arguments parsed;
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    const auto value = parse_number(args[i + 1]);
    if (!value) {
      return std::nullopt;
    }
    if (args[i] == "--tries") {
      parsed.tries = std::min<std::uint64_t>(*value, 10000);
    } else if (args[i] == "--threads") {
      parsed.threads = std::min<std::uint64_t>(*value, 64);
    } else if (args[i] == "--opslimit") {
      parsed.opslimit = *value;
    } else if (args[i] == "--memlimit") {
      parsed.memlimit = *value;
    } else {
      return std::nullopt;
    }
  }
  if (args.size() % 2 != 0) {
    return std::nullopt;
  }
  return parsed;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every verify must succeed; a failing one would time an early exit, not argon2id.
bool verify_or_report(const authfcgi::crypto::SodiumPasswordHasher& hasher,
                      const std::string& hash) {
  if (!hasher.verify(hash, kPassword)) {
    std::cerr << "authfcgi_hash_bench: verify failed\n";
    return false;
  }
  return true;
}

int run(const Arguments& arguments) {
  authfcgi::crypto::sodium_init_or_throw();
  const authfcgi::crypto::SodiumPasswordHasher hasher(arguments.opslimit,
                                                      static_cast<std::size_t>(arguments.memlimit));
  const std::string hash = hasher.hash(kPassword);
  if (!verify_or_report(hasher, hash)) {  // warm-up: page in the allocator and the code
    return 1;
  }

  std::vector<double> times;
  times.reserve(arguments.tries);
  for (std::uint64_t i = 0; i < arguments.tries; ++i) {
    const auto start = Clock::now();
    if (!verify_or_report(hasher, hash)) {
      return 1;
    }
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  const double median = times.size() % 2 == 1
                            ? times[times.size() / 2]
                            : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
  const double mean =
      std::accumulate(times.begin(), times.end(), 0.0) / static_cast<double>(times.size());

  // The same number of verifies per thread, all threads at once.
  std::atomic<bool> all_ok{true};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(arguments.threads);
  for (std::uint64_t t = 0; t < arguments.threads; ++t) {
    threads.emplace_back([&] {
      for (std::uint64_t i = 0; i < arguments.tries; ++i) {
        if (!verify_or_report(hasher, hash)) {
          all_ok.store(false);
          return;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const double parallel_seconds = seconds_since(start);
  if (!all_ok.load()) {
    return 1;
  }
  const double parallel_rate =
      static_cast<double>(arguments.tries * arguments.threads) / parallel_seconds;

  std::printf("opslimit=%llu\nmemlimit=%llu\ntries=%llu\n",
              static_cast<unsigned long long>(arguments.opslimit),
              static_cast<unsigned long long>(arguments.memlimit),
              static_cast<unsigned long long>(arguments.tries));
  std::printf("verify_ms_median=%.3f\nverify_ms_mean=%.3f\n", median * 1000, mean * 1000);
  std::printf("single_thread_per_s=%.2f\n", 1 / median);
  std::printf("parallel_threads=%llu\nparallel_per_s=%.2f\n",
              static_cast<unsigned long long>(arguments.threads), parallel_rate);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto arguments = parse_arguments(args);
  if (!arguments) {
    std::cerr << kUsage;
    return 2;
  }
  try {
    return run(*arguments);
  } catch (const std::exception& error) {
    std::cerr << "authfcgi_hash_bench: " << error.what() << "\n";
    return 1;
  }
}
