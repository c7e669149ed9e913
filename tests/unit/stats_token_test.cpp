// common/stats: a signed URL's viewer id (sigma-origin(1), SIGNED PLAYBACK)
// is the session sigma-stats counts, over a path session and CMCD.
#include <gtest/gtest.h>

#include <string>

#include "base/time.h"
#include "stats/engine.h"
#include "stats/log_line.h"

namespace sigma::stats {
namespace {

constexpr int64_t kT0 = 1796292000000;  // 2026-12-03T10:00:00Z
constexpr int64_t kWall = kT0 + 86400000;

std::string line(int64_t ms, const std::string& path, const std::string& session = "",
                 const std::string& source = "", const std::string& client = "192.0.2.7:5000") {
  std::string s = "{\"time\":\"" + iso8601_utc(ms) + "\",\"client\":\"" + client + "\",\"method\":\"GET\",\"path\":\"" +
                  path + "\",\"status\":200,\"bytes\":1000,\"duration_ms\":0.3,\"user_agent\":\"UA\"";
  if (!session.empty()) s += ",\"session\":\"" + session + "\",\"session_source\":\"" + source + "\"";
  return s + "}";
}

int64_t total(const Engine& e, Metric m) {
  int64_t n = 0;
  for (const auto& [k, v] : e.totals())
    if (k.metric == m) n += v;
  return n;
}

EngineOptions opts() {
  EngineOptions o;
  o.timeout_ms = o.default_timeout_ms = 30000;
  return o;
}

}  // namespace

TEST(StatsToken, PathClassifiesTheTokenAway) {
  PathInfo p;
  classify_path("/demo/t/alice.REDACTED/v0/seg-3.m4s", p);
  EXPECT_EQ(p.channel, "demo");
  EXPECT_EQ(p.viewer, "alice");
  EXPECT_EQ(p.track, "v0");
  EXPECT_EQ(p.kind, Kind::kSegment);
  classify_path("/demo/t/alice.1800000000..AAAA/master.m3u8", p);
  EXPECT_EQ(p.viewer, "alice");
  EXPECT_EQ(p.kind, Kind::kMaster);
  classify_path("/demo/t/REDACTED/v0/seg-3.1.m4s", p);  // a log that kept no viewer
  EXPECT_EQ(p.viewer, "");
  EXPECT_EQ(p.track, "v0");
  EXPECT_EQ(p.kind, Kind::kPart);
  classify_path("/demo/s/abcdefghijklmnopqrstuv/t/bob.REDACTED/v0/index.m3u8", p);
  EXPECT_EQ(p.sid, "abcdefghijklmnopqrstuv");
  EXPECT_EQ(p.viewer, "bob");
  EXPECT_EQ(p.kind, Kind::kPlaylist);
  EXPECT_EQ(p.track, "v0");
  EXPECT_STREQ(source_name(Source::kToken), "token");
}

TEST(StatsToken, TheViewerIdWinsOverCmcdAndPathSessions) {
  Engine e(opts());
  // One viewer's token; its player changes CMCD sid and path session midway
  // (a reload of the page): still one session.
  for (int i = 0; i < 10; ++i) {
    std::string cmcd = i < 5 ? "first-cmcd-sid" : "second-cmcd-sid";
    e.add(line(kT0 + i * 2000, "/demo/t/alice.REDACTED/v0/seg-" + std::to_string(i) + ".m4s", "alice", "token"),
          kWall);
    e.add(line(kT0 + i * 2000 + 10, "/demo/t/alice.REDACTED/v0/index.m3u8?x", "", ""), kWall);
  }
  // Two viewers behind one address and one UA: two sessions.
  for (int i = 0; i < 5; ++i)
    for (const char* v : {"bob", "carol"})
      e.add(line(kT0 + i * 2000, std::string("/demo/t/") + v + ".REDACTED/v0/seg-" + std::to_string(i) + ".m4s", v,
                 "token", "198.51.100.1:1"),
            kWall);
  e.take();
  EXPECT_EQ(total(e, Metric::kSessions), 3);
  EXPECT_EQ(total(e, Metric::kViews), 3);
  EXPECT_EQ(total(e, Metric::kFallbackSessions), 0);
}

}  // namespace sigma::stats
