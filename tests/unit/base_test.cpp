#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "base/events.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/status.h"
#include "base/time.h"

using namespace sigma;

TEST(Status, WrapKeepsCodeAndAddsContext) {
  Status s = system_error("Connection refused").wrap("open input rtmp://x");
  EXPECT_EQ(s.code(), ExitCode::kSystem);
  EXPECT_EQ(s.message(), "open input rtmp://x: Connection refused");
  EXPECT_TRUE(Status().wrap("ctx").is_ok());
}

static Result<int> half(int x) {
  if (x % 2) return data_error("odd");
  return x / 2;
}
static Status quarter(int x, int& out) {
  SIGMA_ASSIGN_OR_RETURN(int h, half(x));
  SIGMA_ASSIGN_OR_RETURN(out, half(h));
  return {};
}

TEST(Status, AssignOrReturn) {
  int out = 0;
  EXPECT_TRUE(quarter(8, out).is_ok());
  EXPECT_EQ(out, 2);
  Status s = quarter(6, out);
  EXPECT_EQ(s.code(), ExitCode::kData);
}

TEST(Log, RedactUrlHidesSecrets) {
  EXPECT_EQ(redact_url("rtmp://127.0.0.1/live/secretkey"), "rtmp://127.0.0.1/live/***");
  EXPECT_EQ(redact_url("srt://127.0.0.1:9000?streamid=k&passphrase=abcdefghij"),
            "srt://127.0.0.1:9000?streamid=***&passphrase=***");
  EXPECT_EQ(redact_url("http://user:pw@host/a.m3u8"), "http://***@host/a.m3u8");
  EXPECT_EQ(redact_url("/tmp/in.ts"), "/tmp/in.ts");
}

TEST(Time, Iso8601) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc(1795521600123), "2026-11-24T12:00:00.123Z");
}

TEST(Fs, AtomicWriteReplaces) {
  auto dir = std::filesystem::temp_directory_path() / ("sigma_fs_" + std::to_string(getpid()));
  ASSERT_TRUE(make_dirs(dir.string()).is_ok());
  auto p = (dir / "a.m3u8").string();
  ASSERT_TRUE(write_file_atomic(p, "one").is_ok());
  ASSERT_TRUE(write_file_atomic(p, "two", true).is_ok());
  EXPECT_EQ(*read_file(p), "two");
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
  EXPECT_EQ(write_file_atomic("/nonexistent-dir/x", "y").code(), ExitCode::kSystem);
  std::filesystem::remove_all(dir);
}

TEST(Fs, AtomicFileAppearsWholeOnCommitAndLeavesNothingOnDiscard) {
  auto dir = std::filesystem::temp_directory_path() / ("sigma_af_" + std::to_string(getpid()));
  ASSERT_TRUE(make_dirs(dir.string()).is_ok());
  auto p = (dir / "seg-1.m4s").string();
  {
    AtomicFile f;
    ASSERT_TRUE(f.open(p).is_ok());
    ASSERT_TRUE(f.write("ab", 2).is_ok());
    ASSERT_TRUE(f.write("cd", 2).is_ok());
    EXPECT_FALSE(std::filesystem::exists(p));  // a reader sees nothing yet
    EXPECT_EQ(f.size(), 4u);
    ASSERT_TRUE(f.commit().is_ok());
  }
  EXPECT_EQ(*read_file(p), "abcd");
  auto q = (dir / "seg-2.m4s").string();
  {
    AtomicFile f;
    ASSERT_TRUE(f.open(q).is_ok());
    ASSERT_TRUE(f.write("x", 1).is_ok());
  }  // destroyed uncommitted
  EXPECT_FALSE(std::filesystem::exists(q));
  EXPECT_FALSE(std::filesystem::exists(q + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST(Events, OneJsonLinePerEvent) {
  auto p = std::filesystem::temp_directory_path() / ("sigma_ev_" + std::to_string(getpid()));
  {
    EventWriter w;
    ASSERT_TRUE(w.open(p.string()).is_ok());
    w.emit("stream.started", "demo", {{"width", 1280}});
    w.emit("stream.ended", "", {});
  }
  std::ifstream in(p);
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  auto j1 = nlohmann::json::parse(l1);
  EXPECT_EQ(j1["type"], "stream.started");
  EXPECT_EQ(j1["channel"], "demo");
  EXPECT_EQ(j1["width"], 1280);
  EXPECT_EQ(j1["time"].get<std::string>().size(), 24u);
  EXPECT_FALSE(nlohmann::json::parse(l2).contains("channel"));
  std::filesystem::remove(p);
}

TEST(Events, IdAndToolSetOnceKeptWhenHandedOn) {
  auto p = std::filesystem::temp_directory_path() / ("sigma_ev2_" + std::to_string(getpid()));
  set_event_tool("sigma-test");
  {
    EventWriter w;
    ASSERT_TRUE(w.open(p.string()).is_ok());
    w.emit("stream.started", "demo");
    // Handed on, as the supervisor copies a stage's event: its own id,
    // time and tool stay.
    w.emit("segment.written", "demo",
           {{"id", "0190a000-0000-7000-8000-000000000000"}, {"tool", "sigma-package"}, {"time", "x"}});
  }
  std::ifstream in(p);
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  auto j1 = nlohmann::json::parse(l1), j2 = nlohmann::json::parse(l2);
  EXPECT_EQ(j1["tool"], "sigma-test");
  EXPECT_EQ(j1["id"].get<std::string>().size(), 36u);
  EXPECT_EQ(j1["id"].get<std::string>()[14], '7');  // version 7
  EXPECT_EQ(j2["tool"], "sigma-package");
  EXPECT_EQ(j2["id"], "0190a000-0000-7000-8000-000000000000");
  EXPECT_EQ(j2["time"], "x");
  set_event_tool("");
  std::filesystem::remove(p);
}

TEST(Events, IdsAreUniqueAndSortedByTime) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(new_event_id());
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << i;
  // The first 48 bits are the Unix ms of now.
  uint64_t ms = std::stoull(ids.back().substr(0, 8) + ids.back().substr(9, 4), nullptr, 16);
  EXPECT_LE(std::llabs(static_cast<long long>(ms) - unix_ms_now()), 5000);
}
