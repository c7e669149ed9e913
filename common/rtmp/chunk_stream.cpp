#include "rtmp/chunk_stream.h"

namespace sigma::rtmp {

namespace {
uint32_t be24(const uint8_t* p) { return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]; }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | be24(p + 1); }
uint32_t le32(const uint8_t* p) { return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]; }
}  // namespace

Status ChunkReader::apply_control(const Message& m) {
  if (m.stream_id != 0 && m.type <= kSetPeerBandwidth) {
    // Protocol control messages travel on stream 0; tolerate others but
    // still honour them, as librtmp does.
  }
  if (m.type == kSetChunkSize) {
    if (m.payload.size() < 4) return data_error("Set Chunk Size message too short");
    uint32_t n = be32(reinterpret_cast<const uint8_t*>(m.payload.data())) & 0x7FFFFFFF;
    if (n < 1) return data_error("Set Chunk Size of 0");
    // Larger than a whole message makes no sense; clamp rather than refuse.
    chunk_size_ = std::min(n, std::max<uint32_t>(limits_.max_message_size, 128));
  } else if (m.type == kAbort) {
    if (m.payload.size() < 4) return data_error("Abort message too short");
    uint32_t csid = be32(reinterpret_cast<const uint8_t*>(m.payload.data()));
    auto it = streams_.find(csid);
    if (it != streams_.end()) {
      pending_ -= it->second.payload.size();
      it->second.payload.clear();
    }
  }
  return {};
}

Status ChunkReader::feed(std::string_view data, size_t& consumed, std::vector<Message>& out) {
  consumed = 0;
  const auto* base = reinterpret_cast<const uint8_t*>(data.data());
  for (;;) {
    size_t pos = consumed;
    size_t avail = data.size() - pos;
    if (avail < 1) return {};
    const uint8_t* p = base + pos;
    uint8_t fmt = p[0] >> 6;
    uint32_t csid = p[0] & 0x3F;
    size_t hdr = 1;
    if (csid == 0) {
      if (avail < 2) return {};
      csid = 64 + p[1];
      hdr = 2;
    } else if (csid == 1) {
      if (avail < 3) return {};
      csid = 64 + p[1] + 256u * p[2];
      hdr = 3;
    }
    static constexpr size_t kHeaderSize[4] = {11, 7, 3, 0};
    size_t mh = kHeaderSize[fmt];
    if (avail < hdr + mh) return {};

    auto it = streams_.find(csid);
    if (it == streams_.end()) {
      if (fmt != 0) return data_error("chunk stream " + std::to_string(csid) + " starts without a full header");
      if (streams_.size() >= limits_.max_chunk_streams) return data_error("too many chunk streams");
      it = streams_.emplace(csid, StreamState{}).first;
    }
    StreamState& s = it->second;
    const uint8_t* h = p + hdr;
    bool starting = s.payload.empty();
    if (fmt != 3 && !starting) return data_error("new message header inside an unfinished message");

    uint32_t ts_field = 0;
    if (fmt <= 2) ts_field = be24(h);
    bool extended = fmt <= 2 ? ts_field == 0xFFFFFF : s.extended;
    size_t ext = extended ? 4 : 0;
    if (avail < hdr + mh + ext) return {};
    uint32_t ts_value = extended ? be32(h + mh) : ts_field;

    // Work on copies: nothing is committed until the whole chunk is here.
    StreamState next = {s.has_header, s.timestamp, s.delta, s.length, s.type, s.stream_id, extended, {}};
    if (fmt == 0) {
      next.length = be24(h + 3);
      next.type = h[6];
      next.stream_id = le32(h + 7);
      next.timestamp = ts_value;
      next.delta = 0;
      next.has_header = true;
    } else if (fmt == 1) {
      next.length = be24(h + 3);
      next.type = h[6];
      next.delta = ts_value;
      next.timestamp = s.timestamp + ts_value;
    } else if (fmt == 2) {
      next.delta = ts_value;
      next.timestamp = s.timestamp + ts_value;
    } else if (starting) {
      // fmt 3 starting a new message: same header, same delta again.
      if (!s.has_header) return data_error("chunk continuation without a header");
      next.timestamp = s.timestamp + s.delta;
    }
    if (next.length > limits_.max_message_size)
      return data_error("message of " + std::to_string(next.length) + " bytes exceeds the limit");

    size_t have = starting ? 0 : s.payload.size();
    size_t take = std::min<size_t>(chunk_size_, next.length - have);
    size_t total = hdr + mh + ext + take;
    if (avail < total) return {};
    if (pending_ + take > limits_.max_pending_bytes) return data_error("too much partial message data");

    s.has_header = next.has_header;
    s.length = next.length;
    s.type = next.type;
    s.stream_id = next.stream_id;
    s.extended = next.extended;
    if (starting) {
      s.timestamp = next.timestamp;
      s.delta = next.delta;
    }
    s.payload.append(reinterpret_cast<const char*>(p + hdr + mh + ext), take);
    pending_ += take;
    consumed += total;

    if (s.payload.size() == s.length) {
      Message m;
      m.type = s.type;
      m.stream_id = s.stream_id;
      m.timestamp = s.timestamp;
      m.csid = csid;
      m.payload = std::move(s.payload);
      s.payload.clear();
      pending_ -= m.payload.size();
      if (m.type == kSetChunkSize || m.type == kAbort) SIGMA_RETURN_IF_ERROR(apply_control(m));
      out.push_back(std::move(m));
    }
  }
}

void ChunkWriter::write(std::string& out, const Message& msg) const {
  auto basic_header = [&](uint8_t fmt) {
    uint32_t c = msg.csid;
    if (c < 64) {
      out.push_back(char(fmt << 6 | c));
    } else if (c < 320) {
      out.push_back(char(fmt << 6));
      out.push_back(char(c - 64));
    } else {
      out.push_back(char(fmt << 6 | 1));
      out.push_back(char((c - 64) & 0xFF));
      out.push_back(char((c - 64) >> 8));
    }
  };
  bool extended = msg.timestamp >= 0xFFFFFF;
  auto put_ext = [&] {
    if (!extended) return;
    for (int s = 24; s >= 0; s -= 8) out.push_back(char(msg.timestamp >> s));
  };
  basic_header(0);
  uint32_t ts = extended ? 0xFFFFFF : msg.timestamp;
  uint32_t len = uint32_t(msg.payload.size());
  for (int s = 16; s >= 0; s -= 8) out.push_back(char(ts >> s));
  for (int s = 16; s >= 0; s -= 8) out.push_back(char(len >> s));
  out.push_back(char(msg.type));
  for (int s = 0; s < 32; s += 8) out.push_back(char(msg.stream_id >> s));
  put_ext();
  size_t pos = 0;
  do {
    size_t n = std::min<size_t>(chunk_size_, msg.payload.size() - pos);
    out.append(msg.payload, pos, n);
    pos += n;
    if (pos < msg.payload.size()) {
      basic_header(3);
      put_ext();
    }
  } while (pos < msg.payload.size());
}

}  // namespace sigma::rtmp
