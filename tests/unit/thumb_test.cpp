// The thumbs/ files contract (common/thumb/files.h): sheet names, the
// sidecar round trip, tiles of a range across sheets, and the WebVTT.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "base/fs.h"
#include "thumb/files.h"

using namespace sigma::thumb;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/thumb_test.XXXXXX";
  const char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "";
}

void remove_tree(const std::string& d) {
  if (!d.empty()) {
    int rc = std::system(("rm -rf '" + d + "'").c_str());
    (void)rc;
  }
}

// A sheet of a 2x2 grid, 10 s slots, with tiles at the given slots.
SheetMeta sheet(int64_t k, std::initializer_list<int64_t> slots) {
  SheetMeta m;
  m.sheet = k;
  m.interval_ms = 10000;
  m.cols = 2;
  m.rows = 2;
  m.tile_w = 160;
  m.tile_h = 90;
  for (int64_t s : slots) {
    int pos = int(s % 4);
    m.tiles.push_back(Tile{s, s * 10000 + 1000, (pos % 2) * 160, (pos / 2) * 90});
  }
  return m;
}

}  // namespace

TEST(ThumbFiles, SheetNames) {
  EXPECT_EQ(sheet_jpg_name(0), "sprite-0.jpg");
  EXPECT_EQ(sheet_json_name(178000123), "sprite-178000123.json");
}

TEST(ThumbFiles, SidecarRoundTrip) {
  std::string d = temp_dir();
  SheetMeta m = sheet(7, {29, 28, 31});
  ASSERT_TRUE(write_sheet_meta(d + "/s.json", m).is_ok());
  auto back = read_sheet_meta(d + "/s.json");
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->sheet, 7);
  EXPECT_EQ(back->interval_ms, 10000);
  EXPECT_EQ(back->cols, 2);
  EXPECT_EQ(back->tile_h, 90);
  ASSERT_EQ(back->tiles.size(), 3u);
  EXPECT_EQ(back->tiles[0].slot, 28);  // ascending on read
  EXPECT_EQ(back->tiles[2].slot, 31);
  EXPECT_EQ(back->tiles[2].x, 160);
  EXPECT_EQ(back->tiles[2].y, 90);
  EXPECT_EQ(back->tiles[2].pdt_ms, 311000);
  remove_tree(d);
}

TEST(ThumbFiles, BrokenSidecarIsDataError) {
  std::string d = temp_dir();
  ASSERT_TRUE(sigma::write_file_atomic(d + "/a.json", "{\"sheet\":1,").is_ok());
  auto r = read_sheet_meta(d + "/a.json");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), sigma::ExitCode::kData);
  ASSERT_TRUE(sigma::write_file_atomic(d + "/b.json", "{\"sheet\":1}").is_ok());
  EXPECT_FALSE(read_sheet_meta(d + "/b.json").is_ok());
  EXPECT_FALSE(read_sheet_meta(d + "/missing.json").is_ok());
  remove_tree(d);
}

TEST(ThumbFiles, TilesInRangeAcrossSheets) {
  std::string d = temp_dir();
  ASSERT_TRUE(sigma::make_dirs(d + "/thumbs").is_ok());
  // Sheet 2 covers slots 8..11, sheet 3 slots 12..15; slot 10 is a hole.
  ASSERT_TRUE(write_sheet_meta(d + "/thumbs/" + sheet_json_name(2), sheet(2, {8, 9, 11})).is_ok());
  ASSERT_TRUE(write_sheet_meta(d + "/thumbs/" + sheet_json_name(3), sheet(3, {12, 13})).is_ok());
  // A broken sidecar is skipped.
  ASSERT_TRUE(sigma::write_file_atomic(d + "/thumbs/sprite-9.json", "garbage").is_ok());
  auto r = tiles_in_range(d, 95000, 125000);  // slots 9..12
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].tile.slot, 9);
  EXPECT_EQ((*r)[0].sheet, 2);
  EXPECT_EQ((*r)[1].tile.slot, 11);
  EXPECT_EQ((*r)[2].tile.slot, 12);
  EXPECT_EQ((*r)[2].sheet, 3);
  EXPECT_EQ((*r)[2].w, 160);
  EXPECT_EQ((*r)[2].interval_ms, 10000);
  // Half-open: a range ending at slot 9's start does not include it.
  auto r2 = tiles_in_range(d, 80000, 90000);
  ASSERT_TRUE(r2.is_ok());
  ASSERT_EQ(r2->size(), 1u);
  EXPECT_EQ((*r2)[0].tile.slot, 8);
  // No thumbs/ at all: empty.
  auto r3 = tiles_in_range(d + "/nothing", 0, 1000000);
  ASSERT_TRUE(r3.is_ok());
  EXPECT_TRUE(r3->empty());
  remove_tree(d);
}

TEST(ThumbFiles, TilesInRangeWithSheetsOfAnotherGeometry) {
  std::string d = temp_dir();
  ASSERT_TRUE(sigma::make_dirs(d + "/thumbs").is_ok());
  // An old sheet of one 10 s tile (another --grid), then 2x2 sheets.
  SheetMeta old;
  old.sheet = 0;
  old.cols = old.rows = 1;
  old.tiles.push_back(Tile{0, 500, 0, 0});
  ASSERT_TRUE(write_sheet_meta(d + "/thumbs/" + sheet_json_name(0), old).is_ok());
  ASSERT_TRUE(write_sheet_meta(d + "/thumbs/" + sheet_json_name(5), sheet(5, {20, 21})).is_ok());
  auto r = tiles_in_range(d, 0, 10000);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].sheet, 0);
  auto r2 = tiles_in_range(d, 200000, 220000);
  ASSERT_TRUE(r2.is_ok());
  ASSERT_EQ(r2->size(), 2u);
  EXPECT_EQ(list_sheets(d), (std::vector<int64_t>{0, 5}));
  remove_tree(d);
}

TEST(ThumbFiles, VttGolden) {
  std::vector<TileRef> tiles;
  tiles.push_back(TileRef{2, Tile{9, 91000, 160, 0}, 160, 90, 10000});
  tiles.push_back(TileRef{2, Tile{11, 111000, 160, 90}, 160, 90, 10000});
  tiles.push_back(TileRef{3, Tile{12, 121000, 0, 0}, 160, 90, 10000});
  std::string vtt = make_vtt(tiles, 95000, 3725000, "thumbs/");
  EXPECT_EQ(vtt,
            "WEBVTT\n\n"
            "00:00:00.000 --> 00:00:15.000\n"
            "thumbs/sprite-2.jpg#xywh=160,0,160,90\n\n"
            "00:00:15.000 --> 00:00:25.000\n"
            "thumbs/sprite-2.jpg#xywh=160,90,160,90\n\n"
            "00:00:25.000 --> 01:00:30.000\n"
            "thumbs/sprite-3.jpg#xywh=0,0,160,90\n\n");
  EXPECT_EQ(make_vtt({}, 0, 1000, "../thumbs/"), "WEBVTT\n\n");
}

#include "thumb/engine.h"

TEST(ThumbVariants, MasterResolutionsAndTheCheapestChoice) {
  std::string d = temp_dir();
  ASSERT_TRUE(sigma::write_file_atomic(d + "/master.m3u8",
                                       "#EXTM3U\n"
                                       "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a0\",URI=\"a0/index.m3u8\"\n"
                                       "#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080,AUDIO=\"audio\"\n"
                                       "1080p/index.m3u8\n"
                                       "#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720\n"
                                       "720p/index.m3u8\n"
                                       "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n"
                                       "360p/index.m3u8\n")
                  .is_ok());
  auto vs = read_variants(d);
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0].track, "1080p");
  EXPECT_EQ(vs[0].width, 1920);
  EXPECT_EQ(vs[2].height, 360);
  // The narrowest at least as wide as asked, else the widest.
  EXPECT_EQ(choose_variant(vs, 320), "360p");
  EXPECT_EQ(choose_variant(vs, 640), "360p");
  EXPECT_EQ(choose_variant(vs, 641), "720p");
  EXPECT_EQ(choose_variant(vs, 3840), "1080p");
  // A shed rung is skipped: the next cheapest.
  EXPECT_EQ(choose_variant(vs, 320, {"360p"}), "720p");
  EXPECT_EQ(choose_variant(vs, 320, {"360p", "720p", "1080p"}), "");
  EXPECT_TRUE(read_variants(d + "/none").empty());
  remove_tree(d);
}
