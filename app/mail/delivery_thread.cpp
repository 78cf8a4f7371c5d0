#include "mail/delivery_thread.h"

#include <pthread.h>

#include <csignal>
#include <exception>
#include <utility>

namespace authfcgi::mail {

DeliveryThread::DeliveryThread(Setup setup, std::chrono::milliseconds interval, Log log)
    : interval_(interval), log_(std::move(log)) {
  thread_ = std::thread([this, setup = std::move(setup)] { loop(setup); });
}

DeliveryThread::~DeliveryThread() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DeliveryThread::loop(const Setup& setup) {
  // A mail server that hangs up mid-write must not kill the process (curl runs with
  // CURLOPT_NOSIGNAL and leaves SIGPIPE to us).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  Round round;
  bool failing = false;
  while (true) {
    try {
      if (!round) {
        round = setup();
      }
      round();
      if (failing) {
        log_("mail delivery works again");
        failing = false;
      }
    } catch (const std::exception& error) {
      // Said once per outage, not once per round.
      if (!failing) {
        log_(std::string("mail delivery failed, trying again: ") + error.what());
        failing = true;
      }
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace authfcgi::mail
