// The archive index (common/dvr/index.h) and the time specs sigma-dvr's
// options take (common/dvr/time_spec.h).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "dvr/index.h"
#include "base/event_follower.h"
#include "base/time_spec.h"

using sigma::ExitCode;
using namespace sigma::dvr;
using sigma::EventFollower;
using sigma::format_duration;
using sigma::format_size;
using sigma::parse_duration;
using sigma::parse_size;
using sigma::parse_time;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/dvr_index_test.XXXXXX";
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

SegmentRow seg(const std::string& track, int64_t msn, int64_t start_ms, int64_t dur_ms = 1000) {
  SegmentRow r;
  r.track = track;
  r.msn = msn;
  r.start_ms = start_ms;
  r.duration_ms = dur_ms;
  r.uri = track + "/seg-" + std::to_string(msn) + ".m4s";
  r.init = track + "/init.mp4";
  r.bytes = 1000 + msn;
  return r;
}

struct IndexTest : ::testing::Test {
  std::string dir = temp_dir();
  ~IndexTest() override { remove_tree(dir); }
};

}  // namespace

TEST_F(IndexTest, CreatesTheSchemaAndRoundTripsRows) {
  auto idx = Index::open(dir, Index::Mode::kReadWrite);
  ASSERT_TRUE(idx.is_ok()) << idx.status().message();
  struct stat st {};
  EXPECT_EQ(stat((dir + "/.dvr/index.sqlite").c_str(), &st), 0);
  std::vector<SegmentRow> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(seg("v0", i, 1'000'000 + i * 1000));
  rows[3].discontinuity = true;
  rows[4].independent = false;
  ASSERT_TRUE((*idx)->add_batch(rows).is_ok());
  ASSERT_TRUE((*idx)->add(seg("a0", 0, 1'000'000)).is_ok());

  auto tracks = (*idx)->tracks();
  ASSERT_TRUE(tracks.is_ok());
  EXPECT_EQ(*tracks, (std::vector<std::string>{"a0", "v0"}));

  // [2500, 4500) relative: segments 2, 3, 4 overlap it.
  auto got = (*idx)->segments("v0", 1'002'500, 1'004'500);
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].msn, 2);
  EXPECT_TRUE((*got)[1].discontinuity);
  EXPECT_FALSE((*got)[2].independent);
  EXPECT_EQ((*got)[1].uri, "v0/seg-3.m4s");
  EXPECT_EQ((*got)[1].init, "v0/init.mp4");
  // The end is exclusive: a range ending where segment 5 starts leaves it out.
  got = (*idx)->segments("v0", 1'004'999, 1'005'000);
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].msn, 4);

  auto span = (*idx)->span();
  ASSERT_TRUE(span.is_ok() && span->has_value());
  EXPECT_EQ((*span)->first, 1'000'000);
  EXPECT_EQ((*span)->second, 1'010'000);
  auto total = (*idx)->total_bytes();
  ASSERT_TRUE(total.is_ok());
  EXPECT_EQ(*total, 10 * 1000 + 45 + 1000);
  EXPECT_EQ(*(*idx)->count(), 11);

  // Replace by (track, msn).
  auto r = seg("v0", 9, 1'009'000);
  r.bytes = 5;
  ASSERT_TRUE((*idx)->add(r).is_ok());
  EXPECT_EQ(*(*idx)->count(), 11);
  ASSERT_TRUE((*idx)->remove("v0", 9).is_ok());
  ASSERT_TRUE((*idx)->remove_batch({{"v0", 8}, {"a0", 0}}).is_ok());
  EXPECT_EQ(*(*idx)->count(), 8);
  EXPECT_TRUE(*(*idx)->init_used("v0/init.mp4"));
  EXPECT_FALSE(*(*idx)->init_used("a0/init.mp4"));
}

TEST_F(IndexTest, RangesSplitAtHolesAndGaps) {
  auto idx = Index::open(dir, Index::Mode::kReadWrite);
  ASSERT_TRUE(idx.is_ok());
  std::vector<SegmentRow> rows;
  int64_t t = 1'000'000;
  int msn = 0;
  for (int i = 0; i < 5; ++i, t += 1000) rows.push_back(seg("v0", msn++, t));
  t += 1400;  // under kHoleMs: no hole
  for (int i = 0; i < 5; ++i, t += 1000) rows.push_back(seg("v0", msn++, t));
  t += 5000;  // a hole
  for (int i = 0; i < 3; ++i, t += 1000) rows.push_back(seg("v0", msn++, t));
  auto g = seg("v0", msn++, t);  // a gap segment splits too
  g.gap = true;
  g.uri = "";
  g.bytes = 0;
  rows.push_back(g);
  t += 1000;
  for (int i = 0; i < 2; ++i, t += 1000) rows.push_back(seg("v0", msn++, t));
  ASSERT_TRUE((*idx)->add_batch(rows).is_ok());
  auto r = (*idx)->ranges("v0");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].from_ms, 1'000'000);
  EXPECT_EQ((*r)[0].to_ms, 1'011'400);
  EXPECT_EQ((*r)[0].segments, 10);
  EXPECT_EQ((*r)[1].segments, 3);
  EXPECT_EQ((*r)[2].segments, 2);
  EXPECT_EQ((*r)[2].to_ms, t);
  // The channel: another track covering the first hole joins it up.
  std::vector<SegmentRow> audio;
  for (int64_t a = 1'011'400; a < 1'016'400; a += 1000) audio.push_back(seg("a0", a, a));
  ASSERT_TRUE((*idx)->add_batch(audio).is_ok());
  auto all = (*idx)->ranges("");
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(IndexTest, KeepsAndMeta) {
  auto idx = Index::open(dir, Index::Mode::kReadWrite);
  ASSERT_TRUE(idx.is_ok());
  ASSERT_TRUE((*idx)->put_keep({"show", 1000, 2000, 5}).is_ok());
  ASSERT_TRUE((*idx)->put_keep({"early", 10, 20, 6}).is_ok());
  auto k = (*idx)->keeps();
  ASSERT_TRUE(k.is_ok());
  ASSERT_EQ(k->size(), 2u);
  EXPECT_EQ((*k)[0].name, "early");
  EXPECT_EQ((*k)[1].to_ms, 2000);
  ASSERT_TRUE((*idx)->drop_keep("early").is_ok());
  auto st = (*idx)->drop_keep("nope");
  EXPECT_EQ(st.code(), ExitCode::kUsage);
  EXPECT_EQ(*(*idx)->meta("schema"), "1");
  ASSERT_TRUE((*idx)->set_meta("channel", "demo").is_ok());
  EXPECT_EQ(*(*idx)->meta("channel"), "demo");
  EXPECT_EQ(*(*idx)->meta("absent"), "");
}

TEST_F(IndexTest, ReadOnlyReadsWhileTheWriterWrites) {
  auto w = Index::open(dir, Index::Mode::kReadWrite);
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->add(seg("v0", 0, 1000)).is_ok());
  auto r = Index::open(dir, Index::Mode::kReadOnly);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*(*r)->count(), 1);
  std::vector<SegmentRow> rows;
  for (int i = 1; i < 100; ++i) rows.push_back(seg("v0", i, 1000 + i * 1000));
  ASSERT_TRUE((*w)->add_batch(rows).is_ok());
  EXPECT_EQ(*(*r)->count(), 100);
  // A reader cannot write.
  EXPECT_FALSE((*r)->add(seg("v0", 500, 0)).is_ok());
  // The writer gone, a new reader still opens (the WAL files persist).
  w->reset();
  auto r2 = Index::open(dir, Index::Mode::kReadOnly);
  ASSERT_TRUE(r2.is_ok()) << r2.status().message();
  EXPECT_EQ(*(*r2)->count(), 100);
}

TEST_F(IndexTest, ReadOnlyOnAReadOnlyDirectoryAfterACleanClose) {
  {
    auto w = Index::open(dir, Index::Mode::kReadWrite);
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->add(seg("v0", 0, 1000)).is_ok());
  }
  chmod((dir + "/.dvr").c_str(), 0555);
  auto r = Index::open(dir, Index::Mode::kReadOnly);
  chmod((dir + "/.dvr").c_str(), 0755);
  if (geteuid() == 0) GTEST_SKIP() << "root ignores the mode";
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*(*r)->count(), 1);
}

TEST_F(IndexTest, MissingAndCorruptIndexesAreClearErrors) {
  auto r = Index::open(dir, Index::Mode::kReadOnly);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ExitCode::kSystem);
  EXPECT_NE(r.status().message().find(dir + "/.dvr/index.sqlite"), std::string::npos) << r.status().message();

  auto nodir = Index::open(dir + "/nope", Index::Mode::kReadWrite);
  ASSERT_FALSE(nodir.is_ok());

  mkdir((dir + "/.dvr").c_str(), 0755);
  {
    std::ofstream f(dir + "/.dvr/index.sqlite");
    f << std::string(8192, 'x');
  }
  for (auto mode : {Index::Mode::kReadOnly, Index::Mode::kReadWrite}) {
    auto c = Index::open(dir, mode);
    ASSERT_FALSE(c.is_ok());
    EXPECT_EQ(c.status().code(), ExitCode::kData) << c.status().message();
    EXPECT_NE(c.status().message().find(dir + "/.dvr/index.sqlite"), std::string::npos) << c.status().message();
  }
  // The corrupt file is left as it was: nothing lost.
  struct stat st {};
  ASSERT_EQ(stat((dir + "/.dvr/index.sqlite").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8192);
}

TEST_F(IndexTest, AFutureSchemaIsRefused) {
  {
    auto w = Index::open(dir, Index::Mode::kReadWrite);
    ASSERT_TRUE(w.is_ok());
    ASSERT_TRUE((*w)->set_meta("schema", "7").is_ok());
  }
  auto r = Index::open(dir, Index::Mode::kReadWrite);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ExitCode::kData);
  EXPECT_NE(r.status().message().find("schema version 7"), std::string::npos);
}

TEST(TimeSpec, Times) {
  const int64_t now = 1'796'294'400'000;  // 2026-12-03T10:40:00Z
  EXPECT_EQ(*parse_time("now", now), now);
  EXPECT_EQ(*parse_time("-1h", now), now - 3'600'000);
  EXPECT_EQ(*parse_time("-90m", now), now - 5'400'000);
  EXPECT_EQ(*parse_time("-30s", now), now - 30'000);
  EXPECT_EQ(*parse_time("-1h30m", now), now - 5'400'000);
  EXPECT_EQ(*parse_time("1796292000", now), 1'796'292'000'000);
  EXPECT_EQ(*parse_time("1796292000.5", now), 1'796'292'000'500);
  EXPECT_EQ(*parse_time("2026-12-03T10:40:00Z", now), now);
  EXPECT_EQ(*parse_time("2026-12-03T10:40:00.250Z", now), now + 250);
  EXPECT_EQ(*parse_time("2026-12-03T11:40:00+01:00", now), now);
  EXPECT_EQ(*parse_time("2026-12-03T05:40:00-0500", now), now);
  EXPECT_EQ(*parse_time("2026-12-03T10:40Z", now), now);
  EXPECT_EQ(*parse_time("1970-01-01", now), 0);
  EXPECT_EQ(*parse_time("2024-02-29T00:00:00Z", now), 1'709'164'800'000);
  for (const char* bad : {"", "2026-13-45", "2026-02-30T00:00:00Z", "2025-02-29", "2026-12-03T25:00:00Z",
                          "yesterday", "-", "-1x", "12abc", "2026-12-03T10:00:00Q", "1h"}) {
    auto r = parse_time(bad, now);
    EXPECT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), ExitCode::kUsage);
  }
  auto r = parse_time("2026-13-45", now);
  EXPECT_EQ(r.status().message(), "cannot read '2026-13-45' as a time (ISO 8601, Unix seconds, now or -1h)");
  r = parse_time("2026-12-03T10:00:00", now);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("time zone"), std::string::npos);
}

TEST(TimeSpec, DurationsAndSizes) {
  EXPECT_EQ(*parse_duration("3600"), 3'600'000);
  EXPECT_EQ(*parse_duration("90m"), 5'400'000);
  EXPECT_EQ(*parse_duration("1h30m"), 5'400'000);
  EXPECT_EQ(*parse_duration("2h"), 7'200'000);
  EXPECT_EQ(*parse_duration("7d"), 604'800'000);
  EXPECT_EQ(*parse_duration("1.5h"), 5'400'000);
  EXPECT_EQ(*parse_duration("500ms"), 500);
  EXPECT_EQ(*parse_duration("1m30s"), 90'000);
  for (const char* bad : {"", "h", "1x", "30m1h", "1h1h", "-5", "1e9", "99999999999d"})
    EXPECT_FALSE(parse_duration(bad).is_ok()) << bad;
  EXPECT_EQ(*parse_size("1000"), 1000);
  EXPECT_EQ(*parse_size("100M"), 100LL << 20);
  EXPECT_EQ(*parse_size("50G"), 50LL << 30);
  EXPECT_EQ(*parse_size("50GiB"), 50LL << 30);
  EXPECT_EQ(*parse_size("50GB"), 50'000'000'000LL);
  EXPECT_EQ(*parse_size("1.5K"), 1536);
  for (const char* bad : {"", "G", "5X", "5GG", "-1", "1e30"}) EXPECT_FALSE(parse_size(bad).is_ok()) << bad;
  EXPECT_EQ(format_duration(5'400'000), "1h30m");
  EXPECT_EQ(format_duration(1'500), "1s500ms");
  EXPECT_EQ(*parse_duration(format_duration(93'784'000)), 93'784'000);
  EXPECT_EQ(format_size(1536), "1.5 KiB");
  EXPECT_EQ(format_size(12), "12 B");
}

#include "dvr/playlist_scan.h"

TEST(PlaylistScan, MediaPlaylistEntries) {
  const std::string text =
      "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:10\n"
      "#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:00:27.776Z\n#EXTINF:1,\nseg-10.m4s\n"
      "#EXTINF:0.5,\nseg-11.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-12.mp4\"\n"
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T14:01:00.000Z\n#EXTINF:1.001,\nseg-12.m4s\n"
      "#EXT-X-GAP\n#EXTINF:1,\nseg-13.m4s\n"
      "#EXT-X-PART:DURATION=0.33334,URI=\"seg-14.0.m4s\",INDEPENDENT=YES\n"
      "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg-14.1.m4s\"\n";
  MediaListing l = parse_media_playlist(text, "v0");
  ASSERT_EQ(l.segments.size(), 4u);
  const int64_t t0 = *parse_time("2026-12-03T14:00:27.776Z", 0);
  EXPECT_EQ(l.segments[0].msn, 10);
  EXPECT_EQ(l.segments[0].uri, "v0/seg-10.m4s");
  EXPECT_EQ(l.segments[0].init, "v0/init.mp4");
  EXPECT_EQ(*l.segments[0].pdt_ms, t0);
  EXPECT_EQ(*l.segments[1].pdt_ms, t0 + 1000);  // carried forward by EXTINF
  EXPECT_EQ(l.segments[1].duration_ms, 500);
  EXPECT_FALSE(l.segments[1].discontinuity);
  EXPECT_TRUE(l.segments[2].discontinuity);
  EXPECT_EQ(l.segments[2].init, "v0/init-12.mp4");
  EXPECT_EQ(l.segments[2].duration_ms, 1001);
  EXPECT_TRUE(l.segments[3].gap);
  EXPECT_EQ(l.segments[3].msn, 13);
  EXPECT_EQ(l.last_init, "v0/init-12.mp4");
}

TEST(PlaylistScan, SegmentNames) {
  EXPECT_EQ(segment_msn("seg-12.m4s"), std::optional<int64_t>(12));
  EXPECT_EQ(segment_msn("my-seg-0.m4s"), std::optional<int64_t>(0));
  EXPECT_FALSE(segment_msn("seg-12.3.m4s"));  // a part
  EXPECT_FALSE(segment_msn("seg-12.m4s.tmp"));
  EXPECT_FALSE(segment_msn("init.mp4"));
  EXPECT_FALSE(segment_msn("seg-.m4s"));
  EXPECT_FALSE(segment_msn("-12.m4s"));
}

#include "dvr/archiver.h"

namespace {
bool exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}
void touch(const std::string& p, size_t n) { std::ofstream(p) << std::string(n, 'x'); }
}  // namespace

// Retention on a directory with a known index: exactly the oldest go, rows
// and files, never a kept or live segment; an init goes with its last user
// unless it is the newest.
TEST_F(IndexTest, RetentionByAgeAndSizeOldestFirst) {
  auto idx = Index::open(dir, Index::Mode::kReadWrite);
  ASSERT_TRUE(idx.is_ok());
  mkdir((dir + "/v0").c_str(), 0755);
  touch(dir + "/v0/init.mp4", 10);
  touch(dir + "/v0/init-5.mp4", 10);
  const int64_t base = 1'000'000;
  std::vector<SegmentRow> rows;
  for (int i = 0; i < 10; ++i) {
    auto r = seg("v0", i, base + i * 1000);
    r.bytes = 100;
    r.init = i < 5 ? "v0/init.mp4" : "v0/init-5.mp4";
    touch(dir + "/" + r.uri, 100);
    rows.push_back(r);
  }
  ASSERT_TRUE((*idx)->add_batch(rows).is_ok());
  ASSERT_TRUE((*idx)->put_keep({"k", base + 1500, base + 1600, 0}).is_ok());
  auto msns = [&] {
    std::vector<int64_t> v;
    auto all = (*idx)->all("v0");
    for (const auto& r : *all) v.push_back(r.msn);
    return v;
  };

  // Age: ended before now - retain (base + 3500): 0, 1, 2; 1 is kept.
  auto r = apply_retention(**idx, dir, {6500, 0}, base + 10'000);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->age_count, 2);
  EXPECT_EQ(r->age_bytes, 200);
  EXPECT_TRUE(r->blocked);
  EXPECT_EQ(msns(), (std::vector<int64_t>{1, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_FALSE(exists(dir + "/v0/seg-0.m4s"));
  EXPECT_TRUE(exists(dir + "/v0/seg-1.m4s"));
  EXPECT_FALSE(exists(dir + "/v0/seg-2.m4s"));

  // Size: 800 bytes over 500: the three oldest unkept.
  r = apply_retention(**idx, dir, {0, 500}, base + 10'000);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->size_count, 3);
  EXPECT_EQ(r->total_bytes, 500);
  EXPECT_EQ(msns(), (std::vector<int64_t>{1, 6, 7, 8, 9}));
  EXPECT_TRUE(exists(dir + "/v0/init.mp4"));  // segment 1 still needs it

  // The keep gone, its segment goes too, and with it the init nothing uses.
  ASSERT_TRUE((*idx)->drop_keep("k").is_ok());
  r = apply_retention(**idx, dir, {0, 350}, base + 10'000);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->size_count, 2);
  EXPECT_EQ(r->inits, 1);
  EXPECT_EQ(msns(), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_FALSE(exists(dir + "/v0/init.mp4"));
  EXPECT_TRUE(exists(dir + "/v0/init-5.mp4"));

  // What the live playlist lists stays, whatever the limit.
  std::ofstream(dir + "/v0/index.m3u8") << "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:8\n#EXT-X-MAP:URI=\"init-5.mp4\"\n"
                                           "#EXTINF:1,\nseg-8.m4s\n#EXTINF:1,\nseg-9.m4s\n";
  r = apply_retention(**idx, dir, {1, 1}, base + 100'000);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->age_count, 1);
  EXPECT_TRUE(r->blocked);
  EXPECT_EQ(msns(), (std::vector<int64_t>{8, 9}));
  EXPECT_TRUE(exists(dir + "/v0/init-5.mp4"));
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(exists(dir + "/v0/seg-" + std::to_string(i) + ".m4s")) << i;
}


namespace {
std::vector<std::string> read_all(EventFollower& f) {
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.read(lines, 0).is_ok());
  return lines;
}
}  // namespace

// tail -F: complete lines only, across a rename and a new file, after a
// truncation, and from a saved position.
TEST_F(IndexTest, EventFollowerFollowsAFileAcrossRotation) {
  const std::string path = dir + "/events";
  std::ofstream(path) << "one\ntwo\npar";
  auto f = EventFollower::open(path);
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(read_all(**f), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ((*f)->offset(), 8u);
  std::ofstream(path, std::ios::app) << "tial\n";
  EXPECT_EQ(read_all(**f), (std::vector<std::string>{"partial"}));
  // Rotation: the old file gets a last line, then a new file appears.
  std::ofstream(path, std::ios::app) << "last\n";
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  std::ofstream(path) << "new\n";
  EXPECT_EQ(read_all(**f), (std::vector<std::string>{"last", "new"}));
  uint64_t inode = (*f)->inode(), offset = (*f)->offset();
  EXPECT_EQ(offset, 4u);
  // Truncated (copytruncate): from the start again.
  { std::ofstream(path, std::ios::trunc) << "x\n"; }
  EXPECT_EQ(read_all(**f), (std::vector<std::string>{"x"}));
  // A restart with the saved position of this inode resumes there.
  std::ofstream(path, std::ios::app) << "after\n";
  auto g = EventFollower::open(path, inode, 2);
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(read_all(**g), (std::vector<std::string>{"after"}));
  // Another inode (or a shorter file): from the start.
  auto h = EventFollower::open(path, inode + 1, 2);
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(read_all(**h), (std::vector<std::string>{"x", "after"}));
}
