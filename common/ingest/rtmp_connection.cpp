#include "ingest/rtmp_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace sigma::ingest {

namespace {
constexpr size_t kReadChunk = 64 << 10;
constexpr int kReadsPerWakeup = 4;      // fairness between publishers
constexpr size_t kMaxOutBytes = 1 << 20;  // a client that never reads our replies
}  // namespace

RtmpConnection::RtmpConnection(int fd, uint64_t id, std::string remote, ChannelHub& hub,
                               const rtmp::SessionLimits& limits, int64_t now_ms)
    : fd_(fd), id_(id), remote_(std::move(remote)), hub_(hub), session_(*this, limits), created_ms_(now_ms),
      last_rx_ms_(now_ms) {}

RtmpConnection::~RtmpConnection() {
  end("closed");
  ::close(fd_);
}

void RtmpConnection::end(const std::string& reason) {
  end_reason_ = reason;
  session_.end();
}

bool RtmpConnection::on_readable(int64_t now_ms, std::string& reason) {
  now_ms_ = now_ms;
  char buf[kReadChunk];
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      reason = n == 0 ? "disconnected" : std::string("recv: ") + std::strerror(errno);
      end(n == 0 ? "disconnected" : "error");
      return false;
    }
    last_rx_ms_ = now_ms;
    uint64_t before = session_.bytes_in();
    Status st = session_.on_data(std::string_view(buf, size_t(n)), out_);
    if (channel_) {
      uint64_t got = session_.bytes_in() - before;
      channel_->bytes_in += got;
      channel_->session_bytes_in += got;
      channel_->rate_bytes += got;
    }
    if (!st.is_ok()) {
      reason = st.message();
      end("error");
      std::string ignored;
      on_writable(ignored);  // best effort: an onStatus may be waiting
      return false;
    }
    if (session_.closing()) {
      on_writable(reason);
      reason = "refused";
      return false;
    }
    if (size_t(n) < sizeof buf) break;
  }
  return on_writable(reason);
}

bool RtmpConnection::on_writable(std::string& reason) {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    reason = std::string("send: ") + std::strerror(errno);
    end("error");
    return false;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  if (out_.size() - out_pos_ > kMaxOutBytes) {
    reason = "client does not read";
    end("error");
    return false;
  }
  return true;
}

rtmp::PublishVerdict RtmpConnection::on_publish(const rtmp::PublishRequest& req) {
  rtmp::PublishVerdict verdict = rtmp::PublishVerdict::kBadName;
  Channel* ch = hub_.begin_publish(req.name, "rtmp", remote_, id_, verdict);
  if (!ch) return verdict;
  channel_ = ch;
  channel_->last_packet_mono_ms = now_ms_;
  end_reason_ = "unpublished";
  std::vector<MediaSink*> sinks;
  backup_ = ch->failover && ch->failover->backup_source == id_;
  if (ch->failover) {
    // Failover: the switch feeds the channel's outputs.
    sinks.push_back(backup_ ? &ch->failover->backup_port() : &ch->failover->primary_port());
  } else {
    if (ch->wants_ts()) {
      ts_ = std::make_unique<TsSink>([ch](const uint8_t* d, size_t n) { ch->write_ts(d, n); });
      sinks.push_back(ts_.get());
    }
    if (ch->hls) sinks.push_back(ch->hls.get());
    if (ch->restream) sinks.push_back(ch->restream.get());
  }
  conv_ = std::make_unique<FlvToMedia>(std::move(sinks), [this](const nlohmann::json& info) {
    if (channel_ && !backup_) hub_.stream_started(*channel_, info);
  });
  return rtmp::PublishVerdict::kAccept;
}

void RtmpConnection::on_metadata(const rtmp::AmfValue& meta) {
  if (conv_) conv_->set_metadata(meta);
}

Status RtmpConnection::on_media(const rtmp::FlvPacket& pkt, int64_t dts_ms) {
  if (!conv_ || !channel_) return {};
  uint64_t frames = conv_->video_frames();
  uint64_t dropped = conv_->dropped_packets();
  Status st = conv_->add(pkt, dts_ms);
  if (backup_) return st;  // the channel's figures are its primary's
  channel_->last_packet_mono_ms = now_ms_;
  channel_->video_frames += conv_->video_frames() - frames;
  channel_->rate_frames += conv_->video_frames() - frames;
  channel_->dropped_packets += conv_->dropped_packets() - dropped;
  return st;
}

void RtmpConnection::on_unpublish() {
  if (!channel_) return;
  if (conv_) {
    Status st = conv_->finish();
    if (!st.is_ok()) spdlog::warn("channel {}: {}", channel_->name, st.message());
  }
  conv_.reset();
  ts_.reset();
  Channel* ch = channel_;
  channel_ = nullptr;
  hub_.end_publish(*ch, id_, end_reason_);
}

}  // namespace sigma::ingest
