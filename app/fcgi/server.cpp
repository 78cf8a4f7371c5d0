#include "fcgi/server.h"

#include <arpa/inet.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
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
  void release() { fd_ = -1; }

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
  // Bumped by each accepted reload: a worker thread whose handlers are older makes new ones.
  std::atomic<std::uint64_t> generation{0};

  explicit StopState(int event_fd) : wake(event_fd) {}

  void request_stop() {
    stopping.store(true);
    const std::uint64_t one = 1;
    // A full counter still leaves the fd readable, which is all the waiters need.
    [[maybe_unused]] auto ignored = ::write(wake.get(), &one, sizeof one);
  }
};

// SIGTERM/SIGINT stop, SIGHUP reloads; all three are taken by the signal thread's sigwait.
sigset_t held_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
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

// Returns the answer's status.
int serve_one(FCGX_Request& request, const WorkerHandlers& handlers, const RequestLimits& limits,
              FastcgiRole role) {
  const auto params = params_from_envp(request.envp);
  const auto requested = params.get("FCGI_ROLE");
  if (requested != role_name(role)) {
    // Whoever sent it gets no kept connection to send more on.
    request.keepConnection = 0;
    const auto refusal = wrong_role(requested, role);
    write_response(request.out, refusal, IncludeBody::Yes);
    return refusal.status;
  }
  const auto response = answer(request, params, handlers, limits);
  // An authorizer's answer to a HEAD is still read whole: its body is what the browser gets.
  const bool is_head = role == FastcgiRole::Responder && params.get("REQUEST_METHOD") == "HEAD";
  write_response(request.out, response, is_head ? IncludeBody::No : IncludeBody::Yes);
  return response.status;
}

// After a reload, new handlers before the next request. If making them fails the thread
// answers with the ones it has (the previous configuration) and tries again before its next
// request; it says so once per reload.
void refresh_handlers(WorkerHandlers& handlers, std::uint64_t& generation,
                      std::uint64_t& failed_generation, const StopState& state,
                      const HandlerFactory& factory) {
  const std::uint64_t current = state.generation.load();
  if (current == generation) {
    return;
  }
  try {
    handlers = factory();
    generation = current;
  } catch (const std::exception& error) {
    if (failed_generation != current) {
      failed_generation = current;
      log_line(std::string("a worker thread keeps the previous configuration for now: ") +
               error.what());
    }
  }
}

// The next request on a kept connection starts after this one's stdin. What of the body
// nobody read (a refused request's) is read and dropped first, or libfcgi would take it for
// the next request's start, answer nothing and close the connection under the web server.
// A body too large to be worth reading closes the connection instead.
constexpr std::size_t kMaxDrainBytes = 256 * 1024;
void drain_for_the_next_request(FCGX_Request& request) {
  if (request.keepConnection == 0 || request.in == nullptr) {
    return;
  }
  std::array<char, 4096> sink{};
  std::size_t drained = 0;
  while (drained <= kMaxDrainBytes) {
    const int got = FCGX_GetStr(sink.data(), static_cast<int>(sink.size()), request.in);
    if (got <= 0) {
      return;
    }
    drained += static_cast<std::size_t>(got);
  }
  request.keepConnection = 0;
}

// Waits (on the thread's epoll: the listening socket and the stop) until a connection may be
// waiting; false when not (a stop, the idle wake that trims the heap, an error).
bool connection_arrives(int epoll_fd, StopState& state, bool& served_since_wait) {
  std::array<epoll_event, 2> ready{};
  // After a request, wake once if nothing else comes, to return freed heap pages: an idle
  // worker then holds only what it uses (the pages of a burst of requests or logins would
  // otherwise stay in its RSS). A thread that has served nothing just waits.
  const int timeout = served_since_wait ? kIdleTrimMilliseconds : -1;
  const int count = ::epoll_wait(epoll_fd, ready.data(), static_cast<int>(ready.size()), timeout);
  served_since_wait = false;
  if (count == 0) {
    if (state.trim_pending.exchange(false)) {
      ::malloc_trim(0);
    }
    return false;
  }
  if (count < 0) {
    if (errno != EINTR) {
      log_line(std::string("epoll_wait failed: ") + std::strerror(errno));
      state.failed.store(true);
      state.request_stop();
    }
    return false;
  }
  bool connection_waiting = false;
  for (int i = 0; i < count; ++i) {
    const auto& event = ready[static_cast<std::size_t>(i)];
    if (event.data.fd == state.wake.get()) {
      return false;
    }
    if ((event.events & (EPOLLERR | EPOLLHUP)) != 0) {
      log_line("the listening socket failed");
      state.failed.store(true);
      state.request_stop();
      return false;
    }
    connection_waiting = true;
  }
  return connection_waiting;
}

// A kept connection pins the thread that waits on it: the web server's idle connections must
// stay fewer than the pool's threads (nginx: worker_processes x keepalive), or new connections
// would wait in the backlog. This limit bounds that wait if they are not: a connection idle
// this long is closed (nginx drops it from its pool when it sees the close) and the thread goes
// back to the listening socket.
constexpr int kKeptIdleMilliseconds = 2000;

// Waits until the kept connection has the web server's next request; false on the stop, the
// idle limit or an error (the caller closes the connection). A connection the web server
// closed reads as ready: the accept that follows finds it closed and moves on.
bool next_request_arrives(int connection_fd, StopState& state) {
  std::array<pollfd, 2> fds{};
  fds[0].fd = connection_fd;
  fds[0].events = POLLIN;
  fds[1].fd = state.wake.get();
  fds[1].events = POLLIN;
  while (true) {
    const int count = ::poll(fds.data(), fds.size(), kKeptIdleMilliseconds);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    return count > 0 && fds[1].revents == 0 && fds[0].revents != 0;
  }
}

void worker_loop(int listen_fd, StopState& state, const HandlerFactory& factory,
                 const RequestLimits& limits, FastcgiRole role, SharedPoolStatus* pool) {
  WorkerHandlers handlers;
  std::uint64_t generation = state.generation.load();
  std::uint64_t failed_generation = generation;
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
    if (request.ipcFd >= 0) {
      // The web server keeps this connection (FCGI_KEEP_CONN: nginx's fastcgi_keep_conn with
      // an upstream keepalive pool): its next request comes on it, and this thread waits for
      // it, or for the stop, or closes the connection once it idles (see kKeptIdleMilliseconds).
      if (!next_request_arrives(request.ipcFd, state)) {
        FCGX_Free(&request, 1);
        continue;
      }
    } else if (!connection_arrives(epoll.get(), state, served_since_wait)) {
      continue;
    }
    refresh_handlers(handlers, generation, failed_generation, state, factory);
    const int accepted = FCGX_Accept_r(&request);
    if (accepted < 0) {
      if (accepted != -EAGAIN && accepted != -EWOULDBLOCK && accepted != -EINTR) {
        log_line("accept failed: " + std::string(std::strerror(-accepted)));
        // Do not spin on a persistent error; a transient one (EMFILE) may clear.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (pool != nullptr) {
      pool->request_started();
    }
    const int status = serve_one(request, handlers, limits, role);
    drain_for_the_next_request(request);
    // Closes the connection unless the web server asked to keep it.
    FCGX_Finish_r(&request);
    if (pool != nullptr) {
      pool->request_finished(status);
    }
    served_since_wait = true;
    state.trim_pending.store(true, std::memory_order_relaxed);
  }
  FCGX_Free(&request, 1);
}

}  // namespace

void hold_stop_signals() {
  const sigset_t set = held_signals();
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::runtime_error("pthread_sigmask failed");
  }
}

Server::Server(ServerOptions options, HandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {
  if (FCGX_Init() != 0) {
    throw std::runtime_error("FCGX_Init failed");
  }
  listen_fd_ = open_listen_socket(options_);
  // Close a socket we opened ourselves on every path; fd 0 belongs to spawn-fcgi.
  UniqueFd owned(options_.listen.empty() ? -1 : listen_fd_);
  check_listening(listen_fd_, options_);
  make_non_blocking(listen_fd_);
  if (options_.role == FastcgiRole::Authorizer) {
    warn_unless_loopback(listen_fd_);
  }
  owned.release();
}

Server::~Server() {
  if (!options_.listen.empty() && listen_fd_ >= 0) {
    ::close(listen_fd_);
  }
}

std::string Server::address() const { return SharedPoolStatus::socket_address(listen_fd_); }

int Server::run(const ServerHooks& hooks) {
  const int listen_fd = listen_fd_;

  const int event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd < 0) {
    throw std::runtime_error("eventfd failed");
  }
  StopState state(event_fd);

  // Block the stop signals (and SIGPIPE: a web server that hangs up must not kill us) before
  // any thread starts, so all threads inherit the mask and only sigwait() below sees them.
  sigset_t blocked = held_signals();
  sigaddset(&blocked, SIGPIPE);
  if (::pthread_sigmask(SIG_BLOCK, &blocked, nullptr) != 0) {
    throw std::runtime_error("pthread_sigmask failed");
  }

  const RequestLimits limits{options_.max_body_bytes, RequestLimits{}.max_header_bytes};
  const unsigned thread_count = options_.threads == 0 ? 1 : options_.threads;

  std::thread signal_thread([&state, &hooks] {
    const sigset_t wait_for = held_signals();
    while (true) {
      int signal_number = 0;
      if (::sigwait(&wait_for, &signal_number) != 0) {
        continue;
      }
      if (signal_number != SIGHUP) {
        if (!state.stopping.load()) {
          log_line(std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                   ", finishing requests in flight");
        }
        state.request_stop();
        return;
      }
      if (!hooks.reload) {
        log_line("received SIGHUP: nothing to reload");
      } else if (hooks.reload()) {
        state.generation.fetch_add(1);
      }
    }
  });

  std::vector<std::thread> workers;
  workers.reserve(thread_count);
  for (unsigned i = 0; i < thread_count; ++i) {
    workers.emplace_back([&, listen_fd] {
      worker_loop(listen_fd, state, factory_, limits, options_.role, hooks.pool);
    });
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
