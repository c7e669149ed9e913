#include <gtest/gtest.h>

#include "origin/catchup.h"

namespace sigma::origin {
namespace {

constexpr int64_t kNow = 1796292000000;  // 2026-12-03T10:00:00Z
using Kind = CatchupRequest::Kind;

TEST(ThumbnailsUrl, Forms) {
  auto live = parse_catchup("demo/thumbnails.vtt", {}, kNow);
  ASSERT_TRUE(live && live->is_ok());
  EXPECT_EQ((*live)->kind, Kind::kThumbnails);
  EXPECT_TRUE((*live)->live_window);
  EXPECT_EQ((*live)->track, "");

  auto q = parse_catchup("demo/thumbnails.vtt", {{"start", "1796288400"}, {"end", "1796288700"}}, kNow);
  ASSERT_TRUE(q && q->is_ok()) << (q ? q->status().message() : "");
  EXPECT_EQ((*q)->kind, Kind::kThumbnails);
  EXPECT_FALSE((*q)->live_window);
  EXPECT_EQ((*q)->channel, "demo");
  EXPECT_EQ((*q)->from_ms, 1796288400000);
  EXPECT_EQ((*q)->to_ms, 1796288700000);
  EXPECT_EQ((*q)->track, "");

  auto a = parse_catchup("demo/archive-1796288400-300/thumbnails.vtt", {}, kNow);
  ASSERT_TRUE(a && a->is_ok());
  EXPECT_EQ((*a)->kind, Kind::kThumbnails);
  EXPECT_EQ((*a)->from_ms, 1796288400000);
  EXPECT_EQ((*a)->to_ms, 1796288700000);
  EXPECT_EQ((*a)->track, "archive-1796288400-300");

  auto rel = parse_catchup("demo/timeshift_rel-60/thumbnails.vtt", {}, kNow);
  ASSERT_TRUE(rel && rel->is_ok());
  EXPECT_EQ((*rel)->from_ms, kNow - 60000);
  EXPECT_EQ((*rel)->to_ms, kNow);

  // Not range forms: files.
  EXPECT_FALSE(parse_catchup("demo/v0/thumbnails.vtt", {}, kNow));
  EXPECT_FALSE(parse_catchup("demo/thumbs/latest.jpg", {}, kNow));
  EXPECT_FALSE(parse_catchup("_player/thumbnails.vtt", {}, kNow));
  // Bad ranges: errors (400).
  for (auto bad : {"demo/archive-1796288400-0/thumbnails.vtt", "demo/archive-x-60/thumbnails.vtt",
                   "demo/archive-1796299999-60/thumbnails.vtt", "demo/archive-1796288400-86401/thumbnails.vtt"}) {
    auto r = parse_catchup(bad, {}, kNow);
    ASSERT_TRUE(r.has_value()) << bad;
    EXPECT_FALSE(r->is_ok()) << bad;
  }
  auto rev = parse_catchup("demo/thumbnails.vtt", {{"start", "1796288700"}, {"end", "1796288400"}}, kNow);
  ASSERT_TRUE(rev.has_value());
  EXPECT_FALSE(rev->is_ok());
  auto end_only = parse_catchup("demo/thumbnails.vtt", {{"end", "1796288400"}}, kNow);
  ASSERT_TRUE(end_only.has_value());
  EXPECT_FALSE(end_only->is_ok());
}

}  // namespace
}  // namespace sigma::origin
