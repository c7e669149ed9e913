#include <gtest/gtest.h>
#include <zlib.h>

#include "hls/media_playlist.h"
#include "origin/catchup.h"
#include "origin/gzip.h"
#include "origin/playlist_index.h"

namespace sigma::origin {
namespace {

constexpr int64_t kNow = 1796292000000;  // 2026-12-03T10:00:00Z

CatchupRequest parse_ok(const std::string& rel, std::map<std::string, std::string> q = {}) {
  auto r = parse_catchup(rel, q, kNow);
  EXPECT_TRUE(r.has_value()) << rel;
  if (!r) return {};
  EXPECT_TRUE(r->is_ok()) << rel << ": " << r->status().message();
  return r->is_ok() ? **r : CatchupRequest{};
}

std::string parse_error(const std::string& rel, std::map<std::string, std::string> q = {}) {
  auto r = parse_catchup(rel, q, kNow);
  EXPECT_TRUE(r.has_value()) << rel;
  if (!r) return {};
  EXPECT_FALSE(r->is_ok()) << rel;
  return r->is_ok() ? "" : r->status().message();
}

TEST(CatchupUrl, FlussonicForms) {
  auto r = parse_ok("demo/archive-1796290000-60.m3u8");
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kMaster);
  EXPECT_EQ(r.channel, "demo");
  EXPECT_EQ(r.from_ms, 1796290000000);
  EXPECT_EQ(r.to_ms, 1796290060000);

  r = parse_ok("demo/720p/archive-1796290000-60.m3u8");
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kMedia);
  EXPECT_EQ(r.track, "720p");

  r = parse_ok("demo/archive-1796290000-now.m3u8");
  EXPECT_EQ(r.to_ms, kNow);

  r = parse_ok("demo/audio/timeshift_rel-90.m3u8");
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kMedia);
  EXPECT_EQ(r.from_ms, kNow - 90000);
  EXPECT_EQ(r.to_ms, kNow);
}

TEST(CatchupUrl, QueryForm) {
  auto r = parse_ok("demo/master.m3u8", {{"start", "2026-12-03T09:00:00Z"}, {"end", "1796290060"}});
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kMaster);
  EXPECT_TRUE(r.query_form);
  EXPECT_EQ(r.from_ms, kNow - 3600000);
  EXPECT_EQ(r.to_ms, 1796290060000);
  // '+' of an offset decoded as a space.
  r = parse_ok("demo/720p/index.m3u8", {{"start", "2026-12-03T10:00:00 01:00"}});
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kMedia);
  EXPECT_EQ(r.from_ms, kNow - 3600000);
  EXPECT_EQ(r.to_ms, kNow);
}

TEST(CatchupUrl, EndInTheFutureIsClamped) {
  auto r = parse_ok("demo/archive-1796291990-3600.m3u8");
  EXPECT_EQ(r.to_ms, kNow);
}

TEST(CatchupUrl, Malformed) {
  EXPECT_NE(parse_error("demo/archive-1796290000-0.m3u8").find("more than 0"), std::string::npos);
  EXPECT_NE(parse_error("demo/archive-1796290000-86401.m3u8").find("24 hours"), std::string::npos);
  EXPECT_NE(parse_error("demo/archive-1796299999-60.m3u8").find("future"), std::string::npos);
  parse_error("demo/archive-abc-60.m3u8");
  parse_error("demo/archive-1796290000.m3u8");
  parse_error("demo/archive--5-60.m3u8");
  parse_error("demo/timeshift_rel-0.m3u8");
  parse_error("demo/master.m3u8", {{"start", "1796290060"}, {"end", "1796290000"}});
  parse_error("demo/master.m3u8", {{"start", "yesterday"}});
  parse_error("demo/master.m3u8", {{"end", "1796290000"}});
}

TEST(CatchupUrl, NotCatchup) {
  EXPECT_FALSE(parse_catchup("demo/master.m3u8", {}, kNow));
  EXPECT_FALSE(parse_catchup("demo/720p/index.m3u8", {{"_HLS_msn", "3"}}, kNow));
  EXPECT_FALSE(parse_catchup("demo/720p/seg-3.m4s", {}, kNow));
  EXPECT_FALSE(parse_catchup("archive-1796290000-60.m3u8", {}, kNow));
  EXPECT_FALSE(parse_catchup("demo/720p/archive-1796290000-60.mp4", {}, kNow));
  EXPECT_FALSE(parse_catchup("_player/archive-1796290000-60.m3u8", {}, kNow));
}

TEST(CatchupUrl, Mp4AndJson) {
  auto r = parse_ok("demo/archive-1796290000-60.mp4", {{"variant", "720p"}, {"download", "1"}});
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kMp4);
  EXPECT_EQ(r.variant, "720p");
  EXPECT_TRUE(r.attachment);
  EXPECT_EQ(r.filename, "demo-archive-1796290000-60.mp4");
  r = parse_ok("demo/archive-1796290000-60.mp4", {{"filename", "../show \"1\".mp4"}});
  EXPECT_TRUE(r.attachment);
  EXPECT_EQ(r.filename, "show1.mp4");
  r = parse_ok("demo/archive.json");
  EXPECT_EQ(r.kind, CatchupRequest::Kind::kJson);
}

dvr::SegmentRow row(const std::string& track, int64_t msn, int64_t start, int64_t dur) {
  dvr::SegmentRow r;
  r.track = track;
  r.msn = msn;
  r.start_ms = start;
  r.duration_ms = dur;
  r.uri = track + "/seg-" + std::to_string(msn) + ".m4s";
  r.init = track + "/init.mp4";
  r.bytes = 1000;
  return r;
}

TEST(CatchupPlaylist, TracksCutAtTheSameInstantsListTheSameSegments) {
  std::vector<dvr::SegmentRow> video, audio;
  for (int i = 0; i < 10; ++i) {
    video.push_back(row("720p", i, 1000000 + i * 1000, 1000));
    // Audio frames end 0-21 ms away from the video's cuts.
    audio.push_back(row("audio", i, 1000000 + i * 1000 + (i % 3) * 7, 1000 + ((i + 1) % 3 - i % 3) * 7));
  }
  for (int64_t from = 1000000; from < 1004000; from += 3) {
    auto v = select_aligned(video, video, from, from + 4000);
    auto a = select_aligned(video, audio, from, from + 4000);
    ASSERT_EQ(v.size(), a.size()) << from;
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i].msn, a[i].msn);
  }
  EXPECT_EQ(select_segments(video, 1002000, 1006000).size(), 4u);
  // Inside one segment: that segment.
  auto one = select_segments(video, 1002100, 1002200);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].msn, 2);
}

TEST(CatchupPlaylist, VodGolden) {
  std::vector<dvr::SegmentRow> rows{row("720p", 7, 1796290000000, 2000), row("720p", 8, 1796290002000, 2002),
                                    row("720p", 9, 1796290004002, 1500)};
  rows[2].init = "720p/init-9.mp4";
  rows[2].discontinuity = true;
  dvr::SegmentRow gap = row("720p", 10, 1796290005502, 2000);
  gap.gap = true;
  gap.uri = "";
  gap.init = "720p/init-9.mp4";
  rows.push_back(gap);
  // A hole of 10 s (retention or a segment never written): a discontinuity.
  rows.push_back(row("720p", 11, 1796290017502, 2000));
  rows.back().init = "720p/init-9.mp4";
  EXPECT_EQ(vod_playlist(rows, "720p"),
            "#EXTM3U\n"
            "#EXT-X-VERSION:8\n"
            "#EXT-X-TARGETDURATION:3\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA-SEQUENCE:7\n"
            "#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T09:26:40.000Z\n"
            "#EXTINF:2,\n"
            "seg-7.m4s\n"
            "#EXTINF:2.002,\n"
            "seg-8.m4s\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-MAP:URI=\"init-9.mp4\"\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T09:26:44.002Z\n"
            "#EXTINF:1.5,\n"
            "seg-9.m4s\n"
            "#EXT-X-GAP\n"
            "#EXTINF:2,\n"
            "gap-10.m4s\n"
            "#EXT-X-DISCONTINUITY\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T09:26:57.502Z\n"
            "#EXTINF:2,\n"
            "seg-11.m4s\n"
            "#EXT-X-ENDLIST\n");
}

TEST(CatchupPlaylist, UrisFromAnotherDirectory) {
  EXPECT_EQ(relative_to("720p/seg-1.m4s", "720p"), "seg-1.m4s");
  EXPECT_EQ(relative_to("720p/seg-1.m4s", "audio"), "../720p/seg-1.m4s");
  EXPECT_EQ(relative_to("720p0/seg-1.m4s", "720p"), "../720p0/seg-1.m4s");
}

TEST(CatchupPlaylist, MasterRewritten) {
  std::string live =
      "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a0\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=1000000,CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"audio\"\n"
      "720p/index.m3u8\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=10000,URI=\"720p/iframes.m3u8\"\n";
  EXPECT_EQ(catchup_master(live, 1796290000000, 1796290060500, false),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a0\",DEFAULT=YES,URI=\"audio/archive-1796290000-61.m3u8\"\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1000000,CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"audio\"\n"
            "720p/archive-1796290000-61.m3u8\n");
  std::string q = catchup_master(live, 1796290000000, 1796290060000, true);
  EXPECT_NE(q.find("URI=\"audio/index.m3u8?start=1796290000&end=1796290060\""), std::string::npos);
  EXPECT_NE(q.find("\n720p/index.m3u8?start=1796290000&end=1796290060\n"), std::string::npos);
}

std::string gunzip(const std::string& z) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  zs.avail_in = static_cast<uInt>(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

TEST(Gzip, RoundTripAndSmaller) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "#EXTINF:1,\nseg-" + std::to_string(i) + ".m4s\n";
  auto z = gzip_compress(text);
  ASSERT_TRUE(z);
  EXPECT_LT(z->size(), text.size() / 5);
  EXPECT_EQ(gunzip(*z), text);
}

TEST(Gzip, AcceptEncoding) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip(""));
}

// A normal/low playlist of a long window offers CAN-SKIP-UNTIL without
// LL-HLS; the origin's delta keeps only its last six targets.
TEST(LongWindow, DeltaOfANonLowLatencyPlaylist) {
  hls::MediaPlaylist pl;
  pl.target_duration = 1;
  pl.can_skip_until = 6;
  for (int i = 0; i < 7200; ++i) {
    hls::Segment seg;
    seg.msn = i;
    seg.duration = 1.0;
    seg.uri = "seg-" + std::to_string(i) + ".m4s";
    seg.map_uri = "init.mp4";
    pl.segments.push_back(seg);
  }
  std::string text = hls::render(pl);
  EXPECT_NE(text.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6\n"), std::string::npos);
  auto index = parse_playlist(text);
  EXPECT_EQ(index.can_skip_until, 6);
  auto delta = delta_playlist(index, false);
  ASSERT_TRUE(delta);
  EXPECT_NE(delta->find("#EXT-X-SKIP:SKIPPED-SEGMENTS=7194\n"), std::string::npos);
  EXPECT_NE(delta->find("#EXT-X-VERSION:9\n"), std::string::npos);
  EXPECT_NE(delta->find("#EXT-X-MAP:URI=\"init.mp4\"\n"), std::string::npos);
  EXPECT_LT(delta->size(), 500u);
}

}  // namespace
}  // namespace sigma::origin
