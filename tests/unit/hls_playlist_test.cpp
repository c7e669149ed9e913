// Golden strings for every tag the playlist writer emits (RFC 8216bis).
#include <gtest/gtest.h>

#include "hls/codec_string.h"
#include "hls/master_playlist.h"
#include "hls/media_playlist.h"

using namespace sigma::hls;

namespace {
Segment seg(int64_t msn, double d, bool disc = false, std::string map = "init.mp4") {
  Segment s;
  s.msn = msn;
  s.duration = d;
  s.uri = "seg-" + std::to_string(msn) + ".m4s";
  s.map_uri = std::move(map);
  s.discontinuity = disc;
  return s;
}
}  // namespace

TEST(FormatDecimal, TrimsAndRoundsUp) {
  EXPECT_EQ(format_decimal(6.0), "6");
  EXPECT_EQ(format_decimal(2.00533333), "2.00533");
  EXPECT_EQ(format_decimal(1.0 / 3, 5, true), "0.33334");
  EXPECT_EQ(format_decimal(0.5, 5, true), "0.5");
  EXPECT_EQ(format_decimal(1.0, 5, true), "1");
}

TEST(MediaPlaylist, LiveWindowWithProgramDateTime) {
  MediaPlaylist p;
  p.target_duration = 6;
  p.segments.push_back(seg(41, 6.0));
  p.segments.back().program_date_time_ms = 1795514400000;  // 2026-11-24T10:00:00Z
  p.segments.push_back(seg(42, 5.96667));
  p.segments.back().program_date_time_ms = 1795514406000;
  EXPECT_EQ(render(p),
            "#EXTM3U\n"
            "#EXT-X-VERSION:7\n"
            "#EXT-X-TARGETDURATION:6\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA-SEQUENCE:41\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:00.000Z\n"
            "#EXTINF:6,\n"
            "seg-41.m4s\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:06.000Z\n"
            "#EXTINF:5.96667,\n"
            "seg-42.m4s\n");
}

TEST(MediaPlaylist, GapSegmentsAreTaggedBeforeTheirExtinf) {
  MediaPlaylist p;
  p.target_duration = 2;
  p.segments.push_back(seg(5, 2));
  p.segments.push_back(seg(6, 2));
  p.segments.back().gap = true;
  p.segments.push_back(seg(7, 1.5));
  p.segments.back().gap = true;
  p.segments.push_back(seg(8, 2));
  EXPECT_EQ(render(p),
            "#EXTM3U\n"
            "#EXT-X-VERSION:7\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA-SEQUENCE:5\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXTINF:2,\n"
            "seg-5.m4s\n"
            "#EXT-X-GAP\n"
            "#EXTINF:2,\n"
            "seg-6.m4s\n"
            "#EXT-X-GAP\n"
            "#EXTINF:1.5,\n"
            "seg-7.m4s\n"
            "#EXTINF:2,\n"
            "seg-8.m4s\n");
}

TEST(MediaPlaylist, DiscontinuityNewMapAndEndlist) {
  MediaPlaylist p;
  p.target_duration = 2;
  p.discontinuity_sequence = 3;
  p.segments.push_back(seg(7, 2));
  p.segments.push_back(seg(8, 1.5));
  p.segments.push_back(seg(9, 2, true, "init-9.mp4"));
  p.segments.push_back(seg(10, 2, false, "init-9.mp4"));
  p.ended = true;
  EXPECT_EQ(render(p),
            "#EXTM3U\n"
            "#EXT-X-VERSION:7\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA-SEQUENCE:7\n"
            "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXTINF:2,\n"
            "seg-7.m4s\n"
            "#EXTINF:1.5,\n"
            "seg-8.m4s\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-MAP:URI=\"init-9.mp4\"\n"
            "#EXTINF:2,\n"
            "seg-9.m4s\n"
            "#EXTINF:2,\n"
            "seg-10.m4s\n"
            "#EXT-X-ENDLIST\n");
}

TEST(MediaPlaylist, EventPlaylistType) {
  MediaPlaylist p;
  p.playlist_type = "EVENT";
  p.independent_segments = false;
  p.next_msn = 0;
  EXPECT_EQ(render(p),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n");
}

// Every LL-HLS tag: SERVER-CONTROL, PART-INF, PART (with and without
// INDEPENDENT), parts only on the last two complete segments while one is
// in progress (hls-parser counts that one as the third), the parts of the segment being built with its own tags,
// PRELOAD-HINT and RENDITION-REPORT.
TEST(MediaPlaylist, LowLatencyTags) {
  MediaPlaylist p;
  p.version = 9;
  p.target_duration = 1;
  LowLatency ll;
  ll.part_target = 1.0 / 3;
  ll.part_hold_back = 1.00002;
  ll.can_skip_until = 6;
  for (int64_t m = 20; m <= 23; ++m) {
    Segment s = seg(m, 1);
    for (int i = 0; i < 3; ++i)
      s.parts.push_back({1.0 / 3, "seg-" + std::to_string(m) + "." + std::to_string(i) + ".m4s", i == 0});
    p.segments.push_back(s);
  }
  p.segments.back().program_date_time_ms = 1795514403000;
  ll.pending_parts.push_back({1.0 / 3, "seg-24.0.m4s", true});
  ll.pending_discontinuity = true;
  ll.pending_map_uri = "init-24.mp4";
  ll.pending_program_date_time_ms = 1795514404000;
  ll.preload_hint_uri = "seg-24.1.m4s";
  ll.rendition_reports.push_back({"../v1/index.m3u8", 24, 0});
  ll.rendition_reports.push_back({"../a0/index.m3u8", 23, 2});
  p.low_latency = ll;
  EXPECT_EQ(render(p),
            "#EXTM3U\n"
            "#EXT-X-VERSION:9\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=1.00002\n"
            "#EXT-X-PART-INF:PART-TARGET=0.33334\n"
            "#EXT-X-MEDIA-SEQUENCE:20\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXTINF:1,\n"
            "seg-20.m4s\n"
            "#EXTINF:1,\n"
            "seg-21.m4s\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-22.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-22.1.m4s\"\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-22.2.m4s\"\n"
            "#EXTINF:1,\n"
            "seg-22.m4s\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:03.000Z\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-23.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-23.1.m4s\"\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-23.2.m4s\"\n"
            "#EXTINF:1,\n"
            "seg-23.m4s\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-MAP:URI=\"init-24.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:04.000Z\n"
            "#EXT-X-PART:DURATION=0.33333,URI=\"seg-24.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-24.1.m4s\"\n"
            "#EXT-X-RENDITION-REPORT:URI=\"../v1/index.m3u8\",LAST-MSN=24,LAST-PART=0\n"
            "#EXT-X-RENDITION-REPORT:URI=\"../a0/index.m3u8\",LAST-MSN=23,LAST-PART=2\n");
}

// Which segments list their parts: none starting more than three target
// durations from the end, on at most the last three segments (the one in
// progress counting when it has parts or a hint).
namespace {
MediaPlaylist with_parts(int target, double seg_duration, int segments, int parts_each, int pending) {
  MediaPlaylist p;
  p.version = 9;
  p.target_duration = target;
  LowLatency ll;
  ll.part_target = seg_duration / parts_each;
  ll.part_hold_back = 3 * ll.part_target;
  for (int64_t m = 0; m < segments; ++m) {
    Segment s = seg(m, seg_duration);
    for (int i = 0; i < parts_each; ++i)
      s.parts.push_back({seg_duration / parts_each, "seg-" + std::to_string(m) + "." + std::to_string(i) + ".m4s", i == 0});
    p.segments.push_back(s);
  }
  for (int i = 0; i < pending; ++i)
    ll.pending_parts.push_back({seg_duration / parts_each, "seg-" + std::to_string(segments) + "." + std::to_string(i) + ".m4s", i == 0});
  ll.preload_hint_uri = "seg-" + std::to_string(segments) + "." + std::to_string(pending) + ".m4s";
  p.low_latency = ll;
  return p;
}
// Media sequence numbers of the complete segments that list parts.
std::string listed(const MediaPlaylist& p) {
  std::string text = render(p), out;
  for (const Segment& s : p.segments)
    if (text.find("URI=\"seg-" + std::to_string(s.msn) + ".0.m4s\"") != std::string::npos)
      out += (out.empty() ? "" : ",") + std::to_string(s.msn);
  return out;
}
}  // namespace

TEST(MediaPlaylist, PartsOnlyWithinThreeTargetDurations) {
  // Ultra-low: 2 s segments of six parts, five of the next one published
  // (the sixth waits for the EXTINF): 1.67 + 2 + 2 s from the end.
  EXPECT_EQ(listed(with_parts(2, 2, 6, 6, 5)), "4,5");
  // Just after a segment ends, only a hint follows: still two (hls-parser
  // counts the hint's segment).
  EXPECT_EQ(listed(with_parts(2, 2, 6, 6, 0)), "4,5");
  // Ended: three complete segments (5.7 s) when they fit.
  MediaPlaylist ended = with_parts(2, 1.9, 6, 6, 0);
  ended.ended = true;
  EXPECT_EQ(listed(ended), "3,4,5");
  // 2.1 s segments: three would start 6.3 s from the end.
  MediaPlaylist longer = with_parts(2, 2.1, 6, 6, 0);
  longer.ended = true;
  EXPECT_EQ(listed(longer), "4,5");
  // A 4 s keyframe interval (target 4): 3.67 + 4 + 4 s.
  EXPECT_EQ(listed(with_parts(4, 4, 6, 12, 11)), "4,5");
}

TEST(MediaPlaylist, EndedLowLatencyHasNoHint) {
  MediaPlaylist p;
  p.target_duration = 2;
  LowLatency ll;
  ll.part_target = 0.5;
  ll.part_hold_back = 1.5;
  ll.preload_hint_uri = "seg-1.0.m4s";
  p.low_latency = ll;
  p.segments.push_back(seg(0, 2));
  p.segments.back().parts.push_back({0.5, "seg-0.0.m4s", true});
  p.ended = true;
  std::string text = render(p);
  EXPECT_EQ(text.find("PRELOAD-HINT"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 15), "#EXT-X-ENDLIST\n");
}

TEST(MasterPlaylist, VariantsAndAudioGroup) {
  MasterPlaylist m;
  m.audio.push_back({"audio", "a0", "a0/index.m3u8", "", 2, true});
  Variant v;
  v.uri = "v0/index.m3u8";
  v.bandwidth = 5128000;
  v.average_bandwidth = 4800123;
  v.codecs = "avc1.640028,mp4a.40.2";
  v.width = 1920;
  v.height = 1080;
  v.frame_rate = 29.97;
  v.audio_group = "audio";
  m.variants.push_back(v);
  v.uri = "v1/index.m3u8";
  v.bandwidth = 1500000;
  v.average_bandwidth = 0;
  v.codecs = "avc1.64001F,mp4a.40.2";
  v.width = 1280;
  v.height = 720;
  v.frame_rate = 30;
  m.variants.push_back(v);
  EXPECT_EQ(render(m),
            "#EXTM3U\n"
            "#EXT-X-VERSION:7\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a0\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
            "URI=\"a0/index.m3u8\"\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=5128000,AVERAGE-BANDWIDTH=4800123,CODECS=\"avc1.640028,mp4a.40.2\","
            "RESOLUTION=1920x1080,FRAME-RATE=29.970,AUDIO=\"audio\"\n"
            "v0/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1500000,CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1280x720,"
            "FRAME-RATE=30.000,AUDIO=\"audio\"\n"
            "v1/index.m3u8\n");
}

namespace {
std::string box(const std::string& type, const std::string& payload) {
  uint32_t size = static_cast<uint32_t>(payload.size() + 8);
  std::string b;
  b += static_cast<char>(size >> 24);
  b += static_cast<char>(size >> 16);
  b += static_cast<char>(size >> 8);
  b += static_cast<char>(size);
  return b + type + payload;
}
std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s += static_cast<char>(c);
  return s;
}
}  // namespace

TEST(CodecString, Avc) {
  auto s = codec_string_from_init(box("moov", box("avc1", std::string(78, '\0') + box("avcC", bytes({1, 0x64, 0, 0x28, 0xff})))));
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(*s, "avc1.640028");
}

TEST(CodecString, Hevc) {
  // Main profile, compatibility flags 0x60000000, level 93, constraint 0x90.
  std::string hvcc = bytes({1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0});
  auto s = codec_string_from_init(box("hvc1", std::string(78, '\0') + box("hvcC", hvcc)));
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(*s, "hvc1.1.6.L93.90");
}

TEST(CodecString, AacFromEsds) {
  // ES_Descriptor > DecoderConfig(0x40 audio) > DecoderSpecificInfo: HE-AAC (AOT 5).
  std::string dsi = bytes({0x05, 0x02, 0x2b, 0x10});
  std::string dcd = bytes({0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) + dsi;
  std::string esd = bytes({0x03, 0x16, 0, 1, 0}) + dcd;
  auto s = codec_string_from_init(box("mp4a", std::string(28, '\0') + box("esds", bytes({0, 0, 0, 0}) + esd)));
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(*s, "mp4a.40.5");
}

TEST(CodecString, OpusAndUnknown) {
  auto s = codec_string_from_init(box("Opus", std::string(28, '\0') + box("dOps", bytes({0, 2}))));
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(*s, "opus");
  EXPECT_FALSE(codec_string_from_init(box("moov", "nothing")).is_ok());
}
