// The supervisor's outward views: /healthz, /status, `status`, --dry-run,
// and the entry point.
#include <cstdio>
#include <iostream>

#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "base/time_spec.h"
#include "supervisor/metrics_text.h"
#include "supervisor/status_view.h"
#include "supervisor/supervisor.h"

namespace sigma::supervisor {
namespace {

nlohmann::json stage_json(const StageRuntime& s, int64_t now) {
  nlohmann::json j = {{"stage", s.spec.stage},
                      {"id", s.spec.id},
                      {"state", to_string(s.state)},
                      {"pid", s.pid > 0 ? nlohmann::json(s.pid) : nlohmann::json(nullptr)},
                      {"restarts", std::max(0, s.spawns - 1)},
                      {"uptime_s", s.pid > 0 ? nlohmann::json((now - s.spawned_at) / 1000.0) : nlohmann::json(nullptr)},
                      {"last_exit", s.last_exit.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_exit)}};
  if (!s.failure.empty() && s.state == StageState::kFailed) j["failure"] = s.failure;
  if (s.state == StageState::kBackoff && s.timer_at > 0) j["restart_in_s"] = (s.timer_at - now) / 1000.0;
  if (s.spec.stdin_events)
    j["events_in"] = {{"forwarded", s.forwarded}, {"dropped", s.dropped}, {"while_down", s.while_down}};
  return j;
}

// The input rate sigma-ingest measured for a channel, from its status
// file (rewritten every second); null when there is none.
nlohmann::json ingest_kbps(const std::string& status_file, const std::string& channel) {
  auto text = read_file(status_file);
  if (!text) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("channels") || !j["channels"].is_array()) return nullptr;
  for (auto& c : j["channels"])
    if (c.value("channel", "") == channel && c.contains("input_kbps") && c["input_kbps"].is_number())
      return c["input_kbps"];
  return nullptr;
}

// The channel's restream targets as sigma-ingest reports them (state,
// bitrate, reconnects, last error, drops; URLs redacted there); null when
// it reports none.
nlohmann::json ingest_restream(const std::string& status_file, const std::string& channel) {
  auto text = read_file(status_file);
  if (!text) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("channels") || !j["channels"].is_array()) return nullptr;
  for (auto& c : j["channels"])
    if (c.value("channel", "") == channel && c.contains("restream") && c["restream"].is_array()) return c["restream"];
  return nullptr;
}

// A failover channel's inputs as sigma-ingest reports them (the active
// one: primary, backup or slate; switches); null without failover.
nlohmann::json ingest_input(const std::string& status_file, const std::string& channel) {
  auto text = read_file(status_file);
  if (!text) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("channels") || !j["channels"].is_array()) return nullptr;
  for (auto& c : j["channels"])
    if (c.value("channel", "") == channel && c.contains("input") && c["input"].is_object()) return c["input"];
  return nullptr;
}

// sigma-stats's status file (rewritten every few seconds), or null when
// there is none or it is older than kStatsStaleMs: a stopped sigma-stats
// must not show the viewers it last counted as watching now.
constexpr int64_t kStatsStaleMs = 30000;

nlohmann::json read_stats_status(const std::string& file, int64_t unix_now) {
  auto text = read_file(file);
  if (!text) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("channels") || !j["channels"].is_object()) return nullptr;
  auto t = parse_time(j.value("time", ""), unix_now);
  if (!t || unix_now - *t > kStatsStaleMs) return nullptr;
  return j;
}

}  // namespace

std::vector<std::string> Supervisor::unhealthy_reasons() const {
  std::vector<std::string> reasons;
  auto describe = [](const StageRuntime& s) {
    std::string r = s.spec.id + " " + to_string(s.state);
    if (s.state == StageState::kFailed && !s.failure.empty()) r += ": " + s.failure;
    else if (!s.last_exit.empty() && s.state != StageState::kUp) r += " (last: " + s.last_exit + ")";
    return r;
  };
  for (auto& [id, s] : stages_)
    if (s->spec.channel.empty() && s->state != StageState::kUp) reasons.push_back(describe(*s));
  for (auto& [name, ch] : channels_) {
    if (ch.up) continue;
    if (ch.plan.stages.empty()) reasons.push_back("channel " + name + " could not be set up");
    for (auto& spec : ch.plan.stages) {
      auto it = stages_.find(spec.id);
      if (it != stages_.end() && it->second->state != StageState::kUp)
        reasons.push_back("channel " + name + ": " + describe(*it->second));
    }
  }
  for (auto& r : alert_reasons(true)) reasons.push_back(r);
  if (stopping_) reasons.insert(reasons.begin(), "stopping");
  return reasons;
}

nlohmann::json Supervisor::status_json() const {
  int64_t now = monotonic_ms();
  int64_t unix_now = unix_ms_now();
  auto reasons = unhealthy_reasons();
  nlohmann::json j = {{"healthy", reasons.empty()},
                      {"reasons", reasons},
                      {"supervisor", {{"pid", ::getpid()}, {"uptime_s", (now - started_at_) / 1000.0},
                                      {"config", params_.config_path}}},
                      {"warnings", alert_reasons(false)},
                      {"alerts", alerts_json()},
                      {"shared", nlohmann::json::array()},
                      {"channels", nlohmann::json::array()}};
  for (auto& [id, s] : stages_)
    if (s->spec.channel.empty()) j["shared"].push_back(stage_json(*s, now));
  // Viewer figures from sigma-stats: null per channel while it has none.
  nlohmann::json stats = nullptr;
  if (stages_.count("stats")) {
    stats = read_stats_status(cfg_.global.stats_status_file(), unix_now);
    j["stats"] = {{"status_file", cfg_.global.stats_status_file()},
                  {"current", !stats.is_null()},
                  {"time", stats.is_null() ? nlohmann::json(nullptr) : stats.value("time", nlohmann::json(nullptr))},
                  {"identity_fallback_sessions",
                   stats.is_null() ? nlohmann::json(nullptr) : stats.value("identity_fallback_sessions", nlohmann::json(nullptr))}};
    if (cfg_.global.stats_metrics != "off") j["stats"]["metrics"] = "http://" + cfg_.global.stats_metrics + "/metrics";
  }
  for (auto& [name, ch] : channels_) {
    nlohmann::json c = {{"name", name}, {"state", ch.up ? "up" : "down"}, {"output_dir", ch.plan.output_dir},
                        {"stages", nlohmann::json::array()}};
    if (stages_.count("stats")) {
      // A channel nobody has asked for yet is absent from sigma-stats's
      // file: zero viewers, as long as the file itself is current.
      nlohmann::json v = stats.is_null() ? nlohmann::json(nullptr) : stats["channels"].value(name, nlohmann::json::object());
      if (!v.is_object()) v = nullptr;
      for (const char* k : {"viewers", "views_today", "watch_seconds_today"})
        c[k] = v.is_null() ? nlohmann::json(nullptr) : v.value(k, nlohmann::json(0));
    }
    c["last_segment_age_s"] = ch.last_segment_unix_ms < 0 ? nlohmann::json(nullptr)
                                                          : nlohmann::json((unix_now - ch.last_segment_unix_ms) / 1000.0);
    // What the ingest measured, else the bytes of the segments written in
    // the last 30 s over that span (the rate entering the packager).
    nlohmann::json measured = nullptr;
    for (auto& spec : ch.plan.stages)
      if (spec.stage == "source") measured = ingest_kbps(ch.plan.dir + "/ingest-status.json", name);
    if (measured.is_null() && stages_.count("ingest"))
      measured = ingest_kbps(cfg_.global.run_dir + "/ingest-status.json", name);
    if (!measured.is_null()) {
      c["input_kbps"] = measured;
    } else if (ch.recent_bytes.size() >= 2) {
      int64_t bytes = 0;
      for (size_t i = 1; i < ch.recent_bytes.size(); ++i) bytes += ch.recent_bytes[i].second;
      double span = (ch.recent_bytes.back().first - ch.recent_bytes.front().first) / 1000.0;
      c["input_kbps"] = span > 0 ? nlohmann::json(bytes * 8 / 1000.0 / span) : nlohmann::json(nullptr);
    } else {
      c["input_kbps"] = nullptr;
    }
    for (auto& spec : ch.plan.stages) {
      auto it = stages_.find(spec.id);
      if (it != stages_.end()) c["stages"].push_back(stage_json(*it->second, now));
    }
    if (const ChannelConfig* cc = cfg_.find(name); cc && !cc->restream.empty()) {
      // Targets the ingest has not reported yet (it has not seen the
      // channel since it started) show as idle.
      nlohmann::json reported = stages_.count("ingest")
                                    ? ingest_restream(cfg_.global.run_dir + "/ingest-status.json", name)
                                    : nlohmann::json(nullptr);
      nlohmann::json list = nlohmann::json::array();
      for (auto& t : cc->restream) {
        nlohmann::json entry = {{"name", t.name}, {"url", redact_url(t.url)}, {"state", "idle"}};
        if (reported.is_array())
          for (auto& r : reported)
            if (r.value("name", "") == t.name) entry = r;
        list.push_back(entry);
      }
      c["restream"] = list;
    }
    if (const ChannelConfig* cc = cfg_.find(name); cc && cc->failover() && stages_.count("ingest")) {
      nlohmann::json in = ingest_input(cfg_.global.run_dir + "/ingest-status.json", name);
      c["input"] = in.is_null() ? nlohmann::json{{"active", "none"}} : in;
    }
    j["channels"].push_back(c);
  }
  return j;
}

HttpReply Supervisor::serve(const std::string& path) const {
  if (path == "/healthz") {
    auto reasons = unhealthy_reasons();
    std::string body = reasons.empty() ? "ok\n" : "";
    for (auto& r : reasons) body += r + "\n";
    for (auto& w : alert_reasons(false)) body += "warning: " + w + "\n";
    return {reasons.empty() ? 200 : 503, "text/plain; charset=utf-8", body};
  }
  if (path == "/status") {
    auto j = status_json();
    return {j["healthy"].get<bool>() ? 200 : 503, "application/json", j.dump(2) + "\n"};
  }
  if (path == "/metrics") return {200, kPrometheusContentType, render_prometheus(status_json())};
  return {404, "text/plain", "not found: try /healthz, /status or /metrics\n"};
}

Status run_supervisor(const SupervisorParams& params) {
  Supervisor sv(params);
  SIGMA_RETURN_IF_ERROR(sv.start());
  return sv.loop();
}

Status print_dry_run(const SupervisorParams& params) {
  SIGMA_ASSIGN_OR_RETURN(Config cfg, load_checked_config(params.config_path, params.exe_dir));
  std::cout << render_shell(make_plan(cfg, params.exe_dir));
  return {};
}

Status print_status(const SupervisorParams& params, bool json) {
  std::string addr = params.health;
  if (addr.empty()) {
    auto cfg = load_config(params.config_path);
    if (!cfg) return cfg.status().wrap("find the health address (or pass --health HOST:PORT)");
    addr = cfg->global.health;
  }
  if (addr == "off") return usage_error("the health endpoint is off in " + params.config_path);
  SIGMA_ASSIGN_OR_RETURN(std::string body, http_get(addr, "/status", 3000));
  if (json) {
    std::cout << body;
    return {};
  }
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return system_error("GET /status from " + addr + ": not JSON");
  std::cout << render_status_table(j);
  return {};
}

}  // namespace sigma::supervisor
