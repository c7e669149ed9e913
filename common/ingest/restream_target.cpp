#include "ingest/restream_target.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "av/push_output.h"
#include "base/log.h"
#include "base/time.h"

namespace sigma::ingest {

namespace {
constexpr size_t kMaxNotices = 64;
}

std::vector<const AVCodecParameters*> RestreamStreams::raw() const {
  std::vector<const AVCodecParameters*> out;
  for (auto& p : pars) out.push_back(p.get());
  return out;
}

RestreamTarget::RestreamTarget(std::string channel, RestreamSpec spec, RestreamTiming timing)
    : channel_(std::move(channel)), spec_(std::move(spec)), shown_(redact_url(spec_.url)), timing_(timing) {
  thread_ = std::thread([this] { run(); });
}

RestreamTarget::~RestreamTarget() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  abort_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RestreamTarget::open_session(std::shared_ptr<const RestreamStreams> streams) {
  std::lock_guard lk(mu_);
  push_streams_ = streams;
  resync_ = false;
  Item it{Item::Kind::kOpen, std::move(streams), nullptr};
  q_.push_back(std::move(it));
  cv_.notify_one();
}

void RestreamTarget::end_session() {
  std::lock_guard lk(mu_);
  push_streams_.reset();
  q_.push_back(Item{Item::Kind::kEnd, nullptr, nullptr});
  cv_.notify_one();
}

void RestreamTarget::trim_packets_locked() {
  for (auto it = q_.begin(); it != q_.end();) {
    if (it->kind == Item::Kind::kPacket) {
      q_bytes_ -= size_t(it->pkt->size);
      it = q_.erase(it);
    } else {
      ++it;
    }
  }
}

void RestreamTarget::push(int index, AVPacket* pkt, AVRational tb) {
  std::lock_guard lk(mu_);
  if (!push_streams_ || index < 0 || size_t(index) >= push_streams_->video.size()) return;
  bool video = push_streams_->video[size_t(index)];
  bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  bool has_video = push_streams_->has_video;
  if (!connected_ && has_video) {
    // Not sending: keep only the GOP a connect would start with.
    if (video && key) trim_packets_locked();
    else if (q_.empty() || q_.back().kind != Item::Kind::kPacket) return;
  }
  size_t size = size_t(std::max(0, pkt->size));
  if (resync_ && has_video && !(video && key)) {
    ++dropped_packets_;
    return;
  }
  if (q_bytes_ + size > timing_.queue_bytes) {
    if (connected_) {
      if (!resync_) spdlog::warn("channel {}: restream {} too slow, dropping to the next keyframe", channel_, spec_.name);
      ++dropped_packets_;
      resync_ = true;
    } else {
      trim_packets_locked();
    }
    return;
  }
  resync_ = false;
  Item it{Item::Kind::kPacket, nullptr, av::make_packet()};
  if (!it.pkt || av_packet_ref(it.pkt.get(), pkt) < 0) {
    ++dropped_packets_;
    return;
  }
  it.index = index;
  it.tb = tb;
  it.video = video;
  it.key = key;
  q_bytes_ += size;
  q_.push_back(std::move(it));
  cv_.notify_one();
}

void RestreamTarget::notice(const std::string& type, nlohmann::json fields) {
  fields["target"] = spec_.name;
  fields["url"] = shown_;
  if (notices_.size() < kMaxNotices) notices_.push_back({{"type", type}, {"fields", std::move(fields)}});
}

std::vector<nlohmann::json> RestreamTarget::take_notices() {
  std::lock_guard lk(mu_);
  return std::exchange(notices_, {});
}

void RestreamTarget::set_state(const char* s) { state_ = s; }

void RestreamTarget::fail(const std::string& error, int64_t now) {
  connected_ = false;
  last_error_ = error;
  backoff_ms_ = backoff_ms_ == 0 ? timing_.backoff_initial_ms : std::min(backoff_ms_ * 2, timing_.backoff_max_ms);
  next_attempt_ms_ = now + backoff_ms_;
  set_state("retrying");
  trim_packets_locked();
  spdlog::warn("channel {}: restream {} ({}): {}; retrying in {:.1f} s", channel_, spec_.name, shown_, error,
               double(backoff_ms_) / 1000.0);
  notice("restream.failed", {{"error", error}, {"retry_in_s", double(backoff_ms_) / 1000.0}});
}

void RestreamTarget::run() {
  av::PushOutput out;
  av::PushOptions opts;
  opts.connect_timeout_ms = timing_.connect_timeout_ms;
  opts.write_timeout_ms = timing_.write_timeout_ms;
  opts.abort = &abort_;
  std::shared_ptr<const RestreamStreams> streams;  // this thread's session
  bool waiting_key = false, failed_before = false;
  int64_t offset_us = AV_NOPTS_VALUE;
  int64_t connected_at = 0;
  auto pop = [&]() {
    Item it = std::move(q_.front());
    q_.pop_front();
    if (it.kind == Item::Kind::kPacket) q_bytes_ -= size_t(it.pkt->size);
    return it;
  };
  auto session_over = [&](const char* reason, bool was_connected) {
    streams.reset();
    set_state("idle");
    if (was_connected) {
      spdlog::info("channel {}: restream {} stopped ({})", channel_, spec_.name, reason);
      notice("restream.stopped", {{"reason", reason}});
    }
  };

  std::unique_lock lk(mu_);
  while (!stop_) {
    int64_t now = monotonic_ms();
    if (!out.is_open()) {
      // Session markers first; a session that ended while we were not
      // connected has nothing left worth sending.
      bool ended_later = std::any_of(q_.begin(), q_.end(), [](const Item& i) { return i.kind == Item::Kind::kEnd; });
      if (!q_.empty() && (q_.front().kind != Item::Kind::kPacket || ended_later || !streams)) {
        Item it = pop();
        if (it.kind == Item::Kind::kOpen) {
          streams = it.streams;
          set_state("connecting");
        } else if (it.kind == Item::Kind::kEnd) {
          session_over("stream ended", false);
        }
        continue;
      }
      if (!streams) {
        cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
        continue;
      }
      if (now < next_attempt_ms_) {
        cv_.wait_for(lk, std::chrono::milliseconds(std::min<int64_t>(next_attempt_ms_ - now, 200)));
        continue;
      }
      set_state("connecting");
      auto s = streams;
      lk.unlock();
      Status st = out.open(spec_.url, s->raw(), opts);
      lk.lock();
      if (stop_) break;
      if (!st.is_ok()) {
        out.close();
        failed_before = true;
        fail(st.message(), monotonic_ms());
        continue;
      }
      connected_ = true;
      if (failed_before) ++reconnects_;
      ++connects_;
      connected_at = monotonic_ms();
      waiting_key = s->has_video;
      offset_us = AV_NOPTS_VALUE;
      set_state("connected");
      // Start on the newest keyframe queued (at most one GOP behind).
      if (s->has_video) {
        size_t last = q_.size();
        for (size_t i = 0; i < q_.size(); ++i)
          if (q_[i].kind == Item::Kind::kPacket && q_[i].video && q_[i].key) last = i;
        if (last < q_.size()) {
          std::deque<Item> kept;
          for (size_t i = 0; i < q_.size(); ++i) {
            if (i < last && q_[i].kind == Item::Kind::kPacket) q_bytes_ -= size_t(q_[i].pkt->size);
            else kept.push_back(std::move(q_[i]));
          }
          q_.swap(kept);
        }
      }
      spdlog::info("channel {}: restream {} connected to {}", channel_, spec_.name, shown_);
      notice("restream.connected", {{"reconnects", reconnects_}});
      continue;
    }

    if (q_.empty()) {
      cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
      continue;
    }
    Item it = pop();
    if (it.kind != Item::Kind::kPacket) {
      lk.unlock();
      Status st = out.finish();
      lk.lock();
      connected_ = false;
      if (!st.is_ok()) spdlog::debug("channel {}: restream {}: {}", channel_, spec_.name, st.message());
      if (it.kind == Item::Kind::kEnd) {
        session_over("stream ended", true);
      } else {
        // A new session (new sequence headers): a new FLV/TS header.
        streams = it.streams;
        next_attempt_ms_ = 0;
      }
      continue;
    }
    if (waiting_key) {
      if (!(it.video && it.key)) continue;
      waiting_key = false;
    }
    AVPacket* p = it.pkt.get();
    int64_t ts = p->dts != AV_NOPTS_VALUE ? p->dts : p->pts;
    if (ts == AV_NOPTS_VALUE) continue;
    // Each connection starts its timeline at 0: a server that sees a new
    // publish expects small timestamps.
    if (offset_us == AV_NOPTS_VALUE) offset_us = av_rescale_q(ts, it.tb, AV_TIME_BASE_Q);
    int64_t off = av_rescale_q(offset_us, AV_TIME_BASE_Q, it.tb);
    if (ts < off) continue;
    if (p->dts != AV_NOPTS_VALUE) p->dts -= off;
    if (p->pts != AV_NOPTS_VALUE) p->pts -= off;
    size_t size = size_t(p->size);
    lk.unlock();
    Status st = out.write(it.index, p, it.tb);
    int64_t done = monotonic_ms();
    lk.lock();
    if (stop_) break;
    if (!st.is_ok()) {
      out.close();
      // A connection that ran stably before it broke starts the backoff over.
      if (done - connected_at >= timing_.stable_after_ms) backoff_ms_ = 0;
      failed_before = true;
      fail(st.message(), done);
      continue;
    }
    bytes_sent_ += size;
  }
  connected_ = false;
  lk.unlock();
  out.close();
}

nlohmann::json RestreamTarget::status(int64_t period_ms) {
  uint64_t sent = bytes_sent_.load();
  std::lock_guard lk(mu_);
  if (period_ms > 0) {
    kbps_ = double(sent - rate_last_bytes_) * 8.0 / double(period_ms);
    rate_last_bytes_ = sent;
  }
  if (state_ != "connected") kbps_ = 0;
  nlohmann::json j = {{"name", spec_.name},
                      {"url", shown_},
                      {"state", state_},
                      {"kbps", std::round(kbps_ * 10) / 10},
                      {"bytes_sent", sent},
                      {"connects", connects_},
                      {"reconnects", reconnects_},
                      {"dropped_packets", dropped_packets_},
                      {"queued_bytes", q_bytes_},
                      {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)}};
  if (state_ == "retrying")
    j["retry_in_s"] = std::max<double>(0, double(next_attempt_ms_ - monotonic_ms()) / 1000.0);
  return j;
}

}  // namespace sigma::ingest
