#include "rtmp/session.h"

#include "base/log.h"

namespace sigma::rtmp {

namespace {

constexpr uint32_t kControlCsid = 2;
constexpr uint32_t kCommandCsid = 3;
constexpr uint32_t kStatusCsid = 5;

std::string be32(uint32_t v) {
  std::string s;
  for (int i = 24; i >= 0; i -= 8) s.push_back(char(v >> i));
  return s;
}

uint32_t read_be(std::string_view s, size_t off, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | uint8_t(s[off + i]);
  return v;
}

}  // namespace

RtmpSession::RtmpSession(SessionHandler& handler, SessionLimits limits)
    : handler_(handler), limits_(limits), reader_(limits.chunk) {}

void RtmpSession::end() {
  if (publishing_) {
    publishing_ = false;
    handler_.on_unpublish();
  }
}

Status RtmpSession::on_data(std::string_view data, std::string& out) {
  bytes_in_ += data.size();
  in_.append(data);
  size_t consumed = 0;
  if (!handshake_.done()) {
    SIGMA_RETURN_IF_ERROR(handshake_.feed(std::string_view(in_).substr(in_pos_), consumed, out));
    in_pos_ += consumed;
  }
  Status st;
  if (handshake_.done() && !closing_) {
    messages_.clear();
    st = reader_.feed(std::string_view(in_).substr(in_pos_), consumed, messages_);
    in_pos_ += consumed;
    // Messages completed before a framing error still count.
    for (auto& m : messages_) {
      if (closing_) break;
      Status hs = handle(m, out);
      if (!hs.is_ok()) {
        st = hs;
        break;
      }
    }
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 65536) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  if (peer_window_ > 0 && bytes_in_ - acked_ >= peer_window_) {
    acked_ = bytes_in_;
    send(out, kControlCsid, kAck, 0, be32(uint32_t(bytes_in_)));
  }
  return st;
}

void RtmpSession::send(std::string& out, uint32_t csid, uint8_t type, uint32_t stream_id, std::string payload) {
  Message m;
  m.csid = csid;
  m.type = type;
  m.stream_id = stream_id;
  m.payload = std::move(payload);
  writer_.write(out, m);
}

void RtmpSession::send_command(std::string& out, uint32_t csid, uint32_t stream_id,
                               const std::vector<AmfValue>& values) {
  std::string p;
  for (const auto& v : values) amf0_encode(p, v);
  send(out, csid, kCommandAmf0, stream_id, std::move(p));
}

void RtmpSession::send_status(std::string& out, uint32_t stream_id, const std::string& level,
                              const std::string& code, const std::string& description) {
  send_command(out, kStatusCsid, stream_id,
               {AmfValue::str("onStatus"), AmfValue::num(0), AmfValue::null(),
                AmfValue::object({{"level", AmfValue::str(level)},
                                  {"code", AmfValue::str(code)},
                                  {"description", AmfValue::str(description)}})});
}

int64_t RtmpSession::unwrap(bool video, uint32_t ts) {
  Clock& c = clocks_[video ? 1 : 0];
  if (c.started) {
    // A big backwards step across the 32-bit boundary is a wrap.
    if (ts < c.last && c.last - ts > 0x80000000u) c.high += int64_t(1) << 32;
  }
  c.started = true;
  c.last = ts;
  return c.high + ts;
}

Status RtmpSession::handle(Message& m, std::string& out) {
  switch (m.type) {
    case kSetChunkSize:
    case kAbort:
    case kAck:
    case kSetPeerBandwidth: return {};
    case kWindowAckSize:
      if (m.payload.size() >= 4) peer_window_ = read_be(m.payload, 0, 4);
      return {};
    case kUserControl: {
      if (m.payload.size() < 2) return data_error("user control message too short");
      uint32_t event = read_be(m.payload, 0, 2);
      if (event == 6 && m.payload.size() >= 6) {  // PingRequest -> PingResponse
        std::string p;
        p.push_back(0);
        p.push_back(7);
        p.append(m.payload, 2, 4);
        send(out, kControlCsid, kUserControl, 0, std::move(p));
      }
      return {};
    }
    case kCommandAmf3:
      // AMF3 commands start with a format byte, then AMF0 values.
      if (m.payload.empty()) return data_error("empty AMF3 command");
      return handle_command(m, std::string_view(m.payload).substr(1), out);
    case kCommandAmf0: return handle_command(m, m.payload, out);
    case kDataAmf3:
      if (m.payload.empty()) return {};
      return handle_data(std::string_view(m.payload).substr(1));
    case kDataAmf0: return handle_data(m.payload);
    case kAudio:
    case kVideo: return handle_media(m, m.payload, m.timestamp);
    case kAggregate: return handle_aggregate(m);
    default: return {};  // shared objects and unknown types: ignored
  }
}

Status RtmpSession::handle_command(const Message& m, std::string_view payload, std::string& out) {
  if (!publishing_ && ++commands_ > limits_.max_commands_before_publish)
    return data_error("too many commands without publishing");
  SIGMA_ASSIGN_OR_RETURN(auto values, amf0_decode(payload));
  if (values.empty() || !values[0].is_string()) return data_error("command without a name");
  const std::string& name = values[0].string;
  double txn = values.size() > 1 && values[1].is_number() ? values[1].number : 0;

  if (name == "connect") {
    if (values.size() > 2 && values[2].type == AmfValue::Type::kObject)
      app_ = values[2].get_string("app").value_or("");
    send(out, kControlCsid, kWindowAckSize, 0, be32(limits_.window_ack_size));
    send(out, kControlCsid, kSetPeerBandwidth, 0, be32(limits_.window_ack_size) + std::string(1, '\2'));
    send(out, kControlCsid, kSetChunkSize, 0, be32(limits_.out_chunk_size));
    writer_.set_chunk_size(limits_.out_chunk_size);
    send_command(out, kCommandCsid, 0,
                 {AmfValue::str("_result"), AmfValue::num(txn),
                  AmfValue::object({{"fmsVer", AmfValue::str("FMS/3,0,1,123")}, {"capabilities", AmfValue::num(31)}}),
                  AmfValue::object({{"level", AmfValue::str("status")},
                                    {"code", AmfValue::str("NetConnection.Connect.Success")},
                                    {"description", AmfValue::str("Connection succeeded.")},
                                    {"objectEncoding", AmfValue::num(0)}})});
    return {};
  }
  if (name == "createStream") {
    if (next_stream_id_ > 8) return data_error("too many streams created");
    send_command(out, kCommandCsid, 0,
                 {AmfValue::str("_result"), AmfValue::num(txn), AmfValue::null(),
                  AmfValue::num(next_stream_id_++)});
    return {};
  }
  if (name == "releaseStream" || name == "FCPublish" || name == "_checkbw" || name == "getStreamLength") {
    if (txn != 0)
      send_command(out, kCommandCsid, 0,
                   {AmfValue::str("_result"), AmfValue::num(txn), AmfValue::null(), AmfValue::undefined()});
    return {};
  }
  if (name == "publish") {
    if (publishing_) return data_error("publish while already publishing");
    std::string key = values.size() > 3 && values[3].is_string() ? values[3].string : "";
    if (auto q = key.find('?'); q != std::string::npos) key.resize(q);
    PublishVerdict v = handler_.on_publish({app_, key});
    if (v != PublishVerdict::kAccept) {
      send_status(out, m.stream_id, "error", "NetStream.Publish.BadName",
                  v == PublishVerdict::kBusy ? "Stream already publishing." : "Stream key refused.");
      closing_ = true;
      return {};
    }
    publishing_ = true;
    publish_stream_ = m.stream_id;
    // User control Stream Begin, then Publish.Start.
    std::string p;
    p.push_back(0);
    p.push_back(0);
    p += be32(m.stream_id);
    send(out, kControlCsid, kUserControl, 0, std::move(p));
    send_status(out, m.stream_id, "status", "NetStream.Publish.Start", "Publishing.");
    return {};
  }
  if (name == "FCUnpublish" || name == "deleteStream" || name == "closeStream") {
    end();
    return {};
  }
  if (name == "play" || name == "play2") {
    send_status(out, m.stream_id, "error", "NetStream.Play.Failed", "This server only accepts publishers.");
    closing_ = true;
    return {};
  }
  return {};  // unknown commands (onBWDone replies, custom calls) are ignored
}

Status RtmpSession::handle_data(std::string_view payload) {
  if (!publishing_) return {};
  auto values = amf0_decode(payload);
  if (!values.is_ok()) {
    spdlog::debug("ignoring undecodable data message: {}", values.status().message());
    return {};
  }
  auto& v = *values;
  size_t i = 0;
  if (i < v.size() && v[i].is_string() && v[i].string == "@setDataFrame") ++i;
  if (i < v.size() && v[i].is_string() && v[i].string == "onMetaData" && i + 1 < v.size())
    handler_.on_metadata(v[i + 1]);
  return {};
}

Status RtmpSession::handle_media(const Message& m, std::string_view body, uint32_t timestamp) {
  if (!publishing_ || m.stream_id != publish_stream_) return {};
  bool video = m.type == kVideo;
  auto pkt = video ? parse_video_tag(body) : parse_audio_tag(body);
  if (!pkt.is_ok()) return pkt.status();
  if (pkt->kind == FlvPacket::Kind::kIgnore) return {};
  return handler_.on_media(*pkt, unwrap(video, timestamp));
}

Status RtmpSession::handle_aggregate(const Message& m) {
  // A run of FLV tags (11-byte header, body, 4-byte back pointer); their
  // timestamps are rebased on the aggregate message's own.
  std::string_view p = m.payload;
  bool first = true;
  uint32_t base = 0;
  while (p.size() >= 11) {
    uint8_t type = uint8_t(p[0]) & 0x1F;
    uint32_t size = read_be(p, 1, 3);
    uint32_t ts = read_be(p, 4, 3) | uint32_t(uint8_t(p[7])) << 24;
    if (p.size() < 11 + size) return data_error("aggregate message truncated");
    if (first) {
      base = ts;
      first = false;
    }
    Message sub;
    sub.type = type;
    sub.stream_id = m.stream_id;
    if (type == kAudio || type == kVideo)
      SIGMA_RETURN_IF_ERROR(handle_media(sub, p.substr(11, size), m.timestamp + (ts - base)));
    size_t skip = std::min<size_t>(p.size(), 11 + size + 4);
    p.remove_prefix(skip);
  }
  return {};
}

}  // namespace sigma::rtmp
