#include "supervisor/status_view.h"

#include <cstdio>
#include <vector>

namespace sigma::supervisor {
namespace {

std::string str(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

std::string seconds(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  return format_age(j[key].get<double>());
}

std::string kbps(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.0fk", j[key].get<double>());
  return b;
}

}  // namespace

std::string format_age(double s) {
  if (s < 0) return "-";
  char b[32];
  long t = static_cast<long>(s);
  if (s < 10) std::snprintf(b, sizeof b, "%.1fs", s);
  else if (t < 60) std::snprintf(b, sizeof b, "%lds", t);
  else if (t < 3600) std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
  else if (t < 86400) std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else std::snprintf(b, sizeof b, "%ldd%02ldh", t / 86400, (t % 86400) / 3600);
  return b;
}

std::string render_status_table(const nlohmann::json& st) {
  // VIEWERS (sigma-stats's count, "-" while it has none) when the
  // supervisor runs sigma-stats.
  bool viewers = st.contains("stats");
  std::vector<std::vector<std::string>> rows = {
      {"CHANNEL", "STAGE", "STATE", "PID", "RESTARTS", "UPTIME", "LAST EXIT", "INPUT", "LAST SEGMENT"}};
  if (viewers) rows[0].push_back("VIEWERS");
  auto add_stage = [&](const std::string& channel, const nlohmann::json& s, const nlohmann::json& ch) {
    rows.push_back({channel, str(s, "stage"), str(s, "state"), str(s, "pid"), str(s, "restarts", "0"),
                    seconds(s, "uptime_s"), str(s, "last_exit"), ch.is_null() ? "" : kbps(ch, "input_kbps"),
                    ch.is_null() ? "" : seconds(ch, "last_segment_age_s")});
    if (viewers) rows.back().push_back(ch.is_null() ? "" : str(ch, "viewers"));
  };
  if (st.contains("shared"))
    for (auto& s : st["shared"]) add_stage("*", s, nullptr);
  if (st.contains("channels"))
    for (auto& ch : st["channels"]) {
      if (ch["stages"].empty()) {
        rows.push_back({str(ch, "name"), "-", str(ch, "state"), "", "", "", "", "", ""});
        if (viewers) rows.back().push_back(str(ch, "viewers"));
      }
      for (auto& s : ch["stages"]) add_stage(str(ch, "name"), s, ch);
    }
  std::vector<size_t> width(rows[0].size(), 0);
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  // Failover channels: the input on the air.
  if (st.contains("channels"))
    for (auto& ch : st["channels"])
      if (ch.contains("input") && ch["input"].is_object()) {
        const auto& in = ch["input"];
        out += str(ch, "name") + " input: " + str(in, "active");
        if (in.contains("switches")) out += ", " + str(in, "switches", "0") + " switches";
        if (in.contains("reason")) out += ", last " + str(in, "reason") + " at " + str(in, "since");
        out += "\n";
      }
  // Restream targets: one line each (URLs come redacted from the ingest).
  if (st.contains("channels"))
    for (auto& ch : st["channels"])
      if (ch.contains("restream") && ch["restream"].is_array())
        for (auto& t : ch["restream"]) {
          out += str(ch, "name") + " restream " + str(t, "name") + ": " + str(t, "state") + " " + kbps(t, "kbps") +
                 ", " + str(t, "reconnects", "0") + " reconnects, " + str(t, "dropped_packets", "0") + " dropped, " +
                 str(t, "url");
          if (t.contains("last_error") && t["last_error"].is_string()) out += ", last error: " + str(t, "last_error");
          out += "\n";
        }
  // A dvr or thumb stage that fell behind: how many events it lost.
  if (st.contains("channels"))
    for (auto& ch : st["channels"])
      for (auto& s : ch["stages"])
        if (s.contains("events_in") && s["events_in"].value("dropped", int64_t{0}) > 0)
          out += str(ch, "name") + " " + str(s, "stage") + ": " + s["events_in"]["dropped"].dump() +
                 " segment.written events dropped (not keeping up)" +
                 (str(s, "stage") == "dvr" ? "; indexed at its next start\n" : "\n");
  if (viewers) {
    auto& sj = st["stats"];
    if (!sj.value("current", false))
      out += "viewers: - (sigma-stats has written no current " + str(sj, "status_file") + ")\n";
    else if (sj.contains("identity_fallback_sessions") && sj["identity_fallback_sessions"].is_number() &&
             sj["identity_fallback_sessions"].get<double>() > 0)
      out += "viewers: " + sj["identity_fallback_sessions"].dump() +
             " sessions counted by address + User-Agent (they sent no session id)\n";
  }
  // Open alerts: what fired, when, about what.
  if (st.contains("alerts") && st["alerts"].is_array() && !st["alerts"].empty()) {
    out += "open alerts:\n";
    for (auto& a : st["alerts"])
      out += "  " + str(a, "severity") + " " + str(a, "alert") + " " + str(a, "key") + " since " + str(a, "since") +
             ": " + str(a, "summary") + "\n";
  }
  bool healthy = st.value("healthy", false);
  out += healthy ? "healthy\n" : "unhealthy:";
  if (!healthy) {
    for (auto& r : st.value("reasons", nlohmann::json::array())) out += "\n  " + r.get<std::string>();
    out += "\n";
  }
  return out;
}

}  // namespace sigma::supervisor
