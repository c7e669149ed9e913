#pragma once
// One RTMP publisher connection, without I/O: bytes in, bytes to send out,
// and calls into a SessionHandler for publish, metadata and media. The
// event loop owns the socket; the fuzzer and unit tests drive this class
// directly.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rtmp/amf0.h"
#include "rtmp/chunk_stream.h"
#include "rtmp/flv.h"
#include "rtmp/handshake.h"

namespace sigma::rtmp {

struct PublishRequest {
  std::string app;   // "live" in rtmp://host/live/KEY
  std::string name;  // the stream key, query string removed
};

enum class PublishVerdict { kAccept, kBadName, kBusy };

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual PublishVerdict on_publish(const PublishRequest& req) = 0;
  virtual void on_metadata(const AmfValue& meta) = 0;
  // dts_ms is the unwrapped 64-bit message timestamp. An error closes the
  // connection (e.g. an unsupported codec).
  virtual Status on_media(const FlvPacket& pkt, int64_t dts_ms) = 0;
  // FCUnpublish/deleteStream, or the end of the connection after publish.
  virtual void on_unpublish() = 0;
};

struct SessionLimits {
  ChunkLimits chunk;
  uint32_t out_chunk_size = 4096;
  uint32_t window_ack_size = 2500000;
  size_t max_commands_before_publish = 64;  // a client that never publishes is cut off
};

class RtmpSession {
 public:
  RtmpSession(SessionHandler& handler, SessionLimits limits = {});

  // Feeds received bytes; appends bytes to send to out. An error means the
  // connection must close (after sending out, which may hold an onStatus).
  Status on_data(std::string_view data, std::string& out);
  // True after we refused something and want the connection closed once
  // out is sent.
  bool closing() const { return closing_; }
  bool handshake_done() const { return handshake_.done(); }
  bool publishing() const { return publishing_; }
  uint64_t bytes_in() const { return bytes_in_; }
  // Ends a live publish (connection lost): calls on_unpublish once.
  void end();

 private:
  Status handle(Message& m, std::string& out);
  Status handle_command(const Message& m, std::string_view payload, std::string& out);
  Status handle_data(std::string_view payload);
  Status handle_media(const Message& m, std::string_view body, uint32_t timestamp);
  Status handle_aggregate(const Message& m);
  void send(std::string& out, uint32_t csid, uint8_t type, uint32_t stream_id, std::string payload);
  void send_command(std::string& out, uint32_t csid, uint32_t stream_id, const std::vector<AmfValue>& values);
  void send_status(std::string& out, uint32_t stream_id, const std::string& level, const std::string& code,
                   const std::string& description);
  int64_t unwrap(bool video, uint32_t ts);

  SessionHandler& handler_;
  SessionLimits limits_;
  ServerHandshake handshake_;
  ChunkReader reader_;
  ChunkWriter writer_;
  std::string in_;
  size_t in_pos_ = 0;
  std::vector<Message> messages_;
  uint64_t bytes_in_ = 0;
  uint64_t acked_ = 0;
  uint32_t peer_window_ = 0;
  size_t commands_ = 0;
  std::string app_;
  uint32_t publish_stream_ = 0;
  bool publishing_ = false;
  bool closing_ = false;
  uint32_t next_stream_id_ = 1;
  struct Clock { bool started = false; uint32_t last = 0; int64_t high = 0; };
  Clock clocks_[2];  // audio, video
};

}  // namespace sigma::rtmp
