#include "supervisor/metrics_text.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "http/prometheus.h"

namespace sigma::supervisor {
namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char b[64];
  std::snprintf(b, sizeof b, "%.15g", v);
  return b;
}

// One metric family: its samples are collected, then written together
// after HELP and TYPE (the format wants a family's lines in one block).
struct Family {
  std::string help, type;
  std::vector<std::string> samples;
};

class Exposition {
 public:
  void declare(const std::string& name, const std::string& type, const std::string& help) {
    order_.push_back(name);
    families_[name] = {help, type, {}};
  }
  void sample(const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels, double v) {
    std::string line = name;
    if (!labels.empty()) {
      line += "{";
      for (size_t i = 0; i < labels.size(); ++i)
        line += (i ? "," : "") + labels[i].first + "=\"" + http::prometheus_escape(labels[i].second) + "\"";
      line += "}";
    }
    families_[name].samples.push_back(line + " " + number(v));
  }
  std::string text() const {
    std::string out;
    for (auto& name : order_) {
      auto& f = families_.at(name);
      out += http::prometheus_head(name, f.type, f.help);
      for (auto& s : f.samples) out += s + "\n";
    }
    return out;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

double num(const nlohmann::json& j, const char* key, double dflt = 0) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : dflt;
}

}  // namespace

std::string render_prometheus(const nlohmann::json& st) {
  Exposition e;
  e.declare("sigma_supervisor_healthy", "gauge", "1 when /healthz answers ok, else 0.");
  e.declare("sigma_supervisor_uptime_seconds", "gauge", "Seconds since sigma-supervisor started.");
  e.declare("sigma_supervisor_alerts_open", "gauge", "Alerts open now, by severity.");
  e.declare("sigma_stage_up", "gauge", "1 when the stage is up (ready), else 0.");
  e.declare("sigma_stage_restarts_total", "counter", "Times the stage was started again after its first start.");
  e.declare("sigma_channel_up", "gauge", "1 when every stage of the channel is up, else 0.");
  e.declare("sigma_channel_input_bytes_per_second", "gauge",
            "Input rate of the channel (bitrate / 8): what sigma-ingest measured, else the segments of the last 30 s.");
  e.declare("sigma_channel_last_segment_age_seconds", "gauge", "Seconds since the channel's last segment was written.");

  e.sample("sigma_supervisor_healthy", {}, st.value("healthy", false) ? 1 : 0);
  if (st.contains("supervisor")) e.sample("sigma_supervisor_uptime_seconds", {}, num(st["supervisor"], "uptime_s"));
  std::map<std::string, int> open = {{"critical", 0}, {"warning", 0}};
  if (st.contains("alerts") && st["alerts"].is_array())
    for (auto& a : st["alerts"]) open[a.value("severity", "warning")]++;
  for (auto& [sev, n] : open) e.sample("sigma_supervisor_alerts_open", {{"severity", sev}}, n);

  auto stage = [&](const std::string& channel, const nlohmann::json& s) {
    std::vector<std::pair<std::string, std::string>> labels;
    if (!channel.empty()) labels.push_back({"channel", channel});
    labels.push_back({"stage", s.value("stage", "")});
    e.sample("sigma_stage_up", labels, s.value("state", "") == "up" ? 1 : 0);
    e.sample("sigma_stage_restarts_total", labels, num(s, "restarts"));
  };
  if (st.contains("shared"))
    for (auto& s : st["shared"]) stage("", s);
  if (st.contains("channels"))
    for (auto& ch : st["channels"]) {
      std::string name = ch.value("name", "");
      for (auto& s : ch["stages"]) {
        // A channel packaged inside the shared ingest lists it among its
        // stages; it is counted once, with the shared stages.
        if (s.value("id", "") == s.value("stage", "") && s.value("stage", "") == "ingest") continue;
        stage(name, s);
      }
      e.sample("sigma_channel_up", {{"channel", name}}, ch.value("state", "") == "up" ? 1 : 0);
      if (ch.contains("input_kbps") && ch["input_kbps"].is_number())
        e.sample("sigma_channel_input_bytes_per_second", {{"channel", name}}, ch["input_kbps"].get<double>() * 125);
      if (ch.contains("last_segment_age_s") && ch["last_segment_age_s"].is_number())
        e.sample("sigma_channel_last_segment_age_seconds", {{"channel", name}}, ch["last_segment_age_s"].get<double>());
    }
  return e.text();
}

}  // namespace sigma::supervisor
