#include "fcgi/server.h"

#include <arpa/inet.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "fcgi/request_reader.h"
#include "fcgi/response_writer.h"

namespace authfcgi::fcgi {
namespace {

// One write per line so lines of several threads never interleave.
void log_line(const std::string& text) {
  const std::string line = "authfcgi: " + text + "\n";
  std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
  std::cerr.flush();
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// How long a thread waits without a connection before it hands the memory freed since the
// last request back to the kernel (glibc keeps freed heap pages otherwise).
constexpr int kIdleTrimMilliseconds = 1000;

// What the worker threads and the signal thread share for one run().
struct StopState {
  std::atomic<bool> stopping{false};
  std::atomic<bool> failed{false};
  // Set by every request, cleared by the one idle thread that trims the heap afterwards.
  std::atomic<bool> trim_pending{false};
  UniqueFd wake{-1};  // an eventfd: once written it stays readable, waking every waiter

  explicit StopState(int event_fd) : wake(event_fd) {}

  void request_stop() {
    stopping.store(true);
    const std::uint64_t one = 1;
    // A full counter still leaves the fd readable, which is all the waiters need.
    [[maybe_unused]] auto ignored = ::write(wake.get(), &one, sizeof one);
  }
};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

bool is_unix_path(const std::string& listen) {
  return listen.find('/') != std::string::npos || listen.find(':') == std::string::npos;
}

int open_listen_socket(const ServerOptions& options) {
  if (options.listen.empty()) {
    return 0;  // spawn-fcgi hands the listening socket over on fd 0
  }
  // FCGX_OpenSocket removes a stale socket file before binding.
  const int fd = FCGX_OpenSocket(options.listen.c_str(), options.backlog);
  if (fd < 0) {
    throw std::runtime_error("cannot listen on " + options.listen);
  }
  if (is_unix_path(options.listen) && ::chmod(options.listen.c_str(), 0660) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot set the mode of " + options.listen);
  }
  return fd;
}

// An authorizer listener is TCP (mod_authnz_fcgi has no unix sockets); anyone who can reach
// it can ask who holds a session cookie, so it belongs on loopback. Said once at start.
void warn_unless_loopback(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    return;
  }
  bool loopback = true;
  if (address.ss_family == AF_INET) {
    const auto* ipv4 = reinterpret_cast<const sockaddr_in*>(&address);
    loopback = (ntohl(ipv4->sin_addr.s_addr) >> 24U) == 127U;
  } else if (address.ss_family == AF_INET6) {
    const auto* ipv6 = reinterpret_cast<const sockaddr_in6*>(&address);
    loopback = IN6_IS_ADDR_LOOPBACK(&ipv6->sin6_addr) != 0;
  }
  if (!loopback) {
    log_line(
        "warning: the AUTHORIZER listener is not on a loopback address; bind it to 127.0.0.1 "
        "(docs/deployment.md, Apache)");
  }
}

void check_listening(int fd, const ServerOptions& options) {
  int accepting = 0;
  socklen_t size = sizeof accepting;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) != 0 || accepting == 0) {
    throw std::runtime_error(
        options.listen.empty()
            ? "fd 0 is not a listening socket: start authfcgi with spawn-fcgi or pass --socket"
            : "the socket " + options.listen + " is not listening");
  }
}

// Several threads (and, under spawn-fcgi -F, several processes) wait on one socket. Each
// waits in epoll together with the stop eventfd, so SIGTERM wakes it without touching the
// shared socket (a shutdown() would stop the sibling processes too). Non-blocking accept
// means a thread that lost the race for a connection goes back to waiting instead of blocking
// in accept() where no stop could reach it. Accepted sockets do not inherit O_NONBLOCK.
void make_non_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw std::runtime_error(std::string("cannot configure the listening socket: ") +
                             std::strerror(errno));
  }
}

web::Response last_resort_500() {
  web::Response response;
  response.status = 500;
  response.add_header("Content-Type", "text/plain; charset=utf-8");
  response.add_header("Cache-Control", "no-store");
  response.body = "Internal Server Error\n";
  return response;
}

web::Response safe_reject(const WorkerHandlers& handlers, int status) {
  try {
    return handlers.reject(status);
  } catch (const std::exception& error) {
    log_line(std::string("error page failed: ") + error.what());
  } catch (...) {
    log_line("error page failed");
  }
  return last_resort_500();
}

web::Response answer(FCGX_Request& request, const Params& params, const WorkerHandlers& handlers,
                     const RequestLimits& limits) {
  try {
    auto parsed = read_request(
        params, [&request](std::size_t length) { return read_body(request.in, length); }, limits);
    if (const auto* status = std::get_if<int>(&parsed)) {
      return safe_reject(handlers, *status);
    }
    return handlers.handle(std::get<web::Request>(parsed));
  } catch (const std::exception& error) {
    log_line(std::string("request failed: ") + error.what());
  } catch (...) {
    log_line("request failed with an unknown exception");
  }
  return safe_reject(handlers, 500);
}

std::string_view role_name(FastcgiRole role) {
  return role == FastcgiRole::Authorizer ? "AUTHORIZER" : "RESPONDER";
}

// A request in a role this listener does not answer: refused before anything reads it.
web::Response wrong_role(std::string_view requested, FastcgiRole role) {
  log_line("refused a FastCGI " + std::string(requested.empty() ? "unknown" : requested) +
           " request: this listener answers " + std::string(role_name(role)) + " requests only");
  web::Response response;
  response.status = 403;
  response.add_header("Content-Type", "text/plain; charset=utf-8");
  response.add_header("Cache-Control", "no-store");
  response.body = "This authfcgi listener answers FastCGI " + std::string(role_name(role)) +
                  " requests only.\n";
  return response;
}

void serve_one(FCGX_Request& request, const WorkerHandlers& handlers, const RequestLimits& limits,
               FastcgiRole role) {
  const auto params = params_from_envp(request.envp);
  const auto requested = params.get("FCGI_ROLE");
  if (requested != role_name(role)) {
    write_response(request.out, wrong_role(requested, role), IncludeBody::Yes);
    return;
  }
  const auto response = answer(request, params, handlers, limits);
  // An authorizer's answer to a HEAD is still read whole: its body is what the browser gets.
  const bool is_head = role == FastcgiRole::Responder && params.get("REQUEST_METHOD") == "HEAD";
  write_response(request.out, response, is_head ? IncludeBody::No : IncludeBody::Yes);
}

void worker_loop(int listen_fd, StopState& state, const HandlerFactory& factory,
                 const RequestLimits& limits, FastcgiRole role) {
  WorkerHandlers handlers;
  try {
    handlers = factory();
  } catch (const std::exception& error) {
    log_line(std::string("worker setup failed: ") + error.what());
    state.failed.store(true);
    state.request_stop();
    return;
  }

  FCGX_Request request;
  if (FCGX_InitRequest(&request, listen_fd, 0) != 0) {
    log_line("FCGX_InitRequest failed");
    state.failed.store(true);
    state.request_stop();
    return;
  }
  // One epoll instance per thread. EPOLLEXCLUSIVE on the shared listening socket makes the
  // kernel wake one waiter per new connection instead of every thread of every process (a
  // thundering herd that cost a context switch per thread and request); the stop eventfd
  // wakes them all.
  const UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event listen_event{};
  listen_event.events = EPOLLIN | EPOLLEXCLUSIVE;
  listen_event.data.fd = listen_fd;
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = state.wake.get();
  if (epoll.get() < 0 || ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, listen_fd, &listen_event) != 0 ||
      ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, state.wake.get(), &wake_event) != 0) {
    log_line(std::string("epoll set-up failed: ") + std::strerror(errno));
    state.failed.store(true);
    state.request_stop();
    FCGX_Free(&request, 1);
    return;
  }
  bool served_since_wait = false;
  while (!state.stopping.load()) {
    std::array<epoll_event, 2> ready{};
    // After a request, wake once if nothing else comes, to return freed heap pages: an idle
    // worker then holds only what it uses (the pages of a burst of requests or logins would
    // otherwise stay in its RSS). A thread that has served nothing just waits.
    const int timeout = served_since_wait ? kIdleTrimMilliseconds : -1;
    const int count =
        ::epoll_wait(epoll.get(), ready.data(), static_cast<int>(ready.size()), timeout);
    served_since_wait = false;
    if (count == 0) {
      if (state.trim_pending.exchange(false)) {
        ::malloc_trim(0);
      }
      continue;
    }
    if (count < 0) {
      if (errno == EINTR) {
        continue;
      }
      log_line(std::string("epoll_wait failed: ") + std::strerror(errno));
      state.failed.store(true);
      state.request_stop();
      break;
    }
    bool stop = false;
    bool connection_waiting = false;
    for (int i = 0; i < count; ++i) {
      const auto& event = ready[static_cast<std::size_t>(i)];
      if (event.data.fd == state.wake.get()) {
        stop = true;
      } else if ((event.events & (EPOLLERR | EPOLLHUP)) != 0) {
        log_line("the listening socket failed");
        state.failed.store(true);
        state.request_stop();
        stop = true;
      } else {
        connection_waiting = true;
      }
    }
    if (stop) {
      break;
    }
    if (!connection_waiting) {
      continue;
    }
    const int accepted = FCGX_Accept_r(&request);
    if (accepted < 0) {
      if (accepted != -EAGAIN && accepted != -EWOULDBLOCK && accepted != -EINTR) {
        log_line("accept failed: " + std::string(std::strerror(-accepted)));
        // Do not spin on a persistent error; a transient one (EMFILE) may clear.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    serve_one(request, handlers, limits, role);
    FCGX_Finish_r(&request);
    served_since_wait = true;
    state.trim_pending.store(true, std::memory_order_relaxed);
    // One request per connection: with a kept-alive connection this thread would block
    // reading it while the web server holds it idle, and SIGTERM could not reach it.
    FCGX_Free(&request, 1);
  }
  FCGX_Free(&request, 1);
}

}  // namespace

void hold_stop_signals() {
  const sigset_t set = stop_signals();
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::runtime_error("pthread_sigmask failed");
  }
}

Server::Server(ServerOptions options, HandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

int Server::run() {
  if (FCGX_Init() != 0) {
    throw std::runtime_error("FCGX_Init failed");
  }
  // Close a socket we opened ourselves on every path; fd 0 belongs to spawn-fcgi.
  const int listen_fd = open_listen_socket(options_);
  const UniqueFd owned_listen(options_.listen.empty() ? -1 : listen_fd);
  check_listening(listen_fd, options_);
  make_non_blocking(listen_fd);
  if (options_.role == FastcgiRole::Authorizer) {
    warn_unless_loopback(listen_fd);
  }

  const int event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd < 0) {
    throw std::runtime_error("eventfd failed");
  }
  StopState state(event_fd);

  // Block the stop signals (and SIGPIPE: a web server that hangs up must not kill us) before
  // any thread starts, so all threads inherit the mask and only sigwait() below sees them.
  sigset_t blocked = stop_signals();
  sigaddset(&blocked, SIGPIPE);
  if (::pthread_sigmask(SIG_BLOCK, &blocked, nullptr) != 0) {
    throw std::runtime_error("pthread_sigmask failed");
  }

  const RequestLimits limits{options_.max_body_bytes, RequestLimits{}.max_header_bytes};
  const unsigned thread_count = options_.threads == 0 ? 1 : options_.threads;

  std::thread signal_thread([&state] {
    const sigset_t wait_for = stop_signals();
    int signal_number = 0;
    while (::sigwait(&wait_for, &signal_number) != 0) {
    }
    if (!state.stopping.load()) {
      log_line(std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
               ", finishing requests in flight");
    }
    state.request_stop();
  });

  std::vector<std::thread> workers;
  workers.reserve(thread_count);
  for (unsigned i = 0; i < thread_count; ++i) {
    workers.emplace_back(
        [&, listen_fd] { worker_loop(listen_fd, state, factory_, limits, options_.role); });
  }
  log_line("listening on " + (options_.listen.empty() ? std::string("fd 0") : options_.listen) +
           ", " + std::to_string(thread_count) + " threads, FastCGI " +
           std::string(role_name(options_.role)) + " requests");

  for (auto& worker : workers) {
    worker.join();
  }
  // When a worker failed rather than a signal arriving, wake the signal thread ourselves.
  if (state.failed.load()) {
    ::pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  log_line("stopped");
  return state.failed.load() ? 1 : 0;
}

}  // namespace authfcgi::fcgi
