#include <gtest/gtest.h>

#include "base/time.h"
#include "supervisor/alerts.h"
#include "supervisor/config.h"
#include "supervisor/plan.h"
#include "supervisor/status_view.h"

using namespace sigma;
using namespace sigma::supervisor;

namespace {

struct Sink {
  std::vector<nlohmann::json> events;
  AlertSink fn() {
    return [this](const std::string& type, const std::string& channel, nlohmann::json f) {
      f["type"] = type;
      f["channel"] = channel;
      events.push_back(f);
    };
  }
  int count(const std::string& type, const std::string& state) const {
    int n = 0;
    for (auto& e : events) n += e["type"] == type && e["state"] == state;
    return n;
  }
};

Now at(int64_t ms) { return {ms, 1'800'000'000'000 + ms}; }

ChannelFacts publish(const std::string& name) {
  ChannelFacts c;
  c.name = name;
  c.watch_input = true;
  c.input_stage_up = true;
  c.target_duration_s = 2;
  return c;
}

}  // namespace

TEST(AlertEngine, FiresOnceAndResolvesOnceAfterTheHold) {
  Sink sink;
  AlertEngine e(sink.fn());
  e.set_hold(5000);
  AlertEngine::Condition c{"disk_low", "/srv", "", "warning", "low", 0};
  for (int t = 0; t < 20'000; t += 500) e.observe(c, true, at(t));
  EXPECT_EQ(sink.count("alert.disk_low", "firing"), 1);
  ASSERT_EQ(e.open().size(), 1u);
  EXPECT_EQ(e.open()[0].key, "/srv");
  // Flaps within the hold: no new events.
  for (int t = 20'000; t < 40'000; t += 500) e.observe(c, (t / 1000) % 3 != 0, at(t));
  EXPECT_EQ(sink.count("alert.disk_low", "firing"), 1);
  EXPECT_EQ(sink.count("alert.disk_low", "resolved"), 0);
  for (int t = 40'000; t < 44'000; t += 500) e.observe(c, false, at(t));
  EXPECT_EQ(sink.count("alert.disk_low", "resolved"), 0);
  for (int t = 44'000; t < 60'000; t += 500) e.observe(c, false, at(t));
  EXPECT_EQ(sink.count("alert.disk_low", "resolved"), 1);
  EXPECT_TRUE(e.open().empty());
  auto& r = sink.events.back();
  EXPECT_EQ(r["since"], iso8601_utc(at(0).unix_ms));
  EXPECT_EQ(r["severity"], "warning");
  EXPECT_EQ(r["key"], "/srv");
}

TEST(AlertEngine, FireAfterNeedsTheConditionToHold) {
  Sink sink;
  AlertEngine e(sink.fn());
  AlertEngine::Condition c{"x", "k", "", "warning", "s", 3000};
  e.observe(c, true, at(0));
  e.observe(c, true, at(2000));
  e.observe(c, false, at(2500));
  e.observe(c, true, at(3000));
  e.observe(c, true, at(5000));
  EXPECT_TRUE(sink.events.empty());
  e.observe(c, true, at(6000));
  EXPECT_EQ(sink.count("alert.x", "firing"), 1);
}

TEST(AlertEngine, ExternalAlertsOpenUntilResolved) {
  Sink sink;
  AlertEngine e(sink.fn());
  nlohmann::json ev = {{"type", "alert.webhook_failed"}, {"alert", "webhook_failed"}, {"state", "firing"},
                       {"severity", "critical"}, {"key", "ops"}, {"summary", "ops: 503 for a day"}};
  e.external(ev, at(0));
  ASSERT_EQ(e.open().size(), 1u);
  EXPECT_TRUE(e.open()[0].external);
  EXPECT_EQ(e.open()[0].summary, "ops: 503 for a day");
  ev["state"] = "resolved";
  e.external(ev, at(1000));
  EXPECT_TRUE(e.open().empty());
  EXPECT_TRUE(sink.events.empty());  // already in the events file: not written again
}

TEST(AlertWatch, InputLostOnceAndResolvedOnceWhenItReturns) {
  Sink sink;
  AlertWatch w(sink.fn(), [](const std::string&) -> Result<DiskUsage> { return DiskUsage{100, 100, 1}; });
  AlertSettings s;
  s.input_lost_after_ms = 10'000;
  s.hold_ms = 2000;
  w.configure(s);
  std::vector<ChannelFacts> ch = {publish("news")};
  // Never published: not expected, no alert however long.
  for (int t = 0; t < 30'000; t += 1000) w.evaluate({}, ch, {}, at(t));
  EXPECT_TRUE(sink.events.empty());
  w.on_event("stream.started", "news", {}, at(30'000), true);
  for (int t = 30'000; t < 60'000; t += 1000) {
    if (t % 2000 == 0) w.on_event("segment.written", "news", {}, at(t), true);
    w.evaluate({}, ch, {}, at(t));
  }
  EXPECT_TRUE(sink.events.empty());
  w.on_event("stream.ended", "news", {}, at(60'000), true);
  for (int t = 60'000; t < 69'000; t += 1000) w.evaluate({}, ch, {}, at(t));
  EXPECT_TRUE(sink.events.empty());  // not yet input_lost_after
  for (int t = 69'000; t < 120'000; t += 1000) w.evaluate({}, ch, {}, at(t));
  EXPECT_EQ(sink.count("alert.input_lost", "firing"), 1);
  EXPECT_EQ(sink.events[0]["severity"], "critical");
  EXPECT_EQ(sink.events[0]["channel"], "news");
  ASSERT_EQ(w.open().size(), 1u);
  w.on_event("stream.started", "news", {}, at(120'000), true);
  for (int t = 120'000; t < 140'000; t += 1000) {
    if (t % 2000 == 0) w.on_event("segment.written", "news", {}, at(t), true);
    w.evaluate({}, ch, {}, at(t));
  }
  EXPECT_EQ(sink.count("alert.input_lost", "firing"), 1);
  EXPECT_EQ(sink.count("alert.input_lost", "resolved"), 1);
  EXPECT_EQ(sink.count("alert.output_stale", "firing"), 0);
  EXPECT_TRUE(w.open().empty());
}

TEST(AlertWatch, IngestDeathIsInputLossAndPullIsExpectedFromTheStart) {
  Sink sink;
  AlertWatch w(sink.fn(), [](const std::string&) -> Result<DiskUsage> { return DiskUsage{100, 100, 1}; });
  AlertSettings s;
  s.input_lost_after_ms = 5000;
  w.configure(s);
  auto news = publish("news");
  auto relay = publish("relay");
  relay.input_expected = true;
  w.on_event("stream.started", "news", {}, at(0), true);
  news.input_stage_up = false;  // killed without a stream.ended
  for (int t = 0; t < 10'000; t += 1000) w.evaluate({}, {news, relay}, {}, at(t));
  EXPECT_EQ(sink.count("alert.input_lost", "firing"), 2);
}

TEST(AlertWatch, OutputStaleWhileInputPresent) {
  Sink sink;
  AlertWatch w(sink.fn(), [](const std::string&) -> Result<DiskUsage> { return DiskUsage{100, 100, 1}; });
  w.configure({});
  auto news = publish("news");
  w.on_event("stream.started", "news", {}, at(0), true);
  for (int t = 0; t < 9000; t += 1000) w.evaluate({}, {news}, {}, at(t));
  EXPECT_TRUE(sink.events.empty());  // 3 x 2 s, but at least 10 s
  for (int t = 9000; t < 20'000; t += 1000) w.evaluate({}, {news}, {}, at(t));
  EXPECT_EQ(sink.count("alert.output_stale", "firing"), 1);
}

TEST(AlertWatch, StageFailedAndRestartsTooFrequent) {
  Sink sink;
  AlertWatch w(sink.fn(), [](const std::string&) -> Result<DiskUsage> { return DiskUsage{100, 100, 1}; });
  AlertSettings s;
  s.restarts_max = 3;
  s.restarts_window_ms = 60'000;
  s.hold_ms = 1000;
  w.configure(s);
  StageFacts st{"news/package", "news", false, true, ""};
  for (int i = 0; i < 4; ++i) w.on_event("stage.restarted", "news", {{"stage", "package"}}, at(i * 1000), false);
  w.evaluate({st}, {}, {}, at(4000));
  EXPECT_EQ(sink.count("alert.restarts_too_frequent", "firing"), 1);
  st.failed = true;
  st.up = false;
  st.failure = "5 deaths within 60 s";
  for (int t = 5000; t < 30'000; t += 1000) w.evaluate({st}, {}, {}, at(t));
  EXPECT_EQ(sink.count("alert.stage_failed", "firing"), 1);
  EXPECT_NE(sink.events.back()["summary"].get<std::string>().find("5 deaths"), std::string::npos);
  // Removed from the config: resolved at once.
  w.evaluate({}, {}, {}, at(31'000));
  EXPECT_EQ(sink.count("alert.stage_failed", "resolved"), 1);
  EXPECT_EQ(sink.count("alert.restarts_too_frequent", "resolved"), 1);
}

TEST(AlertWatch, DiskLowByPercentOrBytesOncePerFilesystem) {
  Sink sink;
  int64_t free_bytes = 4 << 20;
  AlertWatch w(sink.fn(), [&](const std::string&) -> Result<DiskUsage> {
    return DiskUsage{free_bytes, 8 << 20, 7};
  });
  AlertSettings s;
  ASSERT_TRUE(alert_key(s, "disk_low", "25%").is_ok());
  ASSERT_TRUE(alert_key(s, "disk_check_every", "1s").is_ok());
  ASSERT_TRUE(alert_key(s, "alert_hold", "2s").is_ok());
  w.configure(s);
  std::vector<std::string> paths = {"/out", "/out/news"};  // one filesystem
  for (int t = 0; t < 5000; t += 500) w.evaluate({}, {}, paths, at(t));
  EXPECT_TRUE(sink.events.empty());
  free_bytes = 1 << 20;
  for (int t = 5000; t < 15'000; t += 500) w.evaluate({}, {}, paths, at(t));
  EXPECT_EQ(sink.count("alert.disk_low", "firing"), 1);
  EXPECT_EQ(sink.events[0]["key"], "/out");
  free_bytes = 6 << 20;
  for (int t = 15'000; t < 25'000; t += 500) w.evaluate({}, {}, paths, at(t));
  EXPECT_EQ(sink.count("alert.disk_low", "resolved"), 1);
  ASSERT_TRUE(alert_key(s, "disk_low", "2M").is_ok());
  EXPECT_EQ(s.disk_low_bytes, 2 << 20);
  EXPECT_FALSE(alert_key(s, "disk_low", "5 %").is_ok());
  EXPECT_FALSE(alert_key(s, "restarts_too_frequent", "often").is_ok());
  EXPECT_FALSE(*alert_key(s, "not_an_alert_key", "x"));
}

TEST(AlertWatch, StatusTableListsOpenAlerts) {
  auto st = nlohmann::json::parse(R"json({
    "healthy": false, "shared": [], "channels": [],
    "reasons": ["alert disk_low (warning): /srv: 1 MiB free of 8 MiB (12.5%), under 25%"],
    "alerts": [{"alert": "disk_low", "key": "/srv", "severity": "warning", "channel": null,
                "since": "2026-12-03T10:00:00.000Z", "summary": "/srv: 1 MiB free of 8 MiB (12.5%), under 25%"}]})json");
  EXPECT_EQ(render_status_table(st),
            "CHANNEL  STAGE  STATE  PID  RESTARTS  UPTIME  LAST EXIT  INPUT  LAST SEGMENT\n"
            "open alerts:\n"
            "  warning disk_low /srv since 2026-12-03T10:00:00.000Z: /srv: 1 MiB free of 8 MiB (12.5%), under 25%\n"
            "unhealthy:\n"
            "  alert disk_low (warning): /srv: 1 MiB free of 8 MiB (12.5%), under 25%\n");
}

TEST(AlertWatch, HooksKeyPlansTheHookStageAndNeedsAnEventsFile) {
  auto cfg = parse_config("[global]\nevents = /var/log/sigma/ev.ndjson\nhooks = /etc/sigma/hooks.conf\n"
                          "disk_low = 1G\nrestarts_too_frequent = 3 in 10m\n\n"
                          "[channel a]\ninput = publish\nevents = /var/log/sigma/a.ndjson\n",
                          "s.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_EQ(cfg->global.hooks_state, "/var/log/sigma/hooks.sqlite");
  EXPECT_EQ(cfg->global.alerts.disk_low_bytes, 1LL << 30);
  EXPECT_EQ(cfg->global.alerts.restarts_max, 3);
  Plan plan = make_plan(*cfg, "");
  const StageSpec* hook = nullptr;
  for (auto& s : plan.shared)
    if (s.id == "hook") hook = &s;
  ASSERT_NE(hook, nullptr);
  EXPECT_EQ(hook->argv, (std::vector<std::string>{"sigma-hook", "run", "--config", "/etc/sigma/hooks.conf", "--state",
                                                  "/var/log/sigma/hooks.sqlite", "--events-in",
                                                  "/var/log/sigma/ev.ndjson", "--events-in",
                                                  "/var/log/sigma/a.ndjson"}));
  EXPECT_TRUE(hook->hup_on_reload);
  auto bad = parse_config("[global]\n\nhooks = /etc/sigma/hooks.conf\n", "s.conf");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ExitCode::kUsage);
  EXPECT_EQ(bad.status().message().rfind("s.conf:3: hooks = /etc/sigma/hooks.conf needs [global] events", 0), 0u)
      << bad.status().message();
  auto typo = parse_config("[global]\ndisk_low = lots\n", "s.conf");
  ASSERT_FALSE(typo.is_ok());
  EXPECT_EQ(typo.status().message().rfind("s.conf:2: disk_low:", 0), 0u) << typo.status().message();
}
