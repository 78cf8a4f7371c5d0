#include "cli/password_prompt.h"

#include <pthread.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <istream>
#include <ostream>
#include <utility>

namespace authfcgi::cli {
namespace {

// Turns echo off for its lifetime. Signals that would end the process are held back until
// after the terminal is restored, so an interrupted prompt never leaves a terminal without
// echo.
class NoEchoTerminal {
 public:
  explicit NoEchoTerminal(int fd) : fd_(fd) {
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGQUIT);
    sigaddset(&held, SIGTSTP);
    sigaddset(&held, SIGHUP);
    signals_held_ = ::pthread_sigmask(SIG_BLOCK, &held, &old_mask_) == 0;
    if (::tcgetattr(fd_, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      quiet.c_lflag |= ECHONL;  // still echo the Enter, so the next output starts a new line
      restore_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~NoEchoTerminal() {
    if (restore_) {
      ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    }
    if (signals_held_) {
      ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    }
  }
  NoEchoTerminal(const NoEchoTerminal&) = delete;
  NoEchoTerminal& operator=(const NoEchoTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  sigset_t old_mask_{};
  bool restore_ = false;
  bool signals_held_ = false;
};

std::optional<std::string> read_line(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

std::optional<std::string> prompt_line(int fd, std::istream& in, std::ostream& prompt_out,
                                       const char* prompt) {
  prompt_out << prompt << std::flush;
  const NoEchoTerminal no_echo(fd);
  return read_line(in);
}

}  // namespace

PasswordInput read_password(int fd, std::istream& in, std::ostream& prompt_out,
                            ConfirmPassword confirm) {
  PasswordInput result;
  if (::isatty(fd) == 0) {
    result.password = read_line(in);
    if (!result.password) {
      result.problem = "no password on standard input";
    }
    return result;
  }
  auto first = prompt_line(fd, in, prompt_out, "Password: ");
  if (!first) {
    result.problem = "no password entered";
    return result;
  }
  if (confirm == ConfirmPassword::Yes) {
    auto second = prompt_line(fd, in, prompt_out, "Repeat password: ");
    if (!second || *second != *first) {
      result.problem = "the passwords do not match";
      return result;
    }
  }
  result.password = std::move(first);
  return result;
}

}  // namespace authfcgi::cli
