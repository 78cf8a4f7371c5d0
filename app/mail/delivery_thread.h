#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace authfcgi::mail {

// The outbox's delivery, off the request path: one thread per worker process that looks for
// due mails every `interval` (processes share the outbox; each mail is claimed by one). A
// database or mail server outage only delays mails: the round fails, is logged, and the next
// one tries again.
class DeliveryThread {
 public:
  // One delivery round: sends what is due, returns how many were sent.
  using Round = std::function<std::size_t()>;
  // Called once on the thread: builds what the rounds use (its own database connection).
  using Setup = std::function<Round()>;
  using Log = std::function<void(const std::string& line)>;

  DeliveryThread(Setup setup, std::chrono::milliseconds interval, Log log);
  // Stops the thread: a round in progress finishes first.
  ~DeliveryThread();
  DeliveryThread(const DeliveryThread&) = delete;
  DeliveryThread& operator=(const DeliveryThread&) = delete;

 private:
  void loop(const Setup& setup);

  std::chrono::milliseconds interval_;
  Log log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace authfcgi::mail
