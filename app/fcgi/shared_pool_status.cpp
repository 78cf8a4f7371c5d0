#include "fcgi/shared_pool_status.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

namespace authfcgi::fcgi {

namespace {

// More threads than any pool runs (256 processes x 1024 threads).
constexpr std::uint64_t kSaneActiveThreads = 256 * 1024;
constexpr std::uint64_t kMagic = 0x617574686663'0001;  // "authfc", layout 1
constexpr std::size_t kSlots = 256;
// The segment's own lock is byte 0 of the file; slot i's liveness lock is byte 1 + i.
constexpr off_t kSegmentLockByte = 0;

}  // namespace

struct alignas(64) PoolSlot {
  std::uint64_t threads;  // 0: no live process here
  std::uint64_t active;
  std::uint64_t accepted;
  std::array<std::uint64_t, domain::kStatusClassCount> responses;
  std::array<std::uint64_t, domain::kPoolEventCount> events;
};

struct SharedPoolStatus::Segment {
  std::uint64_t magic;
  std::int64_t start_time;
  alignas(64) std::uint64_t active;  // the pool's active threads, for max_active
  std::uint64_t max_active;
  std::array<PoolSlot, kSlots> slots;
};

namespace {

using Segment = SharedPoolStatus::Segment;

static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "the counters are shared between processes: they need lock-free atomics");

std::atomic_ref<std::uint64_t> shared(std::uint64_t& value) {
  return std::atomic_ref<std::uint64_t>(value);
}

std::uint64_t load(std::uint64_t& value) { return shared(value).load(std::memory_order_relaxed); }

void add(std::uint64_t& value, std::uint64_t amount) {
  shared(value).fetch_add(amount, std::memory_order_relaxed);
}

// Open-file-description locks on single bytes: held per open of the segment, dropped by the
// kernel when the process ends, and never released by another thread's close of some other
// fd (POSIX locks are).
struct flock byte_range(short type, off_t byte) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  return lock;
}

bool lock_byte(int fd, off_t byte, bool wait) {
  struct flock lock = byte_range(F_WRLCK, byte);
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &lock) != 0) {
    if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

void unlock_byte(int fd, off_t byte) {
  struct flock lock = byte_range(F_UNLCK, byte);
  ::fcntl(fd, F_OFD_SETLK, &lock);
}

bool locked_by_another(int fd, off_t byte) {
  struct flock lock = byte_range(F_WRLCK, byte);
  return ::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
}

off_t slot_lock_byte(std::size_t slot) { return static_cast<off_t>(1 + slot); }

// The segment's own lock, held for an attach or a read (microseconds). It is never waited for
// without a bound: a pool process stopped (SIGSTOP) while it held the lock must not pin the
// threads of every scrape, nor keep a new worker from starting.
constexpr int kSegmentLockTries = 200;
constexpr std::chrono::milliseconds kSegmentLockPause{10};

class SegmentLock {
 public:
  explicit SegmentLock(int fd) : fd_(fd) {
    for (int tries = 0; !lock_byte(fd_, kSegmentLockByte, false); ++tries) {
      if ((errno != EAGAIN && errno != EACCES) || tries >= kSegmentLockTries) {
        throw std::runtime_error("cannot lock the status segment (held by a stopped process?)");
      }
      std::this_thread::sleep_for(kSegmentLockPause);
    }
  }
  ~SegmentLock() { unlock_byte(fd_, kSegmentLockByte); }
  SegmentLock(const SegmentLock&) = delete;
  SegmentLock& operator=(const SegmentLock&) = delete;

 private:
  int fd_;
};

// FNV-1a: a stable short name for any socket address (paths may be longer than a name may be).
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::string SharedPoolStatus::segment_name(const std::string& address) {
  std::array<char, 64> name{};
  std::snprintf(name.data(), name.size(), "/authfcgi-status-%u-%016llx",
                static_cast<unsigned>(::geteuid()),
                static_cast<unsigned long long>(fnv1a(address)));
  return name.data();
}

namespace {

// A slot left by a process that ended: its requests in flight never finished.
void retire(Segment& segment, PoolSlot& slot) {
  const std::uint64_t stuck = load(slot.active);
  if (stuck != 0) {
    shared(segment.active).fetch_sub(stuck, std::memory_order_relaxed);
    shared(slot.active).store(0, std::memory_order_relaxed);
  }
  shared(slot.threads).store(0, std::memory_order_relaxed);
}

}  // namespace

std::string SharedPoolStatus::socket_address(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    return std::string("fd ").append(std::to_string(fd));
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET) {
    const auto* ipv4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &ipv4->sin_addr, text.data(), text.size());
    return std::string(text.data()) + ":" + std::to_string(ntohs(ipv4->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* ipv6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &ipv6->sin6_addr, text.data(), text.size());
    // Appended piece by piece: "[" + ... trips GCC 12's -Wrestrict in a release build.
    std::string shown = "[";
    shown += text.data();
    shown += "]:";
    shown += std::to_string(ntohs(ipv6->sin6_port));
    return shown;
  }
  if (address.ss_family == AF_UNIX) {
    const auto* local = reinterpret_cast<const sockaddr_un*>(&address);
    const std::size_t offset = offsetof(sockaddr_un, sun_path);
    if (size <= offset) {
      return "unix socket";
    }
    std::string path(local->sun_path, size - offset);
    if (!path.empty() && path[0] == '\0') {
      path[0] = '@';  // an abstract socket, as ss(8) writes it
    }
    if (const auto end = path.find('\0'); end != std::string::npos) {
      path.resize(end);
    }
    return path;
  }
  return std::string("fd ").append(std::to_string(fd));
}

namespace {

// Opens the pool's segment, refuses one that is not ours alone, and takes its lock. The last
// process of a pool removes the segment's name under that lock, so a process that opened the
// name just before (and then waited for the lock) holds a file nobody else will see: it
// checks, under the lock, that the name still leads to its file, and else starts over.
constexpr int kOpenTries = 5;

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool name_leads_to(const std::string& name, int fd) {
  struct stat ours {};
  struct stat named {};
  const int probe = ::shm_open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (probe < 0) {
    return false;
  }
  const bool same =
      ::fstat(fd, &ours) == 0 && ::fstat(probe, &named) == 0 && same_file(ours, named);
  ::close(probe);
  return same;
}

}  // namespace

SharedPoolStatus::SharedPoolStatus(const std::string& address, unsigned threads, std::int64_t now)
    : address_(address), name_(segment_name(address)) {
  const std::string& name = name_;
  std::optional<SegmentLock> lock;
  for (int tries = 0; !lock; ++tries) {
    fd_ = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open the status segment /dev/shm" + name + ": " +
                               std::strerror(errno));
    }
    try {
      // /dev/shm is writable by everyone: a segment made by another user is neither trusted
      // nor locked (its owner could hold the lock for ever). One that is ours and closed to
      // others, nobody else can open.
      struct stat info {};
      if (::fstat(fd_, &info) != 0) {
        throw std::runtime_error(std::string("cannot stat the status segment: ") +
                                 std::strerror(errno));
      }
      if (info.st_uid != ::geteuid() || (info.st_mode & 077) != 0) {
        throw std::runtime_error("the status segment /dev/shm" + name +
                                 " belongs to another user or is open to others; remove it");
      }
      lock.emplace(fd_);
      if (!name_leads_to(name, fd_)) {
        lock.reset();
        if (tries + 1 >= kOpenTries) {
          throw std::runtime_error("the status segment /dev/shm" + name +
                                   " keeps being removed and made again");
        }
        ::close(fd_);
        fd_ = -1;
      }
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }
  try {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) {
      throw std::runtime_error(std::string("cannot stat the status segment: ") +
                               std::strerror(errno));
    }
    if (info.st_size == 0 && ::ftruncate(fd_, sizeof(Segment)) != 0) {
      throw std::runtime_error(std::string("cannot size the status segment: ") +
                               std::strerror(errno));
    }
    if (info.st_size != 0 && static_cast<std::size_t>(info.st_size) != sizeof(Segment)) {
      throw std::runtime_error("the status segment /dev/shm" + name +
                               " has another layout (an older authfcgi still running?)");
    }
    void* mapped = ::mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (mapped == MAP_FAILED) {
      throw std::runtime_error(std::string("cannot map the status segment: ") +
                               std::strerror(errno));
    }
    segment_ = static_cast<Segment*>(mapped);

    bool pool_live = false;
    for (std::size_t i = 0; i < kSlots && !pool_live; ++i) {
      pool_live = locked_by_another(fd_, slot_lock_byte(i));
    }
    if (!pool_live || segment_->magic != kMagic) {
      // Nobody else is attached (and nobody can attach while we hold the segment's lock).
      std::memset(static_cast<void*>(segment_), 0, sizeof(Segment));
      segment_->magic = kMagic;
      segment_->start_time = now;
    }
    std::size_t slot = kSlots;
    for (std::size_t i = 0; i < kSlots; ++i) {
      if (lock_byte(fd_, slot_lock_byte(i), false)) {
        slot = i;
        break;
      }
    }
    if (slot == kSlots) {
      throw std::runtime_error("the status segment has no free slot (more than " +
                               std::to_string(kSlots) + " worker processes on one socket)");
    }
    slot_ = slot;
    retire(*segment_, segment_->slots[slot_]);
    shared(segment_->slots[slot_].threads).store(threads, std::memory_order_relaxed);
  } catch (...) {
    lock.reset();
    if (segment_ != nullptr) {
      ::munmap(segment_, sizeof(Segment));
    }
    ::close(fd_);
    throw;
  }
}

SharedPoolStatus::~SharedPoolStatus() {
  {
    const std::lock_guard guard(reading_);
    try {
      const SegmentLock lock(fd_);
      retire(*segment_, segment_->slots[slot_]);
      // The last process of the pool takes the segment away with it (a test suite or many
      // local instances would otherwise leave one per socket in /dev/shm, which is memory).
      bool others = false;
      for (std::size_t i = 0; i < kSlots && !others; ++i) {
        others = i != slot_ && locked_by_another(fd_, slot_lock_byte(i));
      }
      if (!others) {
        ::shm_unlink(name_.c_str());
      }
    } catch (const std::exception&) {
      // Without the lock the next reader or process retires the slot.
    }
  }
  ::munmap(segment_, sizeof(Segment));
  ::close(fd_);  // drops the slot's lock
}

void SharedPoolStatus::request_started() noexcept {
  PoolSlot& slot = segment_->slots[slot_];
  add(slot.accepted, 1);
  add(slot.active, 1);
  const std::uint64_t active = shared(segment_->active).fetch_add(1, std::memory_order_relaxed) + 1;
  // A process killed between its two counts leaves the pool's count off by one (or below
  // zero, wrapped) until the pool restarts: such a figure is no new maximum.
  if (active > kSaneActiveThreads) {
    return;
  }
  auto max_active = shared(segment_->max_active);
  std::uint64_t seen = max_active.load(std::memory_order_relaxed);
  while (seen < active &&
         !max_active.compare_exchange_weak(seen, active, std::memory_order_relaxed)) {
  }
}

void SharedPoolStatus::request_finished(int status) noexcept {
  PoolSlot& slot = segment_->slots[slot_];
  shared(slot.active).fetch_sub(1, std::memory_order_relaxed);
  shared(segment_->active).fetch_sub(1, std::memory_order_relaxed);
  if (status >= 100 && status <= 599) {
    add(slot.responses[static_cast<std::size_t>(status / 100 - 1)], 1);
  }
}

void SharedPoolStatus::count(domain::PoolEvent event) noexcept {
  add(segment_->slots[slot_].events[static_cast<std::size_t>(event)], 1);
}

domain::PoolStatus SharedPoolStatus::read() const {
  const std::lock_guard guard(reading_);
  const SegmentLock lock(fd_);
  domain::PoolStatus status;
  status.pool = address_;
  status.start_time = segment_->start_time;
  for (std::size_t i = 0; i < kSlots; ++i) {
    PoolSlot& slot = segment_->slots[i];
    // Our own lock never conflicts with us: our slot is live because we are.
    const bool live = i == slot_ || locked_by_another(fd_, slot_lock_byte(i));
    if (live) {
      const std::uint64_t threads = load(slot.threads);
      if (threads != 0) {
        ++status.processes;
        status.threads += threads;
        status.active_threads += std::min(load(slot.active), threads);
      }
    } else if (load(slot.threads) != 0) {
      retire(*segment_, slot);
    }
    status.accepted += load(slot.accepted);
    for (std::size_t c = 0; c < domain::kStatusClassCount; ++c) {
      status.responses[c] += load(slot.responses[c]);
    }
    for (std::size_t e = 0; e < domain::kPoolEventCount; ++e) {
      status.events[e] += load(slot.events[e]);
    }
  }
  status.max_active_threads = std::max(load(segment_->max_active), status.active_threads);
  return status;
}

}  // namespace authfcgi::fcgi
