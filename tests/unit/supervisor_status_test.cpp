#include <gtest/gtest.h>

#include "supervisor/status_view.h"

using namespace sigma::supervisor;

TEST(SupervisorStatusView, Ages) {
  EXPECT_EQ(format_age(-1), "-");
  EXPECT_EQ(format_age(2.345), "2.3s");
  EXPECT_EQ(format_age(42), "42s");
  EXPECT_EQ(format_age(75), "1m15s");
  EXPECT_EQ(format_age(4000), "1h06m");
  EXPECT_EQ(format_age(90000), "1d01h");
}

TEST(SupervisorStatusView, TableGolden) {
  auto st = nlohmann::json::parse(R"json({
    "healthy": false,
    "reasons": ["channel news: news/package backoff (last: SIGKILL)"],
    "shared": [{"stage": "origin", "state": "up", "pid": 10, "restarts": 0, "uptime_s": 120.5, "last_exit": null}],
    "channels": [{"name": "news", "state": "down", "input_kbps": 2500.4, "last_segment_age_s": 1.25,
                  "stages": [{"stage": "package", "state": "backoff", "pid": null, "restarts": 3,
                              "uptime_s": null, "last_exit": "SIGKILL"}]}]})json");
  EXPECT_EQ(render_status_table(st),
            "CHANNEL  STAGE    STATE    PID  RESTARTS  UPTIME  LAST EXIT  INPUT  LAST SEGMENT\n"
            "*        origin   up       10   0         2m00s   -\n"
            "news     package  backoff  -    3         -       SIGKILL    2500k  1.2s\n"
            "unhealthy:\n"
            "  channel news: news/package backoff (last: SIGKILL)\n");
}

TEST(SupervisorStatusView, DvrStageThatFellBehind) {
  auto st = nlohmann::json::parse(R"json({
    "healthy": true, "reasons": [], "shared": [],
    "channels": [{"name": "tv", "state": "up", "input_kbps": null, "last_segment_age_s": 0.5,
                  "stages": [{"stage": "dvr", "state": "up", "pid": 7, "restarts": 0, "uptime_s": 3, "last_exit": null,
                              "events_in": {"forwarded": 10, "dropped": 4, "while_down": 0}}]}]})json");
  EXPECT_EQ(render_status_table(st),
            "CHANNEL  STAGE  STATE  PID  RESTARTS  UPTIME  LAST EXIT  INPUT  LAST SEGMENT\n"
            "tv       dvr    up     7    0         3.0s    -          -      0.5s\n"
            "tv dvr: 4 segment.written events dropped (not keeping up); indexed at its next start\n"
            "healthy\n");
}
