#pragma once
// Server-Sent Events for dashboards: every event the supervisor writes
// (its own and its stages'), to each subscriber whose filter takes it.
// A subscriber has a bounded queue (its BodyStream); one that does not
// keep up is dropped, never waited for: publish() never blocks the
// supervisor's engine. A heartbeat comment keeps proxies from timing the
// stream out and finds subscribers that went away.
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/body_stream.h"

namespace sigma::api {

struct EventFilter {
  std::string channel;  // "" = every channel
  std::string type;     // "" = every type; "stage." = a prefix; else exact
  bool accepts(const nlohmann::json& event) const;
};

// One SSE message: "id: ...\nevent: TYPE\ndata: JSON\n\n".
std::string sse_message(const nlohmann::json& event);
// The same in one HTTP/1.1 chunk (the stream is chunked).
std::string http_chunk(const std::string& data);

class EventHub {
 public:
  explicit EventHub(int64_t heartbeat_ms = 15'000, size_t queue_bytes = 256 * 1024, size_t max_subscribers = 64);
  ~EventHub();
  // The stream for a new subscriber; nullptr when there are too many.
  std::shared_ptr<http::BodyStream> subscribe(EventFilter f, const std::string& who);
  void publish(const nlohmann::json& event);
  void stop();
  size_t subscribers() const;

 private:
  struct Sub {
    EventFilter filter;
    std::string who;
    std::shared_ptr<http::BodyStream> body;
  };
  void heartbeat_loop();
  // Pushes to one subscriber; false when it is gone or dropped.
  bool offer(Sub& s, const std::string& data);
  const int64_t heartbeat_ms_;
  const size_t queue_bytes_, max_subs_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<Sub> subs_;
  std::thread thread_;
};

}  // namespace sigma::api
