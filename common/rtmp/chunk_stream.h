#pragma once
// The RTMP chunk stream: messages are cut into chunks of at most chunk_size
// bytes, interleaved across chunk stream ids, with compressed headers
// (fmt 0..3). ChunkReader reassembles messages from received bytes and
// applies Set Chunk Size / Abort itself, since they change how the very
// next bytes are parsed. ChunkWriter does the reverse for what we send.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sigma::rtmp {

// Message type ids (RTMP spec 5.4 and 7.1).
enum MessageType : uint8_t {
  kSetChunkSize = 1, kAbort = 2, kAck = 3, kUserControl = 4, kWindowAckSize = 5, kSetPeerBandwidth = 6,
  kAudio = 8, kVideo = 9, kDataAmf3 = 15, kSharedObjectAmf3 = 16, kCommandAmf3 = 17,
  kDataAmf0 = 18, kSharedObjectAmf0 = 19, kCommandAmf0 = 20, kAggregate = 22,
};

struct Message {
  uint8_t type = 0;
  uint32_t stream_id = 0;
  uint32_t timestamp = 0;  // ms, 32-bit, wraps
  uint32_t csid = 0;
  std::string payload;
};

struct ChunkLimits {
  uint32_t max_message_size = 8 << 20;   // one message (a video frame)
  size_t max_chunk_streams = 32;         // csids with state
  size_t max_pending_bytes = 16 << 20;   // partial messages, all csids together
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkLimits limits = {}) : limits_(limits) {}

  // Parses whole chunks from the front of data; sets consumed to the bytes
  // used (the rest waits for more input) and appends completed messages.
  Status feed(std::string_view data, size_t& consumed, std::vector<Message>& out);
  uint32_t chunk_size() const { return chunk_size_; }

 private:
  struct StreamState {
    bool has_header = false;
    uint32_t timestamp = 0;  // of the message being assembled (absolute)
    uint32_t delta = 0;      // last delta, reused by fmt 3 starts
    uint32_t length = 0;
    uint8_t type = 0;
    uint32_t stream_id = 0;
    bool extended = false;   // last header used an extended timestamp
    std::string payload;     // partial message
  };
  Status apply_control(const Message& m);

  ChunkLimits limits_;
  uint32_t chunk_size_ = 128;
  size_t pending_ = 0;
  std::map<uint32_t, StreamState> streams_;
};

class ChunkWriter {
 public:
  // Appends msg as chunks to out (fmt 0 then fmt 3 continuations).
  void write(std::string& out, const Message& msg) const;
  void set_chunk_size(uint32_t n) { chunk_size_ = n; }
  uint32_t chunk_size() const { return chunk_size_; }

 private:
  uint32_t chunk_size_ = 128;
};

}  // namespace sigma::rtmp
