#pragma once
// One RTMP client socket on the event loop: feeds an RtmpSession, turns a
// publish into a channel session through the ChannelHub, and converts its
// FLV media into MPEG-TS on the channel's output (and recording) and/or
// into the channel's in-process HLS packager.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/channel.h"
#include "ingest/flv_to_media.h"
#include "ingest/ts_sink.h"
#include "rtmp/session.h"

namespace sigma::ingest {

// What a publisher needs from the server; implemented by the event loop.
class ChannelHub {
 public:
  virtual ~ChannelHub() = default;
  // Authorizes key and makes the caller the channel's publisher; nullptr
  // with a verdict when refused (the refusal is logged and counted there).
  virtual Channel* begin_publish(const std::string& key, const std::string& protocol, const std::string& remote,
                                 uint64_t source, rtmp::PublishVerdict& verdict) = 0;
  virtual void stream_started(Channel& ch, const nlohmann::json& info) = 0;
  virtual void end_publish(Channel& ch, uint64_t source, const std::string& reason) = 0;
};

class RtmpConnection : public rtmp::SessionHandler {
 public:
  RtmpConnection(int fd, uint64_t id, std::string remote, ChannelHub& hub, const rtmp::SessionLimits& limits,
                 int64_t now_ms);
  ~RtmpConnection() override;

  // False: close the connection; reason says why.
  bool on_readable(int64_t now_ms, std::string& reason);
  bool on_writable(std::string& reason);
  bool wants_write() const { return !out_.empty(); }
  // Ends a live publish with reason (idempotent); the caller closes.
  void end(const std::string& reason);

  int fd() const { return fd_; }
  uint64_t id() const { return id_; }
  const std::string& remote() const { return remote_; }
  bool handshake_done() const { return session_.handshake_done(); }
  bool publishing() const { return channel_ != nullptr; }
  int64_t created_ms() const { return created_ms_; }
  int64_t last_rx_ms() const { return last_rx_ms_; }

 private:
  rtmp::PublishVerdict on_publish(const rtmp::PublishRequest& req) override;
  void on_metadata(const rtmp::AmfValue& meta) override;
  Status on_media(const rtmp::FlvPacket& pkt, int64_t dts_ms) override;
  void on_unpublish() override;

  int fd_;
  uint64_t id_;
  std::string remote_;
  ChannelHub& hub_;
  rtmp::RtmpSession session_;
  std::string out_;
  size_t out_pos_ = 0;
  int64_t created_ms_;
  int64_t last_rx_ms_;
  int64_t now_ms_ = 0;
  Channel* channel_ = nullptr;
  bool backup_ = false;  // publishing as the channel's failover backup
  std::unique_ptr<TsSink> ts_;
  std::unique_ptr<FlvToMedia> conv_;
  std::string end_reason_ = "unpublished";
};

}  // namespace sigma::ingest
