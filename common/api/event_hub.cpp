#include "api/event_hub.h"

#include <chrono>
#include <cstdio>

#include "base/log.h"

namespace sigma::api {

bool EventFilter::accepts(const nlohmann::json& e) const {
  if (!channel.empty() && (!e.contains("channel") || !e["channel"].is_string() || e["channel"] != channel))
    return false;
  if (type.empty()) return true;
  if (!e.contains("type") || !e["type"].is_string()) return false;
  const std::string& t = e["type"].get_ref<const std::string&>();
  if (type.back() == '.') return t.compare(0, type.size(), type) == 0;
  return t == type;
}

std::string sse_message(const nlohmann::json& e) {
  std::string out;
  // The id and type go on their own lines only when they cannot break one.
  auto line_safe = [](const std::string& s) { return s.find_first_of("\r\n") == std::string::npos; };
  if (e.contains("id") && e["id"].is_string() && line_safe(e["id"])) out += "id: " + e["id"].get<std::string>() + "\n";
  if (e.contains("type") && e["type"].is_string() && line_safe(e["type"]))
    out += "event: " + e["type"].get<std::string>() + "\n";
  out += "data: " + e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
  return out;
}

std::string http_chunk(const std::string& data) {
  char len[24];
  std::snprintf(len, sizeof len, "%zx\r\n", data.size());
  return len + data + "\r\n";
}

EventHub::EventHub(int64_t heartbeat_ms, size_t queue_bytes, size_t max_subscribers)
    : heartbeat_ms_(heartbeat_ms), queue_bytes_(queue_bytes), max_subs_(max_subscribers) {
  thread_ = std::thread([this] { heartbeat_loop(); });
}

EventHub::~EventHub() { stop(); }

void EventHub::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
    for (auto& s : subs_) {
      bool room = s.body->try_push(http_chunk(": the supervisor is stopping\n\n")) == http::BodyStream::TryPush::kQueued &&
                  s.body->try_push("0\r\n\r\n") == http::BodyStream::TryPush::kQueued;
      s.body->finish(room);
    }
    subs_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t EventHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

std::shared_ptr<http::BodyStream> EventHub::subscribe(EventFilter f, const std::string& who) {
  std::lock_guard lock(mu_);
  for (auto it = subs_.begin(); it != subs_.end();)
    it = it->body->cancelled() ? subs_.erase(it) : it + 1;
  if (stop_ || subs_.size() >= max_subs_) return nullptr;
  auto body = std::make_shared<http::BodyStream>(queue_bytes_);
  // The first bytes at once: the client knows it is subscribed.
  body->try_push(http_chunk(": subscribed\nretry: 2000\n\n"));
  subs_.push_back({std::move(f), who, body});
  return body;
}

bool EventHub::offer(Sub& s, const std::string& data) {
  switch (s.body->try_push(http_chunk(data))) {
    case http::BodyStream::TryPush::kQueued: return true;
    case http::BodyStream::TryPush::kGone: return false;
    case http::BodyStream::TryPush::kFull:
      spdlog::warn("API events: dropped subscriber {}: not reading ({} bytes queued)", s.who, queue_bytes_);
      s.body->finish(false);
      return false;
  }
  return false;
}

void EventHub::publish(const nlohmann::json& event) {
  std::lock_guard lock(mu_);
  if (subs_.empty()) return;
  std::string msg;
  for (auto it = subs_.begin(); it != subs_.end();) {
    if (!it->filter.accepts(event)) {
      ++it;
      continue;
    }
    if (msg.empty()) msg = sse_message(event);
    it = offer(*it, msg) ? it + 1 : subs_.erase(it);
  }
}

void EventHub::heartbeat_loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(heartbeat_ms_));
    if (stop_) break;
    for (auto it = subs_.begin(); it != subs_.end();)
      it = offer(*it, ": heartbeat\n\n") ? it + 1 : subs_.erase(it);
  }
}

}  // namespace sigma::api
