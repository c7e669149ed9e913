#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "origin/catchup.h"
#include "origin/file_store.h"
#include "origin/thumbs.h"

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

class ThumbsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/origin-thumbs-XXXXXX";
    base_ = mkdtemp(tmpl);
    std::filesystem::create_directories(base_ + "/ch/thumbs");
    std::filesystem::create_directories(base_ + "/ch/v0");
    auto s = FileStore::open(base_);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(base_ + "/" + rel) << text; }
  std::string cc(const std::string& rel, int64_t now) { return thumbs_cache_control(*store_, rel, now).value_or("-"); }
  std::string base_;
  std::unique_ptr<FileStore> store_;
  SheetCache cache_;
};

TEST_F(ThumbsFiles, CacheControl) {
  // Sheet 7 of 100 tiles of 10 s: slots 700-799, ending at 8,000 s.
  write("ch/thumbs/sprite-7.json",
        R"({"sheet":7,"interval_ms":10000,"cols":10,"rows":10,"tile_w":160,"tile_h":90,"tiles":[]})");
  write("ch/thumbs/sprite-7.jpg", "jpeg");
  const int64_t end = 8000 * 1000;
  EXPECT_EQ(cc("ch/thumbs/sprite-7.jpg", end - 1000), "public, max-age=2");      // still filling
  EXPECT_EQ(cc("ch/thumbs/sprite-7.jpg", end + 299000), "public, max-age=2");    // a late tile may come
  EXPECT_EQ(cc("ch/thumbs/sprite-7.jpg", end + 301000), "public, max-age=3600"); // closed
  EXPECT_EQ(cc("ch/thumbs/sprite-7.json", end + 301000), "public, max-age=3600");
  EXPECT_EQ(cc("ch/thumbs/sprite-8.jpg", end + 301000), "public, max-age=2");    // no sidecar: not known closed
  EXPECT_EQ(cc("ch/thumbs/latest.jpg", 0), "public, max-age=1");
  EXPECT_EQ(cc("ch/thumbs/latest-640.jpg", 0), "public, max-age=1");
  EXPECT_EQ(cc("ch/thumbs/latest.json", 0), "public, max-age=1");
  EXPECT_EQ(cc("ch/thumbs/other.jpg", 0), "public, max-age=5");
  // Not a channel's thumbs/ file.
  EXPECT_EQ(cc("ch/v0/seg-1.m4s", 0), "-");
  EXPECT_EQ(cc("thumbs/latest.jpg", 0), "-");
  EXPECT_EQ(cc("a/b/thumbs/latest.jpg", 0), "-");
  EXPECT_EQ(cc("ch/thumbs/x/latest.jpg", 0), "-");
}

TEST_F(ThumbsFiles, LiveWindowStart) {
  EXPECT_FALSE(live_window_start(*store_, "ch"));  // no master
  write("ch/master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8?x=1\n");
  EXPECT_FALSE(live_window_start(*store_, "ch"));  // no media playlist
  write("ch/v0/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg-0.m4s\n");
  EXPECT_FALSE(live_window_start(*store_, "ch"));  // no date-time
  write("ch/v0/index.m3u8",
        "#EXTM3U\r\n#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:00.250Z\r\n#EXTINF:1,\r\nseg-0.m4s\r\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:01.250Z\r\n#EXTINF:1,\r\nseg-1.m4s\r\n");
  auto t = live_window_start(*store_, "ch");
  ASSERT_TRUE(t) << t.status().message();
  EXPECT_EQ(*t, kNow + 250);
  write("ch/master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n../other/index.m3u8\n");
  EXPECT_FALSE(live_window_start(*store_, "ch"));  // never outside the channel
}

// Same tiles as thumb::tiles_in_range, before and after a sheet grows, is
// replaced or disappears.
TEST_F(ThumbsFiles, SheetCacheAnswersAsTilesInRange) {
  auto sheet = [&](int64_t k, int64_t first, int64_t last) {
    thumb::SheetMeta m;
    m.sheet = k;
    for (int64_t s = first; s <= last; ++s)
      m.tiles.push_back({s, s * 10000 + 5, int(s % 100 % 10 * 160), int(s % 100 / 10 * 90)});
    EXPECT_TRUE(thumb::write_sheet_meta(base_ + "/ch/thumbs/" + thumb::sheet_json_name(k), m).is_ok());
  };
  auto same = [&](int64_t from, int64_t to) -> size_t {
    SCOPED_TRACE(std::to_string(from) + ".." + std::to_string(to));
    auto want = thumb::tiles_in_range(base_ + "/ch", from, to);
    auto got = cache_.tiles(base_ + "/ch", from, to);
    EXPECT_TRUE(want && got);
    if (!want || !got) return 999;
    EXPECT_EQ(got->size(), want->size());
    if (got->size() != want->size()) return 998;
    for (size_t i = 0; i < got->size(); ++i) {
      EXPECT_EQ((*got)[i].sheet, (*want)[i].sheet);
      EXPECT_EQ((*got)[i].tile.slot, (*want)[i].tile.slot);
      EXPECT_EQ((*got)[i].tile.x, (*want)[i].tile.x);
      EXPECT_EQ((*got)[i].tile.y, (*want)[i].tile.y);
      EXPECT_EQ((*got)[i].w, (*want)[i].w);
    }
    return got->size();
  };
  sheet(3, 300, 399);
  sheet(5, 500, 542);
  EXPECT_EQ(same(3000000, 6000000), 143u);
  EXPECT_EQ(same(3055000, 3105000), 6u);  // slots 305-310
  EXPECT_EQ(same(4000000, 5000000), 0u);  // the gap
  sheet(5, 500, 560);                     // grows (a new file renamed into place)
  EXPECT_EQ(same(5000000, 6000000), 61u);
  std::filesystem::remove(base_ + "/ch/thumbs/" + thumb::sheet_json_name(3));
  EXPECT_EQ(same(3000000, 6000000), 61u);
  EXPECT_EQ(same(0, 1), 0u);
  EXPECT_TRUE(cache_.tiles(base_ + "/nothing", 0, 10)->empty());

  // Bounded: a second channel past the bound makes the first be forgotten,
  // and still answers right.
  SheetCache small(100);
  std::filesystem::copy(base_ + "/ch", base_ + "/ch2", std::filesystem::copy_options::recursive);
  EXPECT_EQ(small.tiles(base_ + "/ch", 5000000, 6000000)->size(), 61u);
  EXPECT_EQ(small.cached_tiles(), 61u);
  EXPECT_EQ(small.tiles(base_ + "/ch2", 5000000, 6000000)->size(), 61u);
  EXPECT_EQ(small.cached_tiles(), 122u);  // over the bound only from now on
  EXPECT_EQ(small.tiles(base_ + "/ch2", 5000000, 5100000)->size(), 10u);
  EXPECT_EQ(small.cached_tiles(), 61u);   // ch forgotten
  EXPECT_EQ(small.tiles(base_ + "/ch", 5000000, 6000000)->size(), 61u);
}

}  // namespace
}  // namespace sigma::origin
