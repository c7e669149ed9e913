// A full disk (issue 21), below the bats suite: the playlist writer that
// cannot write keeps the playlist on disk whole and deletes nothing it
// lists; a lost LL-HLS segment's parts are unlisted; the writers' health
// tells one output.failed and one output.recovered; the supervisor's
// disk_full alert fires and resolves from them; retention by free space.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"
#include "base/write_health.h"
#include "package/hls_publisher.h"
#include "package/naming.h"
#include "supervisor/alerts.h"

using namespace sigma;
using namespace sigma::package;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sigma-full-disk-XXXXXX";
    path = mkdtemp(tmpl);
    fs::create_directories(path / "v0");
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  auto r = read_file(p.string());
  return r.is_ok() ? *r : std::string("<missing>");
}

SegmentReport segment(int64_t msn, bool gap = false) {
  SegmentReport r;
  r.msn = msn;
  r.duration = 2;
  r.uri = segment_name("seg", msn);
  r.map_uri = "init.mp4";
  r.bytes = gap ? 0 : 1000;
  r.frames = gap ? 0 : 60;
  r.gap = gap;
  r.program_date_time_ms = 1795514400000 + msn * 2000;
  return r;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

std::vector<nlohmann::json> read_events(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}
}  // namespace

TEST(WriteHealth, OneFailedAndOneRecoveredPerRun) {
  TempDir d;
  EventWriter ev;
  ASSERT_TRUE(ev.open((d.path / "events").string()).is_ok());
  WriteHealth h(&ev, "news", "package");
  Status full = errno_error("write x", ENOSPC);
  EXPECT_TRUE(is_no_space(full));
  EXPECT_FALSE(is_no_space(errno_error("write x", EIO)));
  uint64_t mark = h.failures();
  h.failed("segment v0/seg-1.m4s", full);
  h.failed("segment v0/seg-2.m4s", full);
  h.recovered_since(mark);  // a failure since the mark: not over
  EXPECT_TRUE(h.failing());
  mark = h.failures();
  h.recovered_since(mark);
  EXPECT_FALSE(h.failing());
  EXPECT_EQ(h.lost(), 2);
  auto evs = read_events(d.path / "events");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0]["type"], "output.failed");
  EXPECT_EQ(evs[0]["writer"], "package");
  EXPECT_EQ(evs[0]["no_space"], true);
  EXPECT_EQ(evs[0]["what"], "segment v0/seg-1.m4s");
  EXPECT_EQ(evs[1]["type"], "output.recovered");
  EXPECT_EQ(evs[1]["lost"], 2);
}

// The track directory replaced by a file: every write in it fails with a
// system error (ENOTDIR), as on a full disk, and comes back when it is a
// directory again.
TEST(HlsPublisher, APlaylistThatCannotBeWrittenStaysWholeAndKeepsItsFiles) {
  TempDir d;
  WriteHealth health(nullptr, "news", "package");
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 2;
  p.window = 2;
  p.health = &health;
  HlsPublisher pub(p, {{"v0", true}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.64001F", 640, 360, 0, 0, false}).is_ok());
  for (int64_t m = 0; m < 3; ++m) {
    touch(d.path / "v0" / segment_name("seg", m));
    ASSERT_TRUE(pub.on_segment(segment(m)).is_ok());
  }
  std::string on_disk = slurp(d.path / "v0/index.m3u8");
  EXPECT_NE(on_disk.find("#EXT-X-MEDIA-SEQUENCE:1\n"), std::string::npos);

  // Writes fail: the publisher goes on, the playlist on disk stays, and
  // nothing it lists is deleted.
  fs::rename(d.path / "v0", d.path / "v0.saved");
  touch(d.path / "v0");
  for (int64_t m = 3; m < 8; ++m) EXPECT_TRUE(pub.on_segment(segment(m)).is_ok());
  EXPECT_TRUE(health.failing());
  fs::remove(d.path / "v0");
  fs::rename(d.path / "v0.saved", d.path / "v0");
  EXPECT_EQ(slurp(d.path / "v0/index.m3u8"), on_disk);
  for (int64_t m = 1; m < 3; ++m) EXPECT_TRUE(fs::exists(d.path / "v0" / segment_name("seg", m))) << m;

  // Writable again: the next segment's playlist is written.
  uint64_t mark = health.failures();
  touch(d.path / "v0" / segment_name("seg", 8));
  ASSERT_TRUE(pub.on_segment(segment(8)).is_ok());
  health.recovered_since(mark);
  EXPECT_FALSE(health.failing());
  std::string now = slurp(d.path / "v0/index.m3u8");
  EXPECT_NE(now.find("#EXT-X-MEDIA-SEQUENCE:7\n"), std::string::npos) << now;
  EXPECT_NE(now.find("seg-8.m4s"), std::string::npos);
}

TEST(HlsPublisher, WithoutHealthAWriteErrorIsAnError) {
  TempDir d;
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 2;
  HlsPublisher pub(p, {{"v0", true}});
  fs::remove_all(d.path / "v0");
  touch(d.path / "v0");
  EXPECT_FALSE(pub.on_segment(segment(0)).is_ok());
}

TEST(HlsPublisher, ALostSegmentsPublishedPartsAreUnlisted) {
  TempDir d;
  WriteHealth health(nullptr, "news", "package");
  PublisherParams p;
  p.out_dir = d.path.string();
  p.target_duration = 2;
  p.part_target = 0.5;
  p.window = 4;
  p.health = &health;
  HlsPublisher pub(p, {{"v0", true}});
  ASSERT_TRUE(pub.on_init({0, "init.mp4", "avc1.42C01E", 640, 360, 0, 0, false}).is_ok());
  PartReport part;
  part.msn = 0;
  part.index = 0;
  part.duration = 0.5;
  part.independent = true;
  part.uri = part_name("seg", 0, 0);
  part.map_uri = "init.mp4";
  touch(d.path / "v0" / part.uri);
  ASSERT_TRUE(pub.on_part(part).is_ok());
  EXPECT_NE(slurp(d.path / "v0/index.m3u8").find("seg-0.0.m4s"), std::string::npos);
  // The segment is lost after its first part: a gap, and no part listed.
  ASSERT_TRUE(pub.on_segment(segment(0, true)).is_ok());
  std::string pl = slurp(d.path / "v0/index.m3u8");
  EXPECT_EQ(pl.find("seg-0.0.m4s"), std::string::npos) << pl;
  EXPECT_NE(pl.find("#EXT-X-GAP\n#EXTINF:2,\nseg-0.m4s\n"), std::string::npos) << pl;
  EXPECT_NE(pl.find("PRELOAD-HINT:TYPE=PART,URI=\"seg-1.0.m4s\""), std::string::npos) << pl;
}

TEST(AlertWatch, DiskFullFromAWritersFailureUntilItRecovers) {
  using namespace sigma::supervisor;
  std::vector<nlohmann::json> out;
  AlertWatch w([&](const std::string& type, const std::string& channel,
                   nlohmann::json f) { f["type"] = type, f["channel"] = channel, out.push_back(f); },
               [](const std::string&) -> Result<DiskUsage> { return DiskUsage{100, 100, 1}; });
  AlertSettings s;
  s.hold_ms = 1000;
  w.configure(s);
  ChannelFacts news;
  news.name = "news";
  auto at = [](int64_t ms) { return Now{ms, 1'800'000'000'000 + ms}; };
  w.on_event("output.failed", "news",
             {{"writer", "package"}, {"what", "segment v0/seg-3.m4s"}, {"error", "No space left on device"}}, at(0),
             true);
  w.on_event("output.failed", "news", {{"writer", "dvr"}, {"what", "index"}, {"error", "database or disk is full"}},
             at(0), true);
  for (int t = 0; t <= 2000; t += 500) w.evaluate({}, {news}, {}, at(t));
  auto count = [&](const std::string& key, const std::string& state) {
    int n = 0;
    for (auto& e : out) n += e["type"] == "alert.disk_full" && e["key"] == key && e["state"] == state;
    return n;
  };
  EXPECT_EQ(count("news/package", "firing"), 1);
  EXPECT_EQ(count("news/dvr", "firing"), 1);
  // A gap is no recovery; a segment with a file is.
  w.on_event("segment.written", "news", {{"gap", true}}, at(2100), true);
  for (int t = 2500; t <= 4000; t += 500) w.evaluate({}, {news}, {}, at(t));
  EXPECT_EQ(count("news/package", "resolved"), 0);
  w.on_event("segment.written", "news", {{"gap", false}}, at(4100), true);
  w.on_event("output.recovered", "news", {{"writer", "dvr"}}, at(4100), true);
  for (int t = 4500; t <= 7000; t += 500) w.evaluate({}, {news}, {}, at(t));
  EXPECT_EQ(count("news/package", "resolved"), 1);
  EXPECT_EQ(count("news/dvr", "resolved"), 1);
  EXPECT_EQ(count("news/package", "firing"), 1);
  EXPECT_TRUE(w.open().empty());
}
