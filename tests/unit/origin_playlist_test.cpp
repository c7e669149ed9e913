// LL-HLS rules of the origin (RFC 8216bis 6.2.5) on hand-written playlists:
// what is ready, what is held, what is a 400, and golden delta updates.
#include <gtest/gtest.h>

#include <string>

#include "origin/playlist_index.h"

namespace sigma::origin {
namespace {

// Segments 266..269 complete (4 s each), parts 0..1 of 270, hint for part 2.
const std::string kLive = R"(#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:6
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2019-02-14T02:13:36.106Z
#EXTINF:4.00008,
fileSequence266.mp4
#EXT-X-DATERANGE:ID="ad1",START-DATE="2019-02-14T02:13:40.106Z",DURATION=4.0
#EXTINF:4.00008,
fileSequence267.mp4
#EXTINF:4.00008,
fileSequence268.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart269.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart269.1.mp4"
#EXTINF:4.00008,
fileSequence269.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart270.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart270.1.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart270.2.mp4"
#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=270,LAST-PART=1
)";

BlockingQuery query(std::optional<int64_t> msn, std::optional<int64_t> part = std::nullopt) {
  BlockingQuery q;
  q.msn = msn;
  q.part = part;
  return q;
}

TEST(PlaylistIndex, ReadsTheServerControlAndTheLiveEdge) {
  auto p = parse_playlist(kLive);
  EXPECT_FALSE(p.is_master);
  EXPECT_FALSE(p.endlist);
  EXPECT_EQ(p.version, 6);
  EXPECT_DOUBLE_EQ(p.target_duration, 4);
  EXPECT_NEAR(p.part_target, 0.33334, 1e-9);
  EXPECT_EQ(p.media_sequence, 266);
  EXPECT_EQ(p.next_msn, 270);
  EXPECT_EQ(p.pending_parts, 2);
  EXPECT_TRUE(p.can_block_reload);
  EXPECT_DOUBLE_EQ(p.can_skip_until, 12);
  ASSERT_EQ(p.preload_parts.size(), 1u);
  EXPECT_EQ(p.preload_parts[0], "filePart270.2.mp4");
  ASSERT_EQ(p.segments.size(), 4u);
  EXPECT_EQ(p.lines[p.segments[3].uri_line], "fileSequence269.mp4");
}

TEST(Readiness, PastAndPresentAreReady) {
  auto p = parse_playlist(kLive);
  EXPECT_EQ(readiness(p, query(std::nullopt)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(266)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(269)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(269, 7)), Readiness::kReady);  // segment done: all its parts are
  EXPECT_EQ(readiness(p, query(270, 0)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(270, 1)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(3)), Readiness::kReady);  // long gone: answer with what there is
}

TEST(Readiness, NearFutureIsHeld) {
  auto p = parse_playlist(kLive);
  EXPECT_EQ(readiness(p, query(270)), Readiness::kWait);
  EXPECT_EQ(readiness(p, query(270, 2)), Readiness::kWait);
  EXPECT_EQ(readiness(p, query(271)), Readiness::kWait);
  EXPECT_EQ(readiness(p, query(271, 0)), Readiness::kWait);
}

TEST(Readiness, FarFutureIsABadRequest) {
  auto p = parse_playlist(kLive);
  // Last complete segment 269: 269 + 2 = 271 is the limit.
  EXPECT_EQ(readiness(p, query(272)), Readiness::kBadRequest);
  // Advance Part Limit with 0.33334 s parts: 3 / 0.33334 = 8.99 parts past part 1.
  EXPECT_NEAR(advance_part_limit(0.33334), 8.9998, 1e-3);
  EXPECT_EQ(readiness(p, query(270, 9)), Readiness::kWait);
  EXPECT_EQ(readiness(p, query(270, 10)), Readiness::kBadRequest);
  EXPECT_DOUBLE_EQ(advance_part_limit(2.0), 3.0);
}

TEST(Readiness, APartPastACompleteSegmentsLastIsTheNextSegmentsFirstOrA400) {
  auto p = parse_playlist(kLive);
  EXPECT_EQ(p.segments[3].parts, 2);
  // 269 lists parts 0..1, then 270's two: part 2 of 269 is part 0 of 270.
  EXPECT_EQ(readiness(p, query(269, 2)), Readiness::kReady);
  // Part 4 of 269 is two past the last part (270.1): held as 270's part 0
  // would be, and 270.0 exists, so ready.
  EXPECT_EQ(readiness(p, query(269, 4)), Readiness::kReady);
  // 18 parts into 269 is 15 past the last part: beyond the 9-part limit.
  EXPECT_EQ(readiness(p, query(269, 18)), Readiness::kBadRequest);
  // 268 no longer lists its parts: 4 s of 1/3 s parts is twelve, so its
  // part 18 is three past the last part, but part 30 is fifteen.
  EXPECT_EQ(readiness(p, query(268, 18)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(268, 30)), Readiness::kBadRequest);
  EXPECT_EQ(readiness(p, query(267, 11)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(267, 14)), Readiness::kReady);
  EXPECT_EQ(readiness(p, query(267, 40)), Readiness::kBadRequest);
}

TEST(Readiness, EndedPlaylistsAndMastersNeverBlock) {
  auto ended = parse_playlist(kLive + "#EXT-X-ENDLIST\n");
  EXPECT_EQ(readiness(ended, query(280)), Readiness::kReady);
  auto master = parse_playlist("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n");
  EXPECT_TRUE(master.is_master);
  EXPECT_EQ(readiness(master, query(5)), Readiness::kReady);
}

TEST(BlockingQuery, ParsesAndRejects) {
  auto q = parse_blocking_query({{"_HLS_msn", "270"}, {"_HLS_part", "2"}, {"_HLS_skip", "v2"}});
  ASSERT_TRUE(q);
  EXPECT_EQ(*q->msn, 270);
  EXPECT_EQ(*q->part, 2);
  EXPECT_EQ(q->skip, BlockingQuery::Skip::kV2);
  EXPECT_FALSE(parse_blocking_query({{"_HLS_part", "2"}}));
  EXPECT_FALSE(parse_blocking_query({{"_HLS_msn", "-1"}}));
  EXPECT_FALSE(parse_blocking_query({{"_HLS_msn", "12x"}}));
  EXPECT_FALSE(parse_blocking_query({{"_HLS_skip", "yes"}}));
  auto none = parse_blocking_query({{"token", "abc"}});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->blocking());
}

// 16 s of complete segments, CAN-SKIP-UNTIL=12: only 266 ends 12 s or more
// before the end; its date range stays (YES) or goes (v2 when allowed).
TEST(Delta, GoldenSkipYes) {
  auto p = parse_playlist(kLive);
  auto d = delta_playlist(p, false);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, R"(#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=12.0
#EXT-X-PART-INF:PART-TARGET=0.33334
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-SKIP:SKIPPED-SEGMENTS=1
#EXT-X-MAP:URI="init.mp4"
#EXT-X-DATERANGE:ID="ad1",START-DATE="2019-02-14T02:13:40.106Z",DURATION=4.0
#EXTINF:4.00008,
fileSequence267.mp4
#EXTINF:4.00008,
fileSequence268.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart269.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart269.1.mp4"
#EXTINF:4.00008,
fileSequence269.mp4
#EXT-X-PART:DURATION=0.33334,URI="filePart270.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.33334,URI="filePart270.1.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart270.2.mp4"
#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php",LAST-MSN=270,LAST-PART=1
)");
}

TEST(Delta, SkipsMoreAsThePlaylistGrowsAndCountsMatch) {
  std::string text = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n"
                     "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6\n#EXT-X-MEDIA-SEQUENCE:40\n"
                     "#EXT-X-MAP:URI=\"init.mp4\"\n";
  for (int i = 40; i < 50; ++i) text += "#EXTINF:2,\nseg-" + std::to_string(i) + ".m4s\n";
  auto p = parse_playlist(text);
  auto d = delta_playlist(p, true);
  ASSERT_TRUE(d);
  // 20 s; segments ending at or before 14 s are skipped: 40..46.
  EXPECT_NE(d->find("#EXT-X-SKIP:SKIPPED-SEGMENTS=7\n"), std::string::npos);
  auto dp = parse_playlist(*d);
  EXPECT_EQ(dp.segments.size(), 3u);
  EXPECT_EQ(dp.lines[dp.segments[0].uri_line], "seg-47.m4s");
  // The init section declared among the skipped segments is restated.
  EXPECT_NE(d->find("#EXT-X-SKIP:SKIPPED-SEGMENTS=7\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\nseg-47.m4s"),
            std::string::npos);
}

TEST(Delta, NotOfferedOrNothingOldEnough) {
  auto no_skip = parse_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.m4s\n");
  EXPECT_FALSE(delta_playlist(no_skip, false));
  auto young = parse_playlist(
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12\n#EXTINF:2,\na.m4s\n#EXTINF:2,\nb.m4s\n");
  EXPECT_FALSE(delta_playlist(young, false));
}

}  // namespace
}  // namespace sigma::origin
