// The playlist writer as the segmenter's listener: window, deletion,
// discontinuity sequence, LL-HLS pending parts, hints and rendition
// reports, master figures; checked on the files it writes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"
#include "package/hls_publisher.h"
#include "package/naming.h"

using namespace sigma;
using namespace sigma::package;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sigma-publisher-XXXXXX";
    path = mkdtemp(tmpl);
    fs::create_directories(path / "v0");
    fs::create_directories(path / "a0");
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  auto r = read_file(p.string());
  return r.is_ok() ? *r : std::string("<missing>");
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

SegmentReport segment(size_t track, int64_t msn, double d, size_t bytes, int frames, bool disc = false) {
  SegmentReport r;
  r.track = track;
  r.msn = msn;
  r.duration = d;
  r.uri = segment_name("seg", msn);
  r.map_uri = "init.mp4";
  r.bytes = bytes;
  r.frames = frames;
  r.discontinuity = disc;
  r.program_date_time_ms = 1795514400000 + msn * 2000;
  return r;
}
}  // namespace

TEST(HlsPublisher, SlidingWindowDeletesOneWindowLater) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 2;
  p.window = 3;
  HlsPublisher pub(p, {{"v0", true}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.64001F", 640, 360, 0, 0, false}).is_ok());
  for (int64_t m = 0; m < 10; ++m) {
    touch(d.path / "v0" / segment_name("seg", m));
    ASSERT_TRUE(pub.on_segment(segment(0, m, 2, 250000, 60, m == 5)).is_ok());
  }
  std::string text = slurp(d.path / "v0/index.m3u8");
  EXPECT_NE(text.find("#EXT-X-MEDIA-SEQUENCE:7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-DISCONTINUITY-SEQUENCE:1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("seg-6.m4s"), std::string::npos);
  // Listed: 7..9; kept for a player's older playlist: 4..6; deleted: 0..3.
  EXPECT_FALSE(fs::exists(d.path / "v0/seg-3.m4s"));
  EXPECT_TRUE(fs::exists(d.path / "v0/seg-4.m4s"));
  EXPECT_TRUE(fs::exists(d.path / "v0/seg-9.m4s"));
  // 250000 bytes per 2 s = 1 Mbit/s (BANDWIDTH 5 % above); 60 frames per 2 s.
  EXPECT_EQ(slurp(d.path / "master.m3u8"),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1050000,AVERAGE-BANDWIDTH=1000000,CODECS=\"avc1.64001F\","
            "RESOLUTION=640x360,FRAME-RATE=30.000\nv0/index.m3u8\n");
  ASSERT_TRUE(pub.on_input_end(true).is_ok());
  text = slurp(d.path / "v0/index.m3u8");
  EXPECT_EQ(text.substr(text.size() - 15), "#EXT-X-ENDLIST\n");
}

TEST(HlsPublisher, KeepLeavesSegments) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.window = 2;
  p.keep = true;
  HlsPublisher pub(p, {{"v0", true}});
  for (int64_t m = 0; m < 8; ++m) {
    touch(d.path / "v0" / segment_name("seg", m));
    ASSERT_TRUE(pub.on_segment(segment(0, m, 6, 1000, 180)).is_ok());
  }
  EXPECT_TRUE(fs::exists(d.path / "v0/seg-0.m4s"));
}

TEST(HlsPublisher, LowLatencyPartsHintAndReports) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 1;
  p.part_target = 0.5;
  p.window = 4;
  HlsPublisher pub(p, {{"v0", true}, {"a0", false}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.42C01E", 640, 360, 0, 0, false}).is_ok());
  ASSERT_TRUE(pub.on_init({1, "init.mp4", "mp4a.40.2", 0, 0, 48000, 2, false}).is_ok());
  auto part = [](size_t track, int64_t msn, int i, bool last) {
    PartReport r;
    r.track = track;
    r.msn = msn;
    r.index = i;
    r.duration = 0.5;
    r.independent = track == 1 || i == 0;
    r.uri = part_name("seg", msn, i);
    r.last_in_segment = last;
    r.map_uri = "init.mp4";
    r.program_date_time_ms = 1795514400000 + msn * 1000;
    return r;
  };
  ASSERT_TRUE(pub.on_part(part(0, 0, 0, false)).is_ok());
  ASSERT_TRUE(pub.on_part(part(1, 0, 0, false)).is_ok());
  EXPECT_EQ(slurp(d.path / "v0/index.m3u8"),
            "#EXTM3U\n"
            "#EXT-X-VERSION:9\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=1.5\n"
            "#EXT-X-PART-INF:PART-TARGET=0.5\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:00.000Z\n"
            "#EXT-X-PART:DURATION=0.5,URI=\"seg-0.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-0.1.m4s\"\n");
  // The last part waits for its segment: the playlist is not rewritten.
  ASSERT_TRUE(pub.on_part(part(0, 0, 1, true)).is_ok());
  EXPECT_EQ(slurp(d.path / "v0/index.m3u8").find("seg-0.1.m4s\","), std::string::npos);
  SegmentReport s = segment(0, 0, 1, 1000, 30);
  s.program_date_time_ms = 1795514400000;
  s.parts = 2;
  ASSERT_TRUE(pub.on_segment(s).is_ok());
  EXPECT_EQ(slurp(d.path / "v0/index.m3u8"),
            "#EXTM3U\n"
            "#EXT-X-VERSION:9\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6,PART-HOLD-BACK=1.5\n"
            "#EXT-X-PART-INF:PART-TARGET=0.5\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T10:00:00.000Z\n"
            "#EXT-X-PART:DURATION=0.5,URI=\"seg-0.0.m4s\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.5,URI=\"seg-0.1.m4s\"\n"
            "#EXTINF:1,\n"
            "seg-0.m4s\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-1.0.m4s\"\n"
            "#EXT-X-RENDITION-REPORT:URI=\"../a0/index.m3u8\",LAST-MSN=0,LAST-PART=0\n");
  // The audio playlist reports the video's last part.
  ASSERT_TRUE(pub.on_part(part(1, 0, 1, false)).is_ok());
  std::string audio = slurp(d.path / "a0/index.m3u8");
  EXPECT_NE(audio.find("#EXT-X-RENDITION-REPORT:URI=\"../v0/index.m3u8\",LAST-MSN=0,LAST-PART=1\n"),
            std::string::npos)
      << audio;
  EXPECT_NE(audio.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-0.2.m4s\"\n"), std::string::npos) << audio;
}

namespace {
PartReport ll_part(size_t track, int64_t msn, int i, bool last, size_t bytes = 10000) {
  PartReport r;
  r.track = track;
  r.msn = msn;
  r.index = i;
  r.duration = 1.0 / 3;
  r.independent = i == 0;
  r.uri = part_name("seg", msn, i);
  r.bytes = bytes;
  r.last_in_segment = last;
  r.map_uri = "init.mp4";
  r.program_date_time_ms = 1795514400000 + msn * 2000;
  return r;
}

int64_t master_bandwidth(const fs::path& master) {
  std::string text = slurp(master);
  auto at = text.find("BANDWIDTH=");
  return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + 10);
}
}  // namespace

// With no target given, nothing is written until the segmenter tells it; then the playlists held back appear with it (and a
// CAN-SKIP-UNTIL of six times it), the master with them, its bandwidth
// estimated from the parts.
TEST(HlsPublisher, TargetFromTheSegmenterThenMasterFromTheFirstParts) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 0;
  p.part_target = 1.0 / 3 + 0.001;
  HlsPublisher pub(p, {{"v0", true}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.64001F", 640, 360, 0, 0, false}).is_ok());
  ASSERT_TRUE(pub.on_part(ll_part(0, 0, 0, false)).is_ok());
  ASSERT_TRUE(pub.on_part(ll_part(0, 0, 1, false)).is_ok());
  EXPECT_FALSE(fs::exists(d.path / "v0/index.m3u8"));
  EXPECT_FALSE(fs::exists(d.path / "master.m3u8"));
  ASSERT_TRUE(pub.on_target_duration(4).is_ok());
  ASSERT_TRUE(pub.on_part(ll_part(0, 0, 2, false)).is_ok());
  std::string text = slurp(d.path / "v0/index.m3u8");
  EXPECT_NE(text.find("#EXT-X-TARGETDURATION:4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("CAN-SKIP-UNTIL=24,"), std::string::npos) << text;
  EXPECT_NE(text.find("#EXT-X-PART:DURATION=0.33333,URI=\"seg-0.0.m4s\",INDEPENDENT=YES\n"), std::string::npos);
  EXPECT_NE(text.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-0.3.m4s\"\n"), std::string::npos) << text;
  // Three parts of 10000 bytes in 1 s: 240 kbit/s, 5 % above.
  EXPECT_EQ(master_bandwidth(d.path / "master.m3u8"), 252000);
}

// BANDWIDTH is never below the peak of any run of segments lasting 0.5 to
// 1.5 target durations, whatever slack the rewrites allow; a short last
// segment counts with its predecessor, not alone.
TEST(HlsPublisher, BandwidthNeverBelowThePeakSegmentBitRate) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 2;
  p.window = 0;
  HlsPublisher pub(p, {{"v0", true}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.64001F", 640, 360, 0, 0, false}).is_ok());
  size_t sizes[] = {250000, 251000, 253000, 256000, 260000, 262000, 240000, 230000, 262500};
  double peak = 0;
  for (int64_t m = 0; m < 9; ++m) {
    ASSERT_TRUE(pub.on_segment(segment(0, m, 2, sizes[m], 60)).is_ok());
    peak = std::max(peak, sizes[m] * 8 / 2.0);
    EXPECT_GE(master_bandwidth(d.path / "master.m3u8"), peak) << "after segment " << m;
  }
  // 0.2 s with a keyframe: alone 4 Mbit/s, with the 2 s before it 1.3.
  ASSERT_TRUE(pub.on_segment(segment(0, 9, 0.2, 100000, 6)).is_ok());
  ASSERT_TRUE(pub.on_input_end(true).is_ok());
  int64_t bw = master_bandwidth(d.path / "master.m3u8");
  EXPECT_GE(bw, (262500 + 100000) * 8 / 2.2);
  EXPECT_LT(bw, 2000000);
}

// A segment the segmenter had to cut between keyframes: neither the media
// playlist nor the master claims independent segments any more.
TEST(HlsPublisher, ASegmentCutBetweenKeyframesDropsIndependentSegments) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 2;
  HlsPublisher pub(p, {{"v0", true}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.64001F", 640, 360, 0, 0, false}).is_ok());
  ASSERT_TRUE(pub.on_segment(segment(0, 0, 2, 250000, 60)).is_ok());
  EXPECT_NE(slurp(d.path / "master.m3u8").find("#EXT-X-INDEPENDENT-SEGMENTS\n"), std::string::npos);
  SegmentReport r = segment(0, 1, 2.4, 250000, 72);
  r.independent = false;
  ASSERT_TRUE(pub.on_segment(r).is_ok());
  EXPECT_EQ(slurp(d.path / "v0/index.m3u8").find("INDEPENDENT-SEGMENTS"), std::string::npos);
  EXPECT_EQ(slurp(d.path / "master.m3u8").find("INDEPENDENT-SEGMENTS"), std::string::npos);
  EXPECT_NE(slurp(d.path / "v0/index.m3u8").find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
}
