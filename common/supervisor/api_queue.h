#pragma once
// The engine's side of the control API: calls arrive on the API's thread
// and wait here for the engine, which is single-threaded; an eventfd in
// its poll() loop wakes it. The engine answers through each call's Done,
// which is safe from its thread.
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "api/api_types.h"

namespace sigma::supervisor {

class ApiQueue : public api::Backend {
 public:
  ApiQueue();
  ~ApiQueue() override;
  ApiQueue(const ApiQueue&) = delete;
  ApiQueue& operator=(const ApiQueue&) = delete;
  int fd() const { return fd_; }
  // Any thread. After close(): answered at once, 503.
  void handle(api::Call call, api::Done done) override;
  // The engine: what is waiting (and the eventfd reset).
  std::vector<std::pair<api::Call, api::Done>> take();
  // No more calls; those waiting are answered 503.
  void close();

 private:
  int fd_ = -1;
  std::mutex mu_;
  bool closed_ = false;
  std::deque<std::pair<api::Call, api::Done>> calls_;
};

}  // namespace sigma::supervisor
