// stats = yes: the config keys, the shared sigma-stats stage of the plan,
// the VIEWERS column and the supervisor's /metrics text.
#include <gtest/gtest.h>

#include <algorithm>

#include "supervisor/config.h"
#include "supervisor/metrics_text.h"
#include "supervisor/plan.h"
#include "supervisor/status_view.h"

using namespace sigma;
using namespace sigma::supervisor;

namespace {

const std::string kBase = "[global]\nrun_dir = /run/s\nout_root = /srv/out\naccess_log = /var/log/sigma/access.log\n";

const StageSpec* find_stage(const Plan& p, const std::string& id) {
  for (auto& s : p.shared)
    if (s.id == id) return &s;
  return nullptr;
}

}  // namespace

TEST(SupervisorStats, OffByDefault) {
  auto cfg = parse_config(kBase + "[channel tv]\n", "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_FALSE(cfg->global.stats);
  EXPECT_EQ(find_stage(make_plan(*cfg, ""), "stats"), nullptr);
}

TEST(SupervisorStats, StageFollowsTheAccessLog) {
  auto cfg = parse_config(kBase + "stats = yes\nstats.session_timeout = 20s\n[channel tv]\n", "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_EQ(cfg->global.stats_state, "/var/log/sigma/stats.sqlite");
  Plan plan = make_plan(*cfg, "");
  const StageSpec* s = find_stage(plan, "stats");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->argv, (std::vector<std::string>{"sigma-stats", "run", "--log", "/var/log/sigma/access.log", "--state",
                                                "/var/log/sigma/stats.sqlite", "--root", "/srv/out", "--status-file",
                                                "/run/s/stats-status.json", "--metrics", "127.0.0.1:9981",
                                                "--session-timeout", "20s"}));
  EXPECT_TRUE(s->notify_ready);
  EXPECT_TRUE(s->events_pipe);
  auto argv = child_argv(*s);
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--ready-fd"), argv.end());
}

TEST(SupervisorStats, KeysAndOverrides) {
  auto cfg = parse_config(kBase + "stats = yes\nstats.metrics = off\nstats.state = /db/s.sqlite\n"
                                  "stats.args = --foo\n[channel tv]\n",
                          "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  Plan plan = make_plan(*cfg, "");
  const StageSpec* s = find_stage(plan, "stats");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(std::find(s->argv.begin(), s->argv.end(), "--metrics"), s->argv.end());
  EXPECT_NE(std::find(s->argv.begin(), s->argv.end(), "/db/s.sqlite"), s->argv.end());
  EXPECT_EQ(s->argv.back(), "--foo");
}

TEST(SupervisorStats, Errors) {
  auto no_log = parse_config("[global]\nstats = yes\n", "t.conf");
  ASSERT_FALSE(no_log.is_ok());
  EXPECT_EQ(no_log.status().code(), ExitCode::kUsage);
  EXPECT_NE(no_log.status().message().find("t.conf:2:"), std::string::npos) << no_log.status().message();
  EXPECT_NE(no_log.status().message().find("access_log"), std::string::npos);
  EXPECT_FALSE(parse_config("[global]\naccess_log = -\nstats = yes\n", "t.conf").is_ok());
  EXPECT_FALSE(parse_config(kBase + "origin = off\nstats = yes\n", "t.conf").is_ok());
  EXPECT_FALSE(parse_config(kBase + "stats = maybe\n", "t.conf").is_ok());
  EXPECT_FALSE(parse_config(kBase + "stats.metrics = nowhere\n", "t.conf").is_ok());
  EXPECT_FALSE(parse_config(kBase + "stats.session_timeout = 0\n", "t.conf").is_ok());
  EXPECT_FALSE(parse_config(kBase + "stats.colour = red\n", "t.conf").is_ok());
  EXPECT_FALSE(parse_config(kBase + "stats = yes\nstats.metrics = 127.0.0.1:9980\n", "t.conf").is_ok());
}

TEST(SupervisorStats, DryRunShowsTheStage) {
  auto cfg = parse_config(kBase + "stats = yes\n[channel tv]\n", "t.conf");
  ASSERT_TRUE(cfg.is_ok());
  std::string sh = render_shell(make_plan(*cfg, ""));
  EXPECT_NE(sh.find("sigma-stats run --log /var/log/sigma/access.log --state /var/log/sigma/stats.sqlite"),
            std::string::npos)
      << sh;
}

TEST(SupervisorStats, ViewersColumn) {
  auto st = nlohmann::json::parse(R"json({
    "healthy": true, "reasons": [], "stats": {"current": true, "identity_fallback_sessions": 2, "status_file": "/r/s.json"},
    "shared": [{"stage": "stats", "state": "up", "pid": 9, "restarts": 0, "uptime_s": 5, "last_exit": null}],
    "channels": [{"name": "tv", "state": "up", "input_kbps": null, "last_segment_age_s": 0.5, "viewers": 12,
                  "stages": [{"stage": "package", "state": "up", "pid": 7, "restarts": 0, "uptime_s": 3, "last_exit": null}]}]})json");
  EXPECT_EQ(render_status_table(st),
            "CHANNEL  STAGE    STATE  PID  RESTARTS  UPTIME  LAST EXIT  INPUT  LAST SEGMENT  VIEWERS\n"
            "*        stats    up     9    0         5.0s    -\n"
            "tv       package  up     7    0         3.0s    -          -      0.5s          12\n"
            "viewers: 2 sessions counted by address + User-Agent (they sent no session id)\n"
            "healthy\n");
  st["stats"]["current"] = false;
  st["channels"][0]["viewers"] = nullptr;
  std::string t = render_status_table(st);
  EXPECT_NE(t.find("0.5s          -\n"), std::string::npos) << t;
  EXPECT_NE(t.find("viewers: - (sigma-stats has written no current /r/s.json)"), std::string::npos) << t;
}

TEST(SupervisorStats, PrometheusText) {
  auto st = nlohmann::json::parse(R"json({
    "healthy": false, "reasons": ["x"], "supervisor": {"uptime_s": 12.5},
    "alerts": [{"severity": "critical", "alert": "input_lost"}],
    "shared": [{"stage": "ingest", "id": "ingest", "state": "up", "restarts": 2}],
    "channels": [{"name": "t\"v", "state": "up", "input_kbps": 2500, "last_segment_age_s": 1.5,
                  "stages": [{"stage": "ingest", "id": "ingest", "state": "up", "restarts": 2},
                             {"stage": "dvr", "id": "tv/dvr", "state": "backoff", "restarts": 1}]},
                 {"name": "idle", "state": "down", "input_kbps": null, "last_segment_age_s": null, "stages": []}]})json");
  std::string m = render_prometheus(st);
  EXPECT_NE(m.find("# TYPE sigma_stage_restarts_total counter\n"
                   "sigma_stage_restarts_total{stage=\"ingest\"} 2\n"
                   "sigma_stage_restarts_total{channel=\"t\\\"v\",stage=\"dvr\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("sigma_stage_up{channel=\"t\\\"v\",stage=\"dvr\"} 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("sigma_channel_input_bytes_per_second{channel=\"t\\\"v\"} 312500\n"), std::string::npos) << m;
  EXPECT_NE(m.find("sigma_channel_last_segment_age_seconds{channel=\"t\\\"v\"} 1.5\n"), std::string::npos) << m;
  EXPECT_NE(m.find("sigma_channel_up{channel=\"idle\"} 0\n"), std::string::npos) << m;
  EXPECT_EQ(m.find("channel=\"idle\"} NaN"), std::string::npos);
  EXPECT_NE(m.find("sigma_supervisor_alerts_open{severity=\"critical\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("sigma_supervisor_healthy 0\n"), std::string::npos) << m;
  // Every family: HELP then TYPE, once.
  for (const char* f : {"sigma_stage_up", "sigma_stage_restarts_total", "sigma_channel_up"})
    EXPECT_NE(m.find(std::string("# HELP ") + f + " "), std::string::npos) << f;
}
