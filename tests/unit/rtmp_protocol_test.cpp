// The RTMP protocol layer without sockets: AMF0, the chunk stream, FLV and
// Enhanced RTMP tag parsing, and a publisher session from handshake to
// Publish.Start / BadName.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rtmp/amf0.h"
#include "rtmp/chunk_stream.h"
#include "rtmp/flv.h"
#include "rtmp/session.h"

using namespace sigma;
using namespace sigma::rtmp;

TEST(Amf0, RoundTripsCommandValues) {
  std::string buf;
  amf0_encode(buf, AmfValue::str("connect"));
  amf0_encode(buf, AmfValue::num(1));
  amf0_encode(buf, AmfValue::object({{"app", AmfValue::str("live")}, {"flag", AmfValue::boolean_value(true)}}));
  amf0_encode(buf, AmfValue::null());
  auto v = amf0_decode(buf);
  ASSERT_TRUE(v.is_ok()) << v.status().message();
  ASSERT_EQ(v->size(), 4u);
  EXPECT_EQ((*v)[0].string, "connect");
  EXPECT_EQ((*v)[1].number, 1.0);
  EXPECT_EQ((*v)[2].get_string("app").value_or(""), "live");
  EXPECT_EQ((*v)[2].get_number("flag").value_or(0), 1.0);
  EXPECT_EQ((*v)[3].type, AmfValue::Type::kNull);
}

TEST(Amf0, RefusesTruncatedDeepAndUnknownInput) {
  std::string buf;
  amf0_encode(buf, AmfValue::str("publish"));
  EXPECT_FALSE(amf0_decode(std::string_view(buf).substr(0, buf.size() - 2)).is_ok());
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += std::string("\x03\x00\x01k", 4);
  EXPECT_EQ(amf0_decode(deep).status().code(), ExitCode::kData);
  EXPECT_FALSE(amf0_decode(std::string("\x11\x00", 2)).is_ok());  // AMF3 switch
  // A strict array claiming four billion elements.
  EXPECT_FALSE(amf0_decode(std::string("\x0a\xff\xff\xff\xff", 5)).is_ok());
}

TEST(Amf0, ReadsEcmaArrayMetadata) {
  AmfValue meta;
  meta.type = AmfValue::Type::kEcmaArray;
  meta.props = {{"width", AmfValue::num(1280)}, {"encoder", AmfValue::str("obs-output module")}};
  std::string buf;
  amf0_encode(buf, AmfValue::str("onMetaData"));
  amf0_encode(buf, meta);
  auto v = amf0_decode(buf);
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ((*v)[1].get_number("width").value_or(0), 1280);
}

namespace {
Message msg(uint32_t csid, uint8_t type, uint32_t ts, std::string payload, uint32_t stream = 1) {
  Message m;
  m.csid = csid;
  m.type = type;
  m.timestamp = ts;
  m.stream_id = stream;
  m.payload = std::move(payload);
  return m;
}
}  // namespace

TEST(ChunkStream, WriterAndReaderAgreeAcrossSizesAndExtendedTimestamps) {
  for (uint32_t size : {128u, 1000u, 4096u}) {
    ChunkWriter w;
    w.set_chunk_size(size);
    std::string wire;
    // The reader must learn the size from a Set Chunk Size message first.
    ChunkWriter control;
    control.write(wire, msg(2, kSetChunkSize, 0, std::string("\0\0", 2) + char(size >> 8) + char(size & 0xFF), 0));
    std::vector<Message> sent = {msg(6, kVideo, 40, std::string(5000, 'v')),
                                 msg(4, kAudio, 0x1000000, std::string(300, 'a')),  // extended timestamp
                                 msg(300, kVideo, 80, std::string(129, 'x')),        // 2-byte csid
                                 msg(60000, kDataAmf0, 5, "meta")};                  // 3-byte csid
    for (const auto& m : sent) w.write(wire, m);
    ChunkReader r;
    std::vector<Message> got;
    // Feed byte by byte in odd slices to exercise partial chunks.
    size_t pos = 0;
    std::string pending;
    while (pos < wire.size()) {
      pending += wire.substr(pos, 7);
      pos += 7;
      size_t used = 0;
      ASSERT_TRUE(r.feed(pending, used, got).is_ok());
      pending.erase(0, used);
    }
    ASSERT_EQ(got.size(), sent.size() + 1);
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(got[i + 1].payload, sent[i].payload);
      EXPECT_EQ(got[i + 1].timestamp, sent[i].timestamp);
      EXPECT_EQ(got[i + 1].csid, sent[i].csid);
    }
    EXPECT_EQ(r.chunk_size(), size);
  }
}

TEST(ChunkStream, AppliesDeltasOfCompressedHeaders) {
  // fmt 0 at t=100, then fmt 2 (delta 33), then fmt 3 (same delta again).
  std::string wire;
  auto hdr0 = [&](uint32_t ts, uint32_t len) {
    wire += char(0x06);
    wire += {char(ts >> 16), char(ts >> 8), char(ts)};
    wire += {char(len >> 16), char(len >> 8), char(len)};
    wire += char(kVideo);
    wire += std::string("\x01\x00\x00\x00", 4);
  };
  hdr0(100, 2);
  wire += "ab";
  wire += char(0x86);
  wire += std::string("\x00\x00\x21", 3);
  wire += "cd";
  wire += char(0xC6);
  wire += "ef";
  ChunkReader r;
  std::vector<Message> got;
  size_t used = 0;
  ASSERT_TRUE(r.feed(wire, used, got).is_ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].timestamp, 100u);
  EXPECT_EQ(got[1].timestamp, 133u);
  EXPECT_EQ(got[2].timestamp, 166u);
  EXPECT_EQ(got[2].payload, "ef");
}

TEST(ChunkStream, RefusesOversizedMessagesAndHeaderlessStreams) {
  ChunkLimits lim;
  lim.max_message_size = 1000;
  ChunkReader r(lim);
  std::vector<Message> got;
  size_t used = 0;
  std::string big = std::string("\x03\x00\x00\x00\x00\x10\x00\x14\x00\x00\x00\x00", 12);
  EXPECT_EQ(r.feed(big, used, got).code(), ExitCode::kData);
  ChunkReader r2;
  EXPECT_FALSE(r2.feed(std::string("\x43\x00\x00\x00\x00\x00\x05\x09" "ab", 10), used, got).is_ok());
}

TEST(Flv, ParsesLegacyAvcAndAac) {
  auto v = parse_video_tag(std::string("\x17\x01\x00\x00\x21" "NALU", 9));
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v->vcodec, VideoCodec::kH264);
  EXPECT_TRUE(v->keyframe);
  EXPECT_EQ(v->kind, FlvPacket::Kind::kFrame);
  EXPECT_EQ(v->composition_ms, 33);
  EXPECT_EQ(v->data, "NALU");
  auto neg = parse_video_tag(std::string("\x27\x01\xff\xff\xfe" "x", 6));
  EXPECT_EQ(neg->composition_ms, -2);
  auto a = parse_audio_tag(std::string("\xaf\x00\x11\x90", 4));
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->kind, FlvPacket::Kind::kConfig);
  int rate = 0, ch = 0;
  ASSERT_TRUE(parse_aac_config(a->data, rate, ch).is_ok());
  EXPECT_EQ(rate, 48000);
  EXPECT_EQ(ch, 2);
}

TEST(Flv, ParsesEnhancedRtmpByFourCC) {
  // IsExHeader | keyframe (1) | CodedFrames (1), 'hvc1', SI24 cts, data.
  auto h = parse_video_tag(std::string("\x91hvc1\x00\x00\x28" "frame", 13));
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->vcodec, VideoCodec::kHevc);
  EXPECT_TRUE(h->keyframe);
  EXPECT_EQ(h->composition_ms, 40);
  EXPECT_EQ(h->data, "frame");
  // CodedFramesX: no composition time.
  auto x = parse_video_tag(std::string("\xa3hvc1" "frame", 10));
  EXPECT_EQ(x->kind, FlvPacket::Kind::kFrame);
  EXPECT_FALSE(x->keyframe);
  EXPECT_EQ(x->data, "frame");
  // AV1 sequence start carries the av1C record.
  auto av1 = parse_video_tag(std::string("\x90" "av01\x81\x00", 7));
  EXPECT_EQ(av1->vcodec, VideoCodec::kAv1);
  EXPECT_EQ(av1->kind, FlvPacket::Kind::kConfig);
  // AV1 CodedFrames has no composition time field.
  auto av1f = parse_video_tag(std::string("\x91" "av01OBU", 8));
  EXPECT_EQ(av1f->data, "OBU");
  auto vp9 = parse_video_tag(std::string("\x90vp09", 5));
  EXPECT_FALSE(vp9.is_ok());
  EXPECT_NE(vp9.status().message().find("vp09"), std::string::npos);
}

TEST(Flv, NamesUnsupportedLegacyCodecs) {
  auto v = parse_video_tag(std::string("\x12\x00", 2));  // Sorenson H.263
  EXPECT_EQ(v.status().code(), ExitCode::kData);
  EXPECT_NE(v.status().message().find("h263"), std::string::npos);
  auto a = parse_audio_tag(std::string("\x6f\x00", 2));  // Nellymoser
  EXPECT_NE(a.status().message().find("nellymoser"), std::string::npos);
}

namespace {

class Recorder : public SessionHandler {
 public:
  PublishVerdict verdict = PublishVerdict::kAccept;
  std::vector<std::string> keys;
  std::vector<FlvPacket::Kind> kinds;
  int unpublished = 0;
  PublishVerdict on_publish(const PublishRequest& req) override {
    keys.push_back(req.app + "/" + req.name);
    return verdict;
  }
  void on_metadata(const AmfValue&) override {}
  Status on_media(const FlvPacket& pkt, int64_t) override {
    kinds.push_back(pkt.kind);
    return {};
  }
  void on_unpublish() override { ++unpublished; }
};

std::string command(const std::vector<AmfValue>& vals, uint32_t stream = 0) {
  std::string p;
  for (const auto& v : vals) amf0_encode(p, v);
  std::string wire;
  ChunkWriter().write(wire, msg(3, kCommandAmf0, 0, p, stream));
  return wire;
}

std::string client_publish(const std::string& key) {
  std::string c(1 + 2 * kHandshakeSize, '\0');
  c[0] = 3;
  c += command({AmfValue::str("connect"), AmfValue::num(1), AmfValue::object({{"app", AmfValue::str("live")}})});
  c += command({AmfValue::str("createStream"), AmfValue::num(2), AmfValue::null()});
  c += command({AmfValue::str("publish"), AmfValue::num(3), AmfValue::null(), AmfValue::str(key + "?token=1"),
                AmfValue::str("live")},
               1);
  return c;
}

}  // namespace

TEST(Session, AcceptsAPublisherAndDeliversMedia) {
  Recorder h;
  RtmpSession s(h);
  std::string out;
  std::string in = client_publish("k3y");
  ChunkWriter w;
  w.write(in, msg(6, kVideo, 0, std::string("\x17\x00\x00\x00\x00\x01\x64\x00\x1f", 9)));
  w.write(in, msg(6, kVideo, 33, std::string("\x27\x01\x00\x00\x00" "abc", 8)));
  ASSERT_TRUE(s.on_data(in, out).is_ok());
  ASSERT_EQ(h.keys.size(), 1u);
  EXPECT_EQ(h.keys[0], "live/k3y");  // query string stripped
  EXPECT_TRUE(s.publishing());
  EXPECT_NE(out.find("NetConnection.Connect.Success"), std::string::npos);
  EXPECT_NE(out.find("NetStream.Publish.Start"), std::string::npos);
  ASSERT_EQ(h.kinds.size(), 2u);
  EXPECT_EQ(h.kinds[0], FlvPacket::Kind::kConfig);
  EXPECT_EQ(h.kinds[1], FlvPacket::Kind::kFrame);
  s.end();
  s.end();
  EXPECT_EQ(h.unpublished, 1);
}

TEST(Session, RefusesABadKeyWithBadName) {
  Recorder h;
  h.verdict = PublishVerdict::kBadName;
  RtmpSession s(h);
  std::string out;
  ASSERT_TRUE(s.on_data(client_publish("wrong"), out).is_ok());
  EXPECT_TRUE(s.closing());
  EXPECT_FALSE(s.publishing());
  EXPECT_NE(out.find("NetStream.Publish.BadName"), std::string::npos);
  EXPECT_EQ(out.find("wrong"), std::string::npos);  // never echoed back
}

TEST(Session, RefusesEncryptedHandshake) {
  Recorder h;
  RtmpSession s(h);
  std::string out;
  EXPECT_FALSE(s.on_data(std::string(1, '\x06'), out).is_ok());
}
