// common/stats: the access-log line reader, the path classifier, the
// sessionizer's definitions (sigma-stats(1)) and the state's restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/time.h"
#include "stats/engine.h"
#include "stats/log_line.h"
#include "stats/report.h"
#include "stats/store.h"

namespace sigma::stats {
namespace {

constexpr int64_t kT0 = 1796292000000;  // 2026-12-03T10:00:00Z
constexpr int64_t kWall = kT0 + 86400000;

EngineOptions opts_for_nginx() {
  EngineOptions o;
  o.timeout_ms = o.default_timeout_ms = 30000;
  return o;
}

std::string L(int64_t ms, const std::string& path, const std::string& session = "", int status = 200,
              const std::string& client = "192.0.2.7:5000", const std::string& ua = "UA") {
  std::string s = "{\"time\":\"" + iso8601_utc(ms) + "\",\"client\":\"" + client + "\",\"method\":\"GET\",\"path\":\"" +
                  path + "\",\"status\":" + std::to_string(status) + ",\"bytes\":1000,\"duration_ms\":0.3,\"user_agent\":\"" +
                  ua + "\"";
  if (!session.empty()) s += ",\"session\":\"" + session + "\",\"session_source\":\"path\"";
  return s + "}";
}

TEST(StatsLogLine, ReadsTheOriginsLine) {
  LogLine l;
  ASSERT_TRUE(parse_log_line(
      R"({"time":"2026-12-03T10:00:00.123Z","client":"127.0.0.1:53422","method":"GET","path":"/demo/s/abcdefghijklmnopqrstuv/v0/seg-1.m4s","status":200,"bytes":12345,"duration_ms":1.25,"user_agent":"hls.js \"x\" \u00e9","session":"abcdefghijklmnopqrstuv","session_source":"path"})",
      l));
  EXPECT_EQ(l.time_ms, kT0 + 123);
  EXPECT_EQ(l.client, "127.0.0.1");
  EXPECT_EQ(l.status, 200);
  EXPECT_EQ(l.bytes, 12345u);
  EXPECT_EQ(l.user_agent, "hls.js \"x\" \xc3\xa9");
  EXPECT_EQ(l.session, "abcdefghijklmnopqrstuv");
}

TEST(StatsLogLine, ReadsAnNginxLine) {
  LogLine l;
  ASSERT_TRUE(parse_log_line(
      R"({"msec":"1796292000.250","client":"[::1]:443","path":"/demo/master.m3u8","query":"CMCD=sid%3D%22abc-123%22","status":"304","bytes":"0","user_agent":"VLC"})",
      l));
  EXPECT_EQ(l.time_ms, kT0 + 250);
  EXPECT_EQ(l.client, "::1");
  EXPECT_EQ(l.status, 304);
  EXPECT_EQ(cmcd_sid_from_query(l.query), "abc-123");
  EXPECT_EQ(cmcd_sid_from_query("CMCD=br%3D3200%2Csid%3D%22s1%22%2Csu"), "s1");
  EXPECT_EQ(cmcd_sid_from_query("CMCD=br%3D3200"), "");
}

// contrib/nginx's sigma_json log_format: msec a number, empty strings for
// what nginx has not, a cache field.
TEST(StatsLogLine, ReadsTheContribNginxFormat) {
  LogLine l;
  ASSERT_TRUE(parse_log_line(
      R"({"msec":1796292000.125,"client":"192.0.2.1","method":"GET","path":"/demo/s/abcdefghijklmnopqrstuv/v0/seg-3.m4s","query":"","status":200,"bytes":52011,"duration_ms":0.000,"user_agent":"hls.js","referer":"","session":"","session_source":"","cache":"HIT"})",
      l));
  EXPECT_EQ(l.time_ms, kT0 + 125);
  EXPECT_EQ(l.client, "192.0.2.1");
  EXPECT_EQ(l.session, "");
  Engine e(opts_for_nginx());
  ASSERT_EQ(e.add(R"({"msec":1796292000.125,"client":"192.0.2.1","method":"GET","path":"/demo/s/abcdefghijklmnopqrstuv/v0/seg-3.m4s","query":"","status":200,"bytes":52011,"duration_ms":0.000,"user_agent":"hls.js","referer":"","session":"","session_source":"","cache":"HIT"})", kWall), Outcome::kOk);
  e.take();
  int64_t fb = 0;
  EXPECT_EQ(e.viewers(kT0 + 1000, &fb)["demo"], 1);
  EXPECT_EQ(fb, 0);  // the path's session, not the address
}

TEST(StatsLogLine, RefusesGarbage) {
  LogLine l;
  for (const char* g : {"", "garbage", "{}", "[1,2]",
                        R"({"time":"2026-12-03T10:00:00.123Z","path":"/demo/master.m3u8","status":200)",  // truncated
                        R"({"time":"2026-12-03T10:00:00.123Z","path":"/demo/master.m3u8"})",              // no status
                        R"({"path":"/demo/master.m3u8","status":200})",                                 // no time
                        R"({"time":"yesterday","path":"/demo/master.m3u8","status":200})",
                        R"({"time":"2026-12-03T10:00:00.123Z","path":"/demo/x","status":200,"a":{"b":1}})",
                        R"({"time":"2026-12-03T10:00:00.123Z","path":"demo","status":200})",
                        R"({"time":"2026-12-03T10:00:00.123Z","path":"/demo/x","status":20000})",
                        R"({"time":"2026-12-03T10:00:00.123Z","path":"/demo/x","status":200} trailing)"})
    EXPECT_FALSE(parse_log_line(g, l)) << g;
}

TEST(StatsPath, Kinds) {
  PathInfo p;
  classify_path("/demo/master.m3u8", p);
  EXPECT_EQ(p.channel, "demo");
  EXPECT_EQ(p.kind, Kind::kMaster);
  classify_path("/demo/s/abcdefghijklmnopqrstuv/v1/index.m3u8", p);
  EXPECT_EQ(p.sid, "abcdefghijklmnopqrstuv");
  EXPECT_EQ(p.track, "v1");
  EXPECT_EQ(p.kind, Kind::kPlaylist);
  classify_path("/demo/s/abcdefghijklmnopqrstuv/v1/seg-12.m4s", p);
  EXPECT_EQ(p.kind, Kind::kSegment);
  classify_path("/demo/v1/seg-12.3.m4s", p);
  EXPECT_EQ(p.kind, Kind::kPart);
  EXPECT_EQ(p.track, "v1");
  EXPECT_EQ(p.sid, "");
  classify_path("/demo/a0/init.mp4", p);
  EXPECT_EQ(p.kind, Kind::kInit);
  classify_path("/demo/thumbs/sprite-3.jpg", p);
  EXPECT_EQ(p.kind, Kind::kThumbnail);
  classify_path("/demo/timeshift_rel-60/master.m3u8", p);
  EXPECT_EQ(p.kind, Kind::kMaster);
  classify_path("/demo/timeshift_rel-60/v0/index.m3u8", p);
  EXPECT_EQ(p.kind, Kind::kPlaylist);
  EXPECT_EQ(p.track, "v0");
  classify_path("/", p);
  EXPECT_EQ(p.channel, "");
  classify_path("/_channels", p);
  EXPECT_EQ(p.channel, "");
}

int64_t total(const Engine& e, Metric m, const std::string& label = "*") {
  int64_t n = 0;
  for (const auto& [k, v] : e.totals())
    if (k.metric == m && (label == "*" || k.label == label)) n += v;
  return n;
}

EngineOptions opts() {
  EngineOptions o;
  o.timeout_ms = 30000;
  o.default_timeout_ms = 30000;
  return o;
}

TEST(StatsEngine, TwoPlayersBehindOneAddressAreTwoViewers) {
  Engine e(opts());
  for (const char* sid : {"AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB"}) {
    std::string s = sid;
    ASSERT_EQ(e.add(L(kT0, "/demo/master.m3u8", s), kWall), Outcome::kOk);
    for (int i = 0; i < 10; ++i) {
      e.add(L(kT0 + 100 + i * 2000, "/demo/s/" + s + "/v0/index.m3u8"), kWall);
      e.add(L(kT0 + 120 + i * 2000, "/demo/s/" + s + "/v0/seg-" + std::to_string(i) + ".m4s"), kWall);
    }
  }
  e.take();
  EXPECT_EQ(total(e, Metric::kViews), 2);
  EXPECT_EQ(total(e, Metric::kSessions), 2);
  EXPECT_EQ(total(e, Metric::kFallbackSessions), 0);
  EXPECT_EQ(total(e, Metric::kWatchMs, "v0"), 2 * 18000);
  EXPECT_EQ(e.viewers(kT0 + 20000)["demo"], 2);
  EXPECT_EQ(e.viewers(kT0 + 18120 + 30001)["demo"], 0);
}

TEST(StatsEngine, GapsOverTheTimeoutCutWatchTimeAndSessions) {
  Engine e(opts());
  e.add(L(kT0, "/demo/v0/seg-1.m4s"), kWall);          // fallback: address + UA
  e.add(L(kT0 + 10000, "/demo/v1/seg-2.m4s"), kWall);  // 10 s, on v1
  e.add(L(kT0 + 50000, "/demo/v1/seg-3.m4s"), kWall);  // 40 s gap: a new session
  e.add(L(kT0 + 52000, "/demo/v1/seg-4.m4s"), kWall);
  e.add(L(kT0 + 52000, "/demo/master.m3u8"), kWall);   // mints: part of no session
  e.add(L(kT0 + 53000, "/demo/v1/seg-5.m4s", "", 404), kWall);
  e.take();
  EXPECT_EQ(total(e, Metric::kSessions), 2);
  EXPECT_EQ(total(e, Metric::kFallbackSessions), 2);
  EXPECT_EQ(total(e, Metric::kViews), 2);
  EXPECT_EQ(total(e, Metric::kWatchMs, "v1"), 12000);
  EXPECT_EQ(total(e, Metric::kRequests, "200"), 5);
  EXPECT_EQ(total(e, Metric::kRequests, "404"), 1);
  // 404s for a made-up channel make no channel.
  e.add(L(kT0 + 54000, "/made-up/x.m3u8", "", 404), kWall);
  e.take();
  EXPECT_EQ(e.channels(), std::vector<std::string>{"demo"});
}

TEST(StatsEngine, FutureAndPastLinesAreSkipped) {
  Engine e(opts());
  EXPECT_EQ(e.add(L(kT0 + 100000, "/demo/v0/seg-1.m4s"), kWall), Outcome::kOk);
  EXPECT_EQ(e.add(L(kWall + 120000, "/demo/v0/seg-1.m4s"), kWall), Outcome::kFuture);
  EXPECT_EQ(e.add(L(kT0, "/demo/v0/seg-1.m4s"), kWall), Outcome::kPast);
  EXPECT_EQ(e.add(L(kT0 + 50000, "/demo/v0/seg-1.m4s"), kWall), Outcome::kOk);  // late, within 60 s
  EXPECT_EQ(e.add(L(946684000000, "/demo/v0/seg-1.m4s"), kWall), Outcome::kPast);
  EXPECT_EQ(e.add("{\"time\":", kWall), Outcome::kGarbage);
}

// The same lines, in one batch or cut into many with a restart from the
// state after each, give the same figures.
TEST(StatsStore, RestartFromTheStateEqualsOneRun) {
  std::vector<std::string> lines;
  for (int p = 0; p < 20; ++p) {
    std::string sid = "S" + std::string(20, 'a' + p % 26) + std::to_string(p % 10);
    int64_t start = kT0 + p * 7000;
    lines.push_back(L(start, "/demo/master.m3u8", sid));
    for (int i = 0; i < 30 + p; ++i) {
      lines.push_back(L(start + i * 2000 + 50, "/demo/s/" + sid + "/v" + std::to_string(p % 2) + "/index.m3u8"));
      lines.push_back(L(start + i * 2000 + 70, "/demo/s/" + sid + "/v" + std::to_string(p % 2) + "/seg-" + std::to_string(i) + ".m4s"));
    }
  }
  std::sort(lines.begin(), lines.end());  // by time: the time is the line's first field
  auto run = [&](const std::string& path, size_t cut) -> std::string {
    ::unlink(path.c_str());
    ::unlink((path + "-wal").c_str());
    ::unlink((path + "-shm").c_str());
    size_t at = 0;
    while (at < lines.size()) {
      auto store = Store::open(path);
      EXPECT_TRUE(store.is_ok());
      Engine e(opts());
      Position pos;
      LineCounts c;
      EXPECT_TRUE((*store)->restore(e, pos, c).is_ok());
      size_t end = std::min(lines.size(), at + cut);
      for (; at < end; ++at) e.add(lines[at], kWall);
      e.sweep();
      auto b = e.take();
      pos.offset = at;
      EXPECT_TRUE((*store)->commit(e, b, pos, c).is_ok());
    }
    auto store = Store::open(path, true);
    auto r = make_report(**store, "", -1, -1, 10000);
    EXPECT_TRUE(r.is_ok());
    return report_json(*r);
  };
  std::string dir = ::testing::TempDir();
  std::string one = run(dir + "/stats_one.sqlite", lines.size());
  std::string many = run(dir + "/stats_many.sqlite", 97);
  EXPECT_EQ(one, many);
  EXPECT_NE(one.find("\"views\": 20"), std::string::npos) << one;
}

}  // namespace
}  // namespace sigma::stats
