#include "supervisor/alerts.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <set>

#include "base/conf.h"
#include "base/time.h"
#include "base/time_spec.h"

namespace sigma::supervisor {
namespace {

std::string seconds_text(int64_t ms) { return format_duration(ms / 1000 * 1000); }

// "5%", "2.5%" -> percent.
std::optional<double> parse_percent(const std::string& v) {
  if (v.size() < 2 || v.back() != '%') return std::nullopt;
  std::string n = v.substr(0, v.size() - 1);
  int dots = 0;
  for (char c : n) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  if (dots > 1 || n.front() == '.' || n.back() == '.') return std::nullopt;
  double p = std::stod(n);
  if (p < 0 || p >= 100) return std::nullopt;
  return p;
}

}  // namespace

Result<bool> alert_key(AlertSettings& s, const std::string& key, const std::string& v) {
  auto duration = [&](int64_t& out, int64_t at_least) -> Result<bool> {
    SIGMA_ASSIGN_OR_RETURN(int64_t ms, parse_duration_ms(v));
    if (ms < at_least) return usage_error(key + " must be at least " + std::to_string(at_least) + "ms");
    out = ms;
    return true;
  };
  if (key == "alerts") {
    SIGMA_ASSIGN_OR_RETURN(s.enabled, parse_bool(v));
    return true;
  }
  if (key == "alert_hold") return duration(s.hold_ms, 0);
  if (key == "input_lost_after") return duration(s.input_lost_after_ms, 0);
  if (key == "output_stale_after") return duration(s.output_stale_after_ms, 1000);
  if (key == "disk_check_every") return duration(s.disk_check_every_ms, 100);
  if (key == "disk_low") {
    if (v == "off") {
      s.disk_low_bytes = 0;
      s.disk_low_percent = 0;
      return true;
    }
    if (auto p = parse_percent(v)) {
      s.disk_low_bytes = 0;
      s.disk_low_percent = *p;
      return true;
    }
    auto bytes = parse_size_bytes(v);
    if (!bytes || *bytes == 0)
      return usage_error("disk_low: expected free space like 5% or 1G, or off, got '" + v + "'");
    s.disk_low_bytes = *bytes;
    s.disk_low_percent = 0;
    return true;
  }
  if (key == "restarts_too_frequent") {
    if (v == "off") {
      s.restarts_max = 0;
      return true;
    }
    auto in = v.find(" in ");
    if (in == std::string::npos) return usage_error("restarts_too_frequent: expected 'N in DURATION' (e.g. '5 in 15m') or off");
    SIGMA_ASSIGN_OR_RETURN(s.restarts_max, parse_count(conf_trim(v.substr(0, in))));
    if (s.restarts_max < 1) return usage_error("restarts_too_frequent needs at least 1 restart (or off)");
    SIGMA_ASSIGN_OR_RETURN(s.restarts_window_ms, parse_duration_ms(conf_trim(v.substr(in + 4))));
    return true;
  }
  return false;
}

Result<DiskUsage> statvfs_probe(const std::string& path) {
  struct statvfs vfs;
  if (::statvfs(path.c_str(), &vfs) != 0) return errno_error("statvfs " + path, errno);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  DiskUsage u;
  u.free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
  u.total_bytes = static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize);
  u.device = static_cast<uint64_t>(st.st_dev);
  return u;
}

// ---------------------------------------------------------------------------

void AlertEngine::fire(Entry& e, Now now) {
  e.firing = true;
  e.fired_unix_ms = now.unix_ms;
  e.clear_since = -1;
  sink_("alert." + e.cond.alert, e.cond.channel,
        {{"alert", e.cond.alert}, {"state", "firing"}, {"severity", e.cond.severity}, {"key", e.cond.key},
         {"summary", e.cond.summary}});
}

void AlertEngine::resolve(Entry& e, Now now, const std::string& reason) {
  e.firing = false;
  nlohmann::json f = {{"alert", e.cond.alert},
                      {"state", "resolved"},
                      {"severity", e.cond.severity},
                      {"key", e.cond.key},
                      {"summary", "resolved after " + seconds_text(now.unix_ms - e.fired_unix_ms) + ": " +
                                      e.cond.summary},
                      {"since", iso8601_utc(e.fired_unix_ms)},
                      {"duration_s", (now.unix_ms - e.fired_unix_ms) / 1000.0}};
  if (!reason.empty()) f["reason"] = reason;
  sink_("alert." + e.cond.alert, e.cond.channel, std::move(f));
}

void AlertEngine::observe(const Condition& c, bool active, Now now) {
  auto id = std::make_pair(c.alert, c.key);
  auto it = entries_.find(id);
  if (!active) {
    if (it == entries_.end()) return;
    Entry& e = it->second;
    e.active_since = -1;
    if (!e.firing) {
      entries_.erase(it);
      return;
    }
    if (e.clear_since < 0) e.clear_since = now.mono_ms;
    if (now.mono_ms - e.clear_since >= hold_ms_) {
      resolve(e, now, "");
      entries_.erase(it);
    }
    return;
  }
  if (it == entries_.end()) it = entries_.emplace(id, Entry{c}).first;
  Entry& e = it->second;
  e.clear_since = -1;  // back within the hold: the same alert goes on
  if (e.active_since < 0) e.active_since = now.mono_ms;
  if (!e.firing && now.mono_ms - e.active_since >= c.fire_after_ms) {
    e.cond = c;
    fire(e, now);
  }
}

void AlertEngine::resolve_unless(const std::function<bool(const std::string&, const std::string&)>& keep, Now now,
                                 const std::string& reason) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (keep(it->first.first, it->first.second)) {
      ++it;
      continue;
    }
    if (it->second.firing) resolve(it->second, now, reason);
    it = entries_.erase(it);
  }
}

void AlertEngine::external(const nlohmann::json& ev, Now now) {
  if (!ev.is_object()) return;
  std::string type = ev.value("type", "");
  std::string alert = ev.contains("alert") && ev["alert"].is_string() ? ev["alert"].get<std::string>()
                                                                        : type.substr(std::min<size_t>(6, type.size()));
  std::string key = ev.contains("key") && ev["key"].is_string() ? ev["key"].get<std::string>() : "";
  std::string state = ev.contains("state") && ev["state"].is_string() ? ev["state"].get<std::string>() : "firing";
  auto id = std::make_pair(alert, key);
  if (state == "resolved") {
    external_.erase(id);
    return;
  }
  if (external_.count(id)) return;
  OpenAlert a;
  a.alert = alert;
  a.key = key;
  a.channel = ev.contains("channel") && ev["channel"].is_string() ? ev["channel"].get<std::string>() : "";
  a.severity = ev.contains("severity") && ev["severity"].is_string() ? ev["severity"].get<std::string>() : "warning";
  a.summary = ev.contains("summary") && ev["summary"].is_string() ? ev["summary"].get<std::string>() : type;
  a.since_unix_ms = now.unix_ms;
  a.external = true;
  external_[id] = a;
}

void AlertEngine::clear_external() { external_.clear(); }

std::vector<OpenAlert> AlertEngine::open() const {
  std::vector<OpenAlert> out;
  for (auto& [id, e] : entries_)
    if (e.firing) out.push_back({e.cond.alert, e.cond.key, e.cond.channel, e.cond.severity, e.cond.summary,
                                 e.fired_unix_ms, false});
  for (auto& [id, a] : external_) out.push_back(a);
  std::stable_sort(out.begin(), out.end(),
                   [](const OpenAlert& a, const OpenAlert& b) { return a.since_unix_ms < b.since_unix_ms; });
  return out;
}

// ---------------------------------------------------------------------------

void AlertWatch::configure(const AlertSettings& s) {
  settings_ = s;
  engine_.set_hold(s.hold_ms);
  next_disk_check_ = 0;  // the new threshold applies at once
}

void AlertWatch::on_event(const std::string& type, const std::string& channel, const nlohmann::json& event,
                          Now now, bool from_stage) {
  if (type.rfind("alert.", 0) == 0) {
    // The supervisor's own alerts come back here through its emit: only a
    // stage's (sigma-hook's webhook_failed) are tracked from their events.
    if (from_stage) engine_.external(event, now);
    return;
  }
  if (type == "stream.started" || type == "stream.ended") {
    Input& in = inputs_[channel];
    bool present = type == "stream.started";
    if (present) in.seen = true;
    if (in.present != present) in.changed_at = now.mono_ms;
    in.present = present;
    return;
  }
  if (type == "output.failed" || type == "output.recovered") {
    std::string writer = event.value("writer", "");
    std::string key = channel + "/" + writer;
    if (type == "output.recovered") {
      auto it = write_failures_.find(key);
      if (it != write_failures_.end()) it->second.failing = false;
      return;
    }
    std::string what = event.value("what", "");
    std::string error = event.value("error", "");
    write_failures_[key] = {channel, writer,
                            (channel.empty() ? "" : "channel " + channel + ": ") + writer + " cannot write (" + what +
                                "): " + error + "; going on, trying again",
                            true};
    return;
  }
  if (type == "input.switched") {
    Input& in = inputs_[channel];
    in.active = event.is_object() ? event.value("to", "") : "";
    in.active_changed_at = now.mono_ms;
    return;
  }
  if (type == "segment.written") {
    inputs_[channel].last_segment = now.mono_ms;
    // A segment written whole: the packager's writes work (a restarted
    // one that never failed says no output.recovered).
    if (!(event.is_object() && event.value("gap", false)))
      if (auto it = write_failures_.find(channel + "/package"); it != write_failures_.end()) it->second.failing = false;
    return;
  }
  if (type == "stage.restarted" && event.is_object() && event.contains("stage") && event["stage"].is_string()) {
    std::string stage = event["stage"].get<std::string>();
    restarts_[channel.empty() ? stage : channel + "/" + stage].push_back(now.mono_ms);
    // A new process of the writer: it says output.failed again if it must.
    for (auto& [key, f] : write_failures_) {
      bool same_channel = f.channel == channel || channel.empty();
      if ((stage == f.writer && same_channel) || (stage == "ingest" && (f.writer == "record" || f.writer == "package")) ||
          (stage == "source" && f.writer == "record" && same_channel))
        f.failing = false;
    }
  }
}

void AlertWatch::evaluate(const std::vector<StageFacts>& stages, const std::vector<ChannelFacts>& channels,
                          const std::vector<std::string>& disk_paths, Now now) {
  std::set<std::string> stage_ids, channel_names, disks;
  if (!settings_.enabled) {
    engine_.resolve_unless([](const std::string&, const std::string&) { return false; }, now, "alerts turned off");
    engine_.clear_external();
    return;
  }
  for (auto& s : stages) {
    stage_ids.insert(s.id);
    AlertEngine::Condition c{"stage_failed", s.id, s.channel, "critical",
                             s.id + " failed" + (s.failure.empty() ? "" : ": " + s.failure), 0};
    engine_.observe(c, s.failed, now);
    auto& times = restarts_[s.id];
    while (!times.empty() && times.front() < now.mono_ms - settings_.restarts_window_ms) times.pop_front();
    bool often = settings_.restarts_max > 0 && static_cast<int>(times.size()) > settings_.restarts_max;
    AlertEngine::Condition r{"restarts_too_frequent", s.id, s.channel, "warning",
                             s.id + " restarted " + std::to_string(times.size()) + " times in " +
                                 format_duration(settings_.restarts_window_ms),
                             0};
    engine_.observe(r, often, now);
  }
  for (auto it = restarts_.begin(); it != restarts_.end();)
    it = stage_ids.count(it->first) ? std::next(it) : restarts_.erase(it);

  for (auto& ch : channels) {
    channel_names.insert(ch.name);
    Input& in = inputs_[ch.name];
    if (in.changed_at < 0) in.changed_at = now.mono_ms;
    if (!ch.input_stage_up && in.present) {
      // Killed before it could say stream.ended: the input went with it.
      in.present = false;
      in.changed_at = now.mono_ms;
      in.active.clear();  // the switch went with it
    }
    bool expected = ch.input_expected || in.seen;
    // Failover: on the backup, viewers see the real thing (input_on_backup,
    // a warning); on the slate, the input is lost as much as with none.
    bool on_backup = in.active == "backup", on_slate = in.active == "slate";
    int64_t absent_since = in.changed_at;
    if (on_slate) absent_since = in.present ? in.active_changed_at : std::min(in.changed_at, in.active_changed_at);
    int64_t absent_for = now.mono_ms - absent_since;
    AlertEngine::Condition lost{"input_lost", ch.name, ch.name, "critical",
                                "channel " + ch.name + ": no input for " + seconds_text(absent_for) +
                                    (on_slate ? " (viewers see the slate)" : ""),
                                0};
    engine_.observe(lost,
                    ch.watch_input && expected && ((!in.present && !on_backup) || on_slate) &&
                        absent_for >= settings_.input_lost_after_ms,
                    now);
    int64_t backup_for = now.mono_ms - in.active_changed_at;
    AlertEngine::Condition backup{"input_on_backup", ch.name, ch.name, "warning",
                                  "channel " + ch.name + ": on its backup input for " + seconds_text(backup_for), 0};
    engine_.observe(backup, ch.watch_input && on_backup && backup_for >= settings_.input_lost_after_ms, now);
    int64_t stale_after = settings_.output_stale_after_ms > 0
                              ? settings_.output_stale_after_ms
                              : std::max<int64_t>(10'000, static_cast<int64_t>(ch.target_duration_s * 3000));
    int64_t since = std::max(in.changed_at, in.last_segment);
    AlertEngine::Condition stale{"output_stale", ch.name, ch.name, "critical",
                                 "channel " + ch.name + ": no new segment for " + seconds_text(now.mono_ms - since) +
                                     " while its input is present",
                                 0};
    engine_.observe(stale, ch.watch_input && (in.present || on_backup || on_slate) && now.mono_ms - since >= stale_after,
                    now);
  }
  for (auto it = inputs_.begin(); it != inputs_.end();)
    it = channel_names.count(it->first) ? std::next(it) : inputs_.erase(it);
  std::set<std::string> writers;
  for (auto it = write_failures_.begin(); it != write_failures_.end();) {
    if (!it->second.channel.empty() && !channel_names.count(it->second.channel)) {
      it = write_failures_.erase(it);
      continue;
    }
    writers.insert(it->first);
    engine_.observe({"disk_full", it->first, it->second.channel, "critical", it->second.summary, 0},
                    it->second.failing, now);
    ++it;
  }

  bool disk_on = settings_.disk_low_bytes > 0 || settings_.disk_low_percent > 0;
  if (disk_on && now.mono_ms >= next_disk_check_) {
    next_disk_check_ = now.mono_ms + settings_.disk_check_every_ms;
    disk_active_.clear();
    std::set<uint64_t> devices;
    for (auto& p : disk_paths) {
      auto u = probe_(p);
      if (!u || !devices.insert(u->device).second) continue;  // missing yet, or a filesystem already listed
      bool low = settings_.disk_low_bytes > 0
                     ? u->free_bytes < settings_.disk_low_bytes
                     : static_cast<double>(u->free_bytes) * 100.0 < settings_.disk_low_percent * u->total_bytes;
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.1f%%", u->total_bytes > 0 ? u->free_bytes * 100.0 / u->total_bytes : 0.0);
      std::string limit = settings_.disk_low_bytes > 0 ? format_size(settings_.disk_low_bytes) : [&] {
        char b[32];
        std::snprintf(b, sizeof b, "%g%%", settings_.disk_low_percent);
        return std::string(b);
      }();
      disk_active_[p] = low;
      disk_summary_[p] = p + ": " + format_size(u->free_bytes) + " free of " + format_size(u->total_bytes) + " (" +
                         pct + "), under " + limit;
    }
  }
  if (disk_on)
    for (auto& [path, low] : disk_active_) {
      disks.insert(path);
      engine_.observe({"disk_low", path, "", "warning", disk_summary_[path], 0}, low, now);
    }
  engine_.resolve_unless(
      [&](const std::string& alert, const std::string& key) {
        if (alert == "stage_failed" || alert == "restarts_too_frequent") return stage_ids.count(key) > 0;
        if (alert == "input_lost" || alert == "output_stale" || alert == "input_on_backup")
          return channel_names.count(key) > 0;
        if (alert == "disk_low") return disks.count(key) > 0;
        if (alert == "disk_full") return writers.count(key) > 0;
        return true;
      },
      now, "no longer supervised");
}

}  // namespace sigma::supervisor
