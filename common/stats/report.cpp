#include "stats/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/time.h"
#include "base/time_spec.h"
#include "db/db.h"
#include "stats/store.h"

namespace sigma::stats {
namespace {

constexpr int64_t kMinuteMs = 60000;
constexpr int64_t kDayMs = 86400000;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

std::string day_text(int64_t day) { return iso8601_utc(day * kDayMs).substr(0, 10); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

std::string seconds(int64_t ms) { return fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0); }

}  // namespace

Result<Report> make_report(Store& s, const std::string& channel, int64_t from_ms, int64_t to_ms, int64_t step_ms) {
  db::Db& d = s.db();
  Report r;
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query("SELECT key, value FROM meta"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read meta"));
      if (!row) break;
      std::string k = q.text(0);
      if (k == "lines_ok") r.lines_ok = q.i64(1);
      else if (k == "lines_garbage") r.lines_garbage = q.i64(1);
      else if (k == "lines_future") r.lines_future = q.i64(1);
      else if (k == "lines_past") r.lines_past = q.i64(1);
      else if (k == "log_resets") r.log_resets = q.i64(1);
    }
  }
  // The period: given, else what the data spans.
  if (from_ms < 0) {
    SIGMA_ASSIGN_OR_RETURN(int64_t a, d.scalar("SELECT coalesce(min(minute), 0) FROM series"));
    SIGMA_ASSIGN_OR_RETURN(int64_t b, d.scalar("SELECT coalesce(min(first_ms), 0) FROM sessions"));
    from_ms = a * kMinuteMs;
    if (b > 0 && b < from_ms) from_ms = b;
  }
  if (to_ms < 0) {
    SIGMA_ASSIGN_OR_RETURN(int64_t a, d.scalar("SELECT coalesce(max(minute) + 1, 0) FROM series"));
    SIGMA_ASSIGN_OR_RETURN(int64_t b, d.scalar("SELECT coalesce(max(last_ms) + 1, 0) FROM sessions"));
    to_ms = std::max(a * kMinuteMs, b);
  }
  if (to_ms < from_ms) to_ms = from_ms;
  r.from_ms = from_ms;
  r.to_ms = to_ms;
  int64_t from_min = floor_div(from_ms + kMinuteMs - 1, kMinuteMs), to_min = floor_div(to_ms + kMinuteMs - 1, kMinuteMs);

  std::vector<std::pair<std::string, int64_t>> chans;
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query("SELECT name, timeout_ms FROM channels ORDER BY name"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read channels"));
      if (!row) break;
      if (channel.empty() || q.text(0) == channel) chans.emplace_back(q.text(0), q.i64(1));
    }
  }
  for (const auto& [name, timeout] : chans) {
    ChannelReport c;
    c.channel = name;
    c.timeout_ms = timeout;
    {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query(
          "SELECT metric, label, sum(value) FROM series WHERE channel = ?1 AND minute >= ?2 AND minute < ?3 "
          "GROUP BY metric, label"));
      q.bind(1, name).bind(2, from_min).bind(3, to_min);
      for (;;) {
        SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read series"));
        if (!row) break;
        std::string m = q.text(0), l = q.text(1);
        int64_t v = q.i64(2);
        if (m == "requests") {
          c.requests_by_status[l] += v;
          c.requests += v;
        } else if (m == "bytes") c.bytes += v;
        else if (m == "views") c.views += v;
        else if (m == "watch_ms") {
          c.watch_ms_by_track[l] += v;
          c.watch_ms += v;
        } else if (m == "sessions") c.sessions += v;
        else if (m == "fallback_sessions") c.fallback_sessions += v;
      }
    }
    // CCU: each session is active from its first to its last request.
    std::vector<int64_t> starts, ends;
    {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query(
          "SELECT first_ms, last_ms FROM sessions WHERE channel = ?1 AND first_ms < ?2 AND last_ms >= ?3"));
      q.bind(1, name).bind(2, to_ms).bind(3, from_ms);
      for (;;) {
        SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read sessions"));
        if (!row) break;
        starts.push_back(std::max(q.i64(0), from_ms));
        ends.push_back(std::min(q.i64(1), to_ms));
      }
    }
    std::sort(starts.begin(), starts.end());
    std::sort(ends.begin(), ends.end());
    {
      // Sweep: a start at t counts before an end at t (both ends inclusive).
      size_t i = 0, j = 0;
      int64_t cur = 0, area = 0, prev = from_ms;
      c.peak_ccu_ms = from_ms;
      while (i < starts.size() || j < ends.size()) {
        bool start = i < starts.size() && (j >= ends.size() || starts[i] <= ends[j]);
        int64_t t = start ? starts[i] : ends[j];
        area += cur * (t - prev);
        prev = t;
        if (start) {
          ++cur;
          ++i;
          if (cur > c.peak_ccu) {
            c.peak_ccu = cur;
            c.peak_ccu_ms = t;
          }
        } else {
          --cur;
          ++j;
        }
      }
      c.average_ccu = to_ms > from_ms ? static_cast<double>(area) / static_cast<double>(to_ms - from_ms) : 0.0;
    }
    if (step_ms > 0) {
      if ((to_ms - from_ms) / step_ms > 1'000'000) return usage_error("--step is too short for the period (over a million points)");
      for (int64_t t = from_ms; t <= to_ms; t += step_ms) {
        int64_t started = std::upper_bound(starts.begin(), starts.end(), t) - starts.begin();
        int64_t ended = std::lower_bound(ends.begin(), ends.end(), t) - ends.begin();
        c.ccu.emplace_back(t, started - ended);
      }
    }
    {
      SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query(
          "SELECT day, count(*) FROM uniques WHERE channel = ?1 AND day >= ?2 AND day <= ?3 GROUP BY day"));
      q.bind(1, name).bind(2, floor_div(from_ms, kDayMs)).bind(3, floor_div(std::max(from_ms, to_ms - 1), kDayMs));
      for (;;) {
        SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read viewers"));
        if (!row) break;
        c.unique_viewers_by_day[day_text(q.i64(0))] = q.i64(1);
      }
      SIGMA_ASSIGN_OR_RETURN(db::Query q2, d.query(
          "SELECT count(DISTINCT viewer) FROM uniques WHERE channel = ?1 AND day >= ?2 AND day <= ?3"));
      q2.bind(1, name).bind(2, floor_div(from_ms, kDayMs)).bind(3, floor_div(std::max(from_ms, to_ms - 1), kDayMs));
      SIGMA_ASSIGN_OR_RETURN(bool row, q2.step("read viewers"));
      if (row) c.unique_viewers = q2.i64(0);
    }
    r.channels.push_back(std::move(c));
  }
  return r;
}

std::string report_json(const Report& r) {
  nlohmann::ordered_json j;
  j["from"] = iso8601_utc(r.from_ms);
  j["to"] = iso8601_utc(r.to_ms);
  j["channels"] = nlohmann::ordered_json::object();
  for (const auto& c : r.channels) {
    nlohmann::ordered_json o;
    o["views"] = c.views;
    o["sessions"] = c.sessions;
    o["fallback_sessions"] = c.fallback_sessions;
    o["session_timeout_seconds"] = static_cast<double>(c.timeout_ms) / 1000.0;
    o["watch_seconds"] = static_cast<double>(c.watch_ms) / 1000.0;
    o["watch_seconds_by_track"] = nlohmann::ordered_json::object();
    for (const auto& [t, v] : c.watch_ms_by_track) o["watch_seconds_by_track"][t] = static_cast<double>(v) / 1000.0;
    o["peak_ccu"] = c.peak_ccu;
    o["peak_ccu_time"] = iso8601_utc(c.peak_ccu_ms);
    o["average_ccu"] = std::round(c.average_ccu * 1000.0) / 1000.0;
    o["unique_viewers"] = c.unique_viewers;
    o["unique_viewers_by_day"] = nlohmann::ordered_json::object();
    for (const auto& [d, v] : c.unique_viewers_by_day) o["unique_viewers_by_day"][d] = v;
    o["bytes"] = c.bytes;
    o["requests"] = c.requests;
    o["requests_by_status"] = nlohmann::ordered_json::object();
    for (const auto& [s, v] : c.requests_by_status) o["requests_by_status"][s] = v;
    if (!c.ccu.empty()) {
      o["ccu"] = nlohmann::ordered_json::array();
      for (const auto& [t, v] : c.ccu) o["ccu"].push_back({{"time", iso8601_utc(t)}, {"viewers", v}});
    }
    j["channels"][c.channel] = o;
  }
  j["lines"] = {{"ok", r.lines_ok}, {"garbage", r.lines_garbage}, {"future", r.lines_future}, {"past", r.lines_past}};
  j["log_resets"] = r.log_resets;
  return j.dump(2) + "\n";
}

std::string report_csv(const Report& r, bool steps) {
  std::string out;
  if (steps) {
    out = "time,channel,viewers\n";
    for (const auto& c : r.channels)
      for (const auto& [t, v] : c.ccu) out += fmt::format("{},{},{}\n", iso8601_utc(t), csv_field(c.channel), v);
    return out;
  }
  out = "channel,from,to,views,sessions,fallback_sessions,watch_seconds,peak_ccu,peak_ccu_time,average_ccu,"
        "unique_viewers,bytes,requests,requests_2xx,requests_3xx,requests_4xx,requests_5xx\n";
  for (const auto& c : r.channels) {
    int64_t by[6] = {0, 0, 0, 0, 0, 0};
    for (const auto& [s, v] : c.requests_by_status) {
      int k = std::atoi(s.c_str()) / 100;
      if (k >= 1 && k <= 5) by[k] += v;
    }
    out += fmt::format("{},{},{},{},{},{},{},{},{},{:.3f},{},{},{},{},{},{},{}\n", csv_field(c.channel),
                       iso8601_utc(r.from_ms), iso8601_utc(r.to_ms), c.views, c.sessions, c.fallback_sessions,
                       seconds(c.watch_ms), c.peak_ccu, iso8601_utc(c.peak_ccu_ms), c.average_ccu, c.unique_viewers,
                       c.bytes, c.requests, by[2], by[3], by[4], by[5]);
  }
  return out;
}

std::string report_table(const Report& r, bool steps) {
  std::string out = fmt::format("period {} .. {}\n", iso8601_utc(r.from_ms), iso8601_utc(r.to_ms));
  if (r.channels.empty()) out += "no channel has requests in the state\n";
  for (const auto& c : r.channels) {
    out += fmt::format("\nchannel {}  (session timeout {})\n", c.channel, format_duration(c.timeout_ms));
    auto row = [&](const std::string& k, const std::string& v) { out += fmt::format("  {:<24} {}\n", k, v); };
    row("views", std::to_string(c.views));
    row("sessions", fmt::format("{} ({} by address + User-Agent: no session id)", c.sessions, c.fallback_sessions));
    row("watch time", fmt::format("{} ({} s)", format_duration(c.watch_ms), seconds(c.watch_ms)));
    for (const auto& [t, v] : c.watch_ms_by_track)
      row("  rendition " + (t.empty() ? std::string("(none)") : t), fmt::format("{} s", seconds(v)));
    row("peak CCU", fmt::format("{} at {}", c.peak_ccu, iso8601_utc(c.peak_ccu_ms)));
    row("average CCU", fmt::format("{:.2f}", c.average_ccu));
    row("unique viewers", std::to_string(c.unique_viewers));
    for (const auto& [d, v] : c.unique_viewers_by_day) row("  " + d, std::to_string(v));
    row("bytes served", fmt::format("{} ({})", c.bytes, format_size(c.bytes)));
    std::string st;
    for (const auto& [s, v] : c.requests_by_status) st += fmt::format("{}{}: {}", st.empty() ? "" : ", ", s, v);
    row("requests", fmt::format("{}{}", c.requests, st.empty() ? "" : " (" + st + ")"));
    if (steps) {
      out += "  CCU:\n";
      for (const auto& [t, v] : c.ccu) out += fmt::format("    {}  {}\n", iso8601_utc(t), v);
    }
  }
  if (r.lines_garbage || r.lines_future || r.lines_past)
    out += fmt::format("\nlines skipped: {} garbage, {} from the future, {} from the past (of {} read)\n",
                       r.lines_garbage, r.lines_future, r.lines_past,
                       r.lines_ok + r.lines_garbage + r.lines_future + r.lines_past);
  return out;
}

Status run_report(const ReportParams& p) {
  if (p.json && p.csv) return usage_error("--json and --csv: choose one");
  int64_t now = unix_ms_now();
  int64_t from = -1, to = -1, step = 0;
  if (!p.from.empty()) {
    SIGMA_ASSIGN_OR_RETURN(from, parse_time(p.from, now));
  }
  if (!p.to.empty()) {
    SIGMA_ASSIGN_OR_RETURN(to, parse_time(p.to, now));
  }
  if (from >= 0 && to >= 0 && to < from) return usage_error("--to is before --from");
  if (!p.step.empty()) {
    SIGMA_ASSIGN_OR_RETURN(step, parse_duration(p.step));
    if (step <= 0) return usage_error("--step must be longer than 0");
  }
  SIGMA_ASSIGN_OR_RETURN(auto store, Store::open(p.state, true));
  SIGMA_ASSIGN_OR_RETURN(Report r, make_report(*store, p.channel, from, to, step));
  if (!p.channel.empty() && r.channels.empty()) return usage_error("no channel '" + p.channel + "' in " + p.state);
  std::string out = p.json ? report_json(r) : p.csv ? report_csv(r, step > 0) : report_table(r, step > 0);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return {};
}

}  // namespace sigma::stats
