// libFuzzer target over everything a publisher controls: the chunk
// stream, AMF0 commands, FLV/Enhanced-RTMP tag bodies, and the PAT/PMT of
// an SRT source. The session is
// driven past the handshake so the input reaches the message parsers.
// Build and run: tests/fuzz/build.sh DIR && DIR/rtmp_fuzzer -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/ts_probe.h"
#include "rtmp/amf0.h"
#include "rtmp/flv.h"
#include "rtmp/session.h"

namespace {

class AcceptAll : public sigma::rtmp::SessionHandler {
 public:
  sigma::rtmp::PublishVerdict on_publish(const sigma::rtmp::PublishRequest& req) override {
    return req.name.size() % 2 ? sigma::rtmp::PublishVerdict::kAccept : sigma::rtmp::PublishVerdict::kBadName;
  }
  void on_metadata(const sigma::rtmp::AmfValue& meta) override { (void)meta.get_number("width"); }
  sigma::Status on_media(const sigma::rtmp::FlvPacket& pkt, int64_t) override {
    if (pkt.kind == sigma::rtmp::FlvPacket::Kind::kConfig && !pkt.video) {
      int rate = 0, ch = 0;
      (void)sigma::rtmp::parse_aac_config(pkt.data, rate, ch);
    }
    volatile size_t n = pkt.data.size();
    (void)n;
    return {};
  }
  void on_unpublish() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // The parsers on their own.
  (void)sigma::rtmp::amf0_decode(in);
  (void)sigma::rtmp::parse_video_tag(in);
  (void)sigma::rtmp::parse_audio_tag(in);
  sigma::ingest::TsProbe probe;  // SRT sources' PAT/PMT
  (void)probe.feed(data, size / 188 * 188);

  // A whole session: a valid handshake, then the input as the chunk
  // stream, cut into reads at a point the input chooses.
  AcceptAll handler;
  sigma::rtmp::SessionLimits limits;
  limits.chunk.max_message_size = 1 << 20;
  limits.chunk.max_pending_bytes = 2 << 20;
  sigma::rtmp::RtmpSession session(handler, limits);
  std::string out;
  std::string hs(1 + 2 * sigma::rtmp::kHandshakeSize, '\0');
  hs[0] = 3;
  if (!session.on_data(hs, out).is_ok()) return 0;
  size_t cut = size ? data[0] % (size + 1) : 0;
  if (!session.on_data(in.substr(0, cut), out).is_ok() || session.closing()) return 0;
  (void)session.on_data(in.substr(cut), out);
  session.end();
  return 0;
}
