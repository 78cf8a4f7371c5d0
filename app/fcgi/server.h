#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "fcgi/shared_pool_status.h"

#include "web/request.h"
#include "web/response.h"

namespace authfcgi::fcgi {

// What one worker thread answers with: `handle` for well-formed requests, `reject` for the
// error page of a request refused before it reached the app (400, 413).
struct WorkerHandlers {
  std::function<web::Response(const web::Request&)> handle;
  std::function<web::Response(int status)> reject;
};
// Called once on each worker thread; what it returns (and all that owns: a database
// connection, a renderer) is used by that thread only.
using HandlerFactory = std::function<WorkerHandlers()>;

// The FastCGI role a worker's listener answers; requests in the other role get a 403.
// Apache's mod_authnz_fcgi can reach workers over TCP only, where any local user can connect:
// a listener for it answers AUTHORIZER requests only, so nobody can log in through it with a
// REMOTE_ADDR of their choosing.
enum class FastcgiRole { Responder, Authorizer };

struct ServerOptions {
  std::string listen;  // empty: the socket on fd 0 (spawn-fcgi); else a path or host:port
  FastcgiRole role = FastcgiRole::Responder;
  unsigned threads = 4;
  int backlog = 128;
  std::size_t max_body_bytes = 64 * 1024;
};

// What run() does beside serving.
struct ServerHooks {
  // Counts every request (accepted, active, answered by status class) when set.
  SharedPoolStatus* pool = nullptr;
  // SIGHUP: builds what the next handlers use (a new configuration); false when it refused
  // and said why. After a true, each worker thread calls the factory again before it takes
  // its next connection; a request in flight finishes with the handlers it began with.
  std::function<bool()> reload;
};

// Holds SIGTERM/SIGINT/SIGHUP for the calling thread and every thread it creates later. Called
// first thing in main: a stop signal that arrives while the worker starts (reading its
// configuration, connecting) then waits for Server::run, which stops cleanly with exit 0, instead
// of killing the process with the default action.
void hold_stop_signals();

// The FastCGI accept loop. SIGTERM/SIGINT: stop accepting, finish requests in flight, return 0.
class Server {
 public:
  // Opens (or, without options.listen, checks fd 0) the listening socket. Throws
  // std::runtime_error when it cannot.
  Server(ServerOptions options, HandlerFactory factory);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The listening socket's address: a path or host:port (the pool's name on /auth/status).
  [[nodiscard]] std::string address() const;

  // Blocks until a stop signal; returns the process exit code.
  int run(const ServerHooks& hooks = {});

 private:
  ServerOptions options_;
  HandlerFactory factory_;
  int listen_fd_ = -1;
};

}  // namespace authfcgi::fcgi
