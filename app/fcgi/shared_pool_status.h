#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "domain/pool_status.h"

namespace authfcgi::fcgi {

// The counters of /auth/status, shared by every worker process behind one listening socket.
//
// They live in a POSIX shared memory segment (/dev/shm/authfcgi-status-…) named after the
// socket's address and the user, mode 0600. Each process holds one slot of it, marked live by
// an open-file-description lock on the slot's byte that the kernel drops when the process
// ends, however it ends; its requests and events are counted in its slot with atomic
// increments (no lock, no system call on the request path), and a reader sums every slot. The
// counts of a process that has ended stay in its slot (a new process takes the slot over and
// counts on), so counters live as long as the pool; the first process to attach while no
// other is live starts the pool afresh, and the last one to leave removes the segment.
class SharedPoolStatus final : public domain::PoolMeter, public domain::PoolStatusSource {
 public:
  // The pool's name for the socket on fd: "/run/authfcgi/authfcgi.sock" or "127.0.0.1:9009".
  [[nodiscard]] static std::string socket_address(int fd);
  // The shared memory object's name (shm_open) for the pool at `address`, for this user.
  [[nodiscard]] static std::string segment_name(const std::string& address);

  // Attaches this process, with `threads` worker threads, to the pool of the socket at
  // `address`. Throws std::runtime_error (no /dev/shm, a segment that belongs to another user,
  // more than 256 processes): the worker then runs without a status page.
  SharedPoolStatus(const std::string& address, unsigned threads, std::int64_t now);
  ~SharedPoolStatus() override;
  SharedPoolStatus(const SharedPoolStatus&) = delete;
  SharedPoolStatus& operator=(const SharedPoolStatus&) = delete;

  // The accept loop's counts: a request taken (and now active), and its answer's status.
  void request_started() noexcept;
  void request_finished(int status) noexcept;

  void count(domain::PoolEvent event) noexcept override;
  [[nodiscard]] domain::PoolStatus read() const override;

  struct Segment;

 private:
  std::string address_;
  std::string name_;
  int fd_ = -1;
  Segment* segment_ = nullptr;
  std::size_t slot_ = 0;
  // Reads and the attach take the segment's lock; an open-file-description lock does not
  // exclude the threads of one process from each other, this mutex does.
  mutable std::mutex reading_;
};

}  // namespace authfcgi::fcgi
