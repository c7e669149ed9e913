#include "supervisor/plan.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "package/modes.h"
#include "supervisor/failover_config.h"

namespace sigma::supervisor {
namespace {

std::string tool_path(const GlobalConfig& g, const std::string& exe_dir, const std::string& tool) {
  if (!g.bin_dir.empty()) return g.bin_dir + "/" + tool;
  if (!exe_dir.empty()) {
    std::string p = exe_dir + "/" + tool;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return tool;  // found through PATH at exec time
}

std::string substitute(std::string w, const std::map<std::string, std::string>& vars) {
  for (auto& [k, v] : vars) {
    std::string key = "{" + k + "}";
    for (size_t p = w.find(key); p != std::string::npos; p = w.find(key, p + v.size())) w.replace(p, key.size(), v);
  }
  return w;
}

bool mentions(const std::vector<std::string>& argv, const std::string& what) {
  for (auto& a : argv)
    if (a.find(what) != std::string::npos) return true;
  return false;
}

// Applies "<stage>.command" / "<stage>.args" from the config to a built spec.
void apply_override(StageSpec& s, const std::map<std::string, StageOverride>& overrides,
                    const std::map<std::string, std::string>& vars) {
  auto it = overrides.find(s.stage);
  if (it == overrides.end()) return;
  if (!it->second.command.empty()) {
    // A hand-written command signals readiness and writes events only if
    // it says where; otherwise it counts as ready once spawned.
    s.custom = true;
    s.notify_ready = mentions(it->second.command, "{ready_fd}");
    s.events_pipe = mentions(it->second.command, "{events_fd}");
    s.argv.clear();
    for (auto& w : it->second.command) s.argv.push_back(substitute(w, vars));
  }
  for (auto& w : it->second.extra_args) s.argv.push_back(substitute(w, vars));
}

// Segments in the packager's window for a DVR span (0: the mode's default).
std::string window_segments(const ChannelConfig& ch) {
  double seg = package::default_segment_duration(ch.mode);
  return std::to_string(static_cast<int64_t>(std::ceil(ch.dvr_window_s / seg)));
}

// A published channel without a ladder needs no stage of its own: the
// shared sigma-ingest packages it (no MPEG-TS, FIFO or sigma-package),
// unless the config asks otherwise, customises its package stage (or
// replaces the ingest's command), lets SRT publish (in-process packaging
// takes RTMP only), or names a directory an --hls-channel spec cannot hold.
bool packaged_in_ingest(const ChannelConfig& ch, const GlobalConfig& g) {
  auto ingest = g.stages.find("ingest");
  bool ingest_replaced = ingest != g.stages.end() && !ingest->second.command.empty();
  return ch.enabled && ch.input_kind == InputKind::kPublish && ch.ladder == "passthrough" && ch.package_in_ingest &&
         !ch.stages.count("package") && g.srt == "off" && !ingest_replaced &&
         ch.output_dir.find(',') == std::string::npos;
}

// A stage of the channel's directory that reads the channel's
// segment.written events on stdin: a pipe the supervisor writes them to.
// While it is down they are not kept: sigma-dvr indexes at start what the
// directory holds that its index does not; sigma-thumb fills its missed
// slots from the segments and shows the next one live.
StageSpec events_stage(const ChannelConfig& ch, const GlobalConfig& g, const std::string& exe_dir,
                       const std::string& events, const std::map<std::string, std::string>& vars,
                       const std::string& stage, const std::vector<std::pair<const char*, std::string>>& options) {
  StageSpec s;
  s.id = ch.name + "/" + stage;
  s.channel = ch.name;
  s.stage = stage;
  s.argv = {tool_path(g, exe_dir, "sigma-" + stage), "run", "--dir", ch.output_dir, "--channel", ch.name,
            "--events-in", "-"};
  for (const auto& [flag, value] : options)
    if (!value.empty()) s.argv.insert(s.argv.end(), {flag, value});
  s.stdin_events = true;
  s.events_file = events;
  auto v = vars;
  v["output"] = ch.output_dir;
  apply_override(s, ch.stages, v);
  return s;
}

StageSpec dvr_stage(const ChannelConfig& ch, const GlobalConfig& g, const std::string& exe_dir,
                    const std::string& events, const std::map<std::string, std::string>& vars) {
  return events_stage(ch, g, exe_dir, events, vars, "dvr",
                      {{"--retain", ch.archive}, {"--max-bytes", ch.archive_max}, {"--min-free", ch.archive_min_free}});
}

StageSpec thumb_stage(const ChannelConfig& ch, const GlobalConfig& g, const std::string& exe_dir,
                      const std::string& events, const std::map<std::string, std::string>& vars) {
  return events_stage(ch, g, exe_dir, events, vars, "thumb",
                      {{"--every", ch.thumbnails_every},
                       {"--widths", ch.thumbnails_widths},
                       {"--sprite-every", ch.thumbnails_sprites}});
}

// sigma-hook over the events files the supervisor writes ([global] events
// and the channels' own): it follows them with a durable read position, so
// it needs no pipe from the supervisor; its own events (webhook_failed)
// come back on the events fd as every stage's do.
StageSpec hook_stage(const Config& cfg, const std::string& exe_dir, const std::map<std::string, std::string>& vars) {
  const GlobalConfig& g = cfg.global;
  StageSpec s;
  s.id = s.stage = "hook";
  s.argv = {tool_path(g, exe_dir, "sigma-hook"), "run", "--config", g.hooks, "--state", g.hooks_state,
            "--events-in", g.events};
  std::vector<std::string> files = {g.events};
  for (auto& ch : cfg.channels)
    if (ch.enabled && !ch.events.empty() && std::find(files.begin(), files.end(), ch.events) == files.end()) {
      files.push_back(ch.events);
      s.argv.insert(s.argv.end(), {"--events-in", ch.events});
    }
  s.events_file = g.events;
  s.hup_on_reload = true;
  apply_override(s, g.stages, vars);
  if (s.custom) s.hup_on_reload = false;
  return s;
}

// One sigma-stats for every channel, following the origin's access log
// (rotation included) with its read position in its SQLite state; the
// viewers it counts come back to /status through its status file.
StageSpec stats_stage(const GlobalConfig& g, const std::string& exe_dir,
                      const std::map<std::string, std::string>& vars) {
  StageSpec s;
  s.id = s.stage = "stats";
  s.argv = {tool_path(g, exe_dir, "sigma-stats"), "run", "--log", g.access_log, "--state", g.stats_state,
            "--root", g.out_root, "--status-file", g.stats_status_file()};
  if (g.stats_metrics != "off") s.argv.insert(s.argv.end(), {"--metrics", g.stats_metrics});
  if (!g.stats_session_timeout.empty()) s.argv.insert(s.argv.end(), {"--session-timeout", g.stats_session_timeout});
  s.events_file = g.events;
  apply_override(s, g.stages, vars);
  return s;
}

}  // namespace

std::vector<std::string> Plan::all_fifos() const {
  std::vector<std::string> out;
  for (auto& c : channels) out.insert(out.end(), c.fifos.begin(), c.fifos.end());
  return out;
}

Plan make_plan(const Config& cfg, const std::string& exe_dir) {
  const GlobalConfig& g = cfg.global;
  Plan plan;
  bool any_publish = false;
  for (auto& ch : cfg.channels) any_publish = any_publish || (ch.enabled && ch.input_kind == InputKind::kPublish);
  // {ready_fd} and {events_fd} stay as they are until spawn (or dry-run).
  std::map<std::string, std::string> gvars = {{"run_dir", g.run_dir}, {"out_root", g.out_root}};

  if (any_publish) {
    StageSpec s;
    s.id = s.stage = "ingest";
    s.argv = {tool_path(g, exe_dir, "sigma-ingest")};
    if (g.rtmp != "off") s.argv.insert(s.argv.end(), {"--rtmp", g.rtmp});
    if (g.srt != "off") s.argv.insert(s.argv.end(), {"--srt", g.srt});
    if (!g.keys.empty()) s.argv.insert(s.argv.end(), {"--keys", g.keys});
    if (g.open_keys) s.argv.push_back("--open");
    // Every channel served is a line of the channels file, and only those
    // take publishers: a stopped or deleted channel's key is refused
    // rather than written to the template path where its FIFO was.
    s.argv.insert(s.argv.end(), {"--output", g.run_dir + "/{channel}/source.ts", "--listed-only"});
    // Channel routes go in a file the ingest re-reads on SIGHUP, so that
    // adding a channel does not restart it (and drop every publisher).
    for (auto& ch : cfg.channels) {
      if (!ch.enabled || ch.input_kind != InputKind::kPublish) continue;
      std::string line = ch.name;
      if (packaged_in_ingest(ch, g)) {
        line += "=" + ch.output_dir + ",mode=" + ch.mode;
        if (ch.dvr_window_s > 0) line += ",window=" + window_segments(ch);
        if (ch.archived()) line += ",keep";
      }
      if (ch.record && !g.record_dir.empty()) line += ",record=" + g.record_dir;
      line += failover_spec(ch);
      s.reload_text += line + "\n";
      // Restream targets too: adding or removing one is a SIGHUP, which
      // touches neither the channel nor its other targets.
      for (auto& t : ch.restream) s.reload_text += "restream " + ch.name + "." + t.name + "=" + t.url + "\n";
    }
    s.reload_file = g.run_dir + "/ingest-channels";
    s.argv.insert(s.argv.end(), {"--channels", s.reload_file});
    s.argv.insert(s.argv.end(), {"--status-file", g.run_dir + "/ingest-status.json"});
    s.events_file = g.events;
    apply_override(s, g.stages, gvars);
    if (s.custom) s.reload_file.clear();
    plan.shared.push_back(std::move(s));
  }
  if (g.origin != "off") {
    StageSpec s;
    s.id = s.stage = "origin";
    s.argv = {tool_path(g, exe_dir, "sigma-origin"), "--listen", g.origin, "--root", g.out_root};
    if (!g.access_log.empty()) s.argv.insert(s.argv.end(), {"--access-log", g.access_log});
    if (!g.playback_secret.empty()) {
      // The signed channels in a file the origin reads again on SIGHUP, as
      // it does the secrets: signing a channel, or rotating the secret,
      // restarts nothing. Disabled channels too: their files may remain.
      s.argv.insert(s.argv.end(), {"--playback-secret", g.playback_secret});
      for (const auto& ch : cfg.channels)
        if (ch.signed_playback) s.reload_text += ch.name + "\n";
      s.reload_file = g.origin_signed_file();
      s.argv.insert(s.argv.end(), {"--signed-file", s.reload_file});
      s.hup_on_reload = true;
    }
    s.events_file = g.events;
    apply_override(s, g.stages, gvars);
    if (s.custom) {
      s.reload_file.clear();
      s.hup_on_reload = false;
    }
    plan.shared.push_back(std::move(s));
  }
  if (!g.hooks.empty()) plan.shared.push_back(hook_stage(cfg, exe_dir, gvars));
  if (g.stats && g.origin != "off") plan.shared.push_back(stats_stage(g, exe_dir, gvars));

  for (auto& ch : cfg.channels) {
    if (!ch.enabled) continue;
    ChannelPlan cp;
    cp.name = ch.name;
    cp.dir = g.run_dir + "/" + ch.name;
    cp.output_dir = ch.output_dir;
    std::string events = ch.events.empty() ? g.events : ch.events;
    auto vars = gvars;
    vars.insert({{"channel", ch.name}, {"out_dir", ch.output_dir}, {"mode", ch.mode}});
    if (packaged_in_ingest(ch, g)) {
      // The channel is up when the shared ingest is (and its archive).
      cp.stages.push_back(plan.shared.front());
      if (ch.archived()) cp.stages.push_back(dvr_stage(ch, g, exe_dir, events, vars));
      if (ch.thumbnails) cp.stages.push_back(thumb_stage(ch, g, exe_dir, events, vars));
      plan.channels.push_back(std::move(cp));
      continue;
    }
    std::string source_fifo = cp.dir + "/source.ts";
    cp.fifos.push_back(source_fifo);

    if (ch.input_kind != InputKind::kPublish) {
      StageSpec s;
      s.id = ch.name + "/source";
      s.channel = ch.name;
      s.stage = "source";
      if (ch.input_kind == InputKind::kPull) {
        // The ingest opens the FIFO itself: its bounded, non-blocking
        // output drops rather than stall when the packager is restarting.
        s.argv = {tool_path(g, exe_dir, "sigma-ingest"), "-i", ch.input, "--channel", ch.name,
                  "-o", source_fifo, "--status-file", cp.dir + "/ingest-status.json"};
        if (ch.record && !g.record_dir.empty()) s.argv.insert(s.argv.end(), {"--record", g.record_dir});
      } else {
        for (auto& w : ch.input_argv) s.argv.push_back(substitute(w, vars));
        s.custom = true;
        s.notify_ready = mentions(ch.input_argv, "{ready_fd}");
        s.events_pipe = mentions(ch.input_argv, "{events_fd}");
        s.stdout_fifo = source_fifo;
      }
      s.events_file = events;
      auto v = vars;
      v["output"] = source_fifo;
      apply_override(s, ch.stages, v);
      cp.stages.push_back(std::move(s));
    }

    std::string package_in = source_fifo;
    if (ch.ladder != "passthrough") {
      std::string ladder_fifo = cp.dir + "/ladder.ts";
      cp.fifos.push_back(ladder_fifo);
      StageSpec s;
      s.id = ch.name + "/transcode";
      s.channel = ch.name;
      s.stage = "transcode";
      // A preset name alone is sigma-transcode's whole ladder from that
      // height down; anything else is a list of rungs.
      bool custom = ch.ladder != "1080p" && ch.ladder != "720p" && ch.ladder != "480p" && ch.ladder != "source+720p";
      s.argv = {tool_path(g, exe_dir, "sigma-transcode"), "-i", source_fifo, "-o", ladder_fifo,
                custom ? "--ladder" : "--preset", ch.ladder, "--mode", ch.mode, "--channel", ch.name};
      if (!ch.preset.empty()) s.argv.insert(s.argv.end(), {"--x264-preset", ch.preset});
      s.events_file = events;
      auto v = vars;
      v["input"] = source_fifo;
      v["output"] = ladder_fifo;
      apply_override(s, ch.stages, v);
      cp.stages.push_back(std::move(s));
      package_in = ladder_fifo;
    }

    StageSpec s;
    s.id = ch.name + "/package";
    s.channel = ch.name;
    s.stage = "package";
    s.argv = {tool_path(g, exe_dir, "sigma-package"), "-i", package_in, "-o", ch.output_dir,
              "--mode", ch.mode, "--channel", ch.name};
    // The packager counts its window in segments of its mode's length.
    if (ch.dvr_window_s > 0) s.argv.insert(s.argv.end(), {"--window", window_segments(ch)});
    // What leaves the window stays for sigma-dvr, which deletes it by
    // retention.
    if (ch.archived()) s.argv.push_back("--keep");
    s.events_file = events;
    auto v = vars;
    v["input"] = package_in;
    v["output"] = ch.output_dir;
    apply_override(s, ch.stages, v);
    cp.stages.push_back(std::move(s));
    if (ch.archived()) cp.stages.push_back(dvr_stage(ch, g, exe_dir, events, vars));
    if (ch.thumbnails) cp.stages.push_back(thumb_stage(ch, g, exe_dir, events, vars));
    plan.channels.push_back(std::move(cp));
  }
  return plan;
}

std::vector<std::string> child_argv(const StageSpec& s) {
  std::map<std::string, std::string> fds = {{"ready_fd", std::to_string(kChildReadyFd)},
                                            {"events_fd", std::to_string(kChildEventsFd)}};
  std::vector<std::string> argv;
  for (auto& w : s.argv) argv.push_back(substitute(w, fds));
  if (!s.custom) {
    if (s.notify_ready) argv.insert(argv.end(), {"--ready-fd", std::to_string(kChildReadyFd)});
    if (s.events_pipe) argv.insert(argv.end(), {"--events", "fd:" + std::to_string(kChildEventsFd)});
  }
  return argv;
}

std::string render_shell(const Plan& plan) {
  std::ostringstream o;
  auto cmd = [&](const StageSpec& s) {
    // In a shell nobody reads a ready fd and events go straight to their
    // file: a hand-written {ready_fd}/{events_fd} points at stderr.
    std::map<std::string, std::string> fds = {{"ready_fd", "2"}, {"events_fd", "2"}};
    std::vector<std::string> argv = s.argv;
    if (s.stdin_events) {
      // No supervisor forwards events to a shell's sigma-dvr: it follows
      // the file the channel's events go to instead.
      bool file = !s.events_file.empty() && s.events_file != "-" && s.events_file.rfind("fd:", 0) != 0;
      auto it = std::find(argv.begin(), argv.end(), "--events-in");
      if (!s.custom && file && it != argv.end() && it + 1 != argv.end() && *(it + 1) == "-") {
        *(it + 1) = s.events_file;
        o << "# sigma-supervisor writes the segment.written events to its stdin; here it follows the events file\n";
      } else {
        o << "# sigma-supervisor writes the segment.written events to its stdin; here (no events file) it\n"
          << (s.stage == "dvr" ? "# indexes what the directory holds when it starts\n"
                               : "# reads none: follow the packager's events yourself\n");
      }
    }
    std::string line;
    for (auto& w : argv) line += (line.empty() ? "" : " ") + shell_quote(substitute(w, fds));
    if (!s.custom && s.events_pipe && !s.events_file.empty()) line += " --events " + shell_quote(s.events_file);
    line += " </dev/null";
    if (!s.stdin_fifo.empty()) line.replace(line.size() - 10, 10, " <" + shell_quote(s.stdin_fifo));
    line += s.stdout_fifo.empty() ? " >/dev/null" : " >" + shell_quote(s.stdout_fifo);
    o << line << " &\n";
  };
  o << "#!/bin/bash\n"
       "# What sigma-supervisor runs for this config, as commands to paste in a shell.\n"
       "# Each FIFO is held open read-write by the shell (as the supervisor holds it),\n"
       "# so a stage that is restarted reattaches without its neighbours seeing EOF.\n"
       "set -e\n";
  int fd = 3;
  for (auto& c : plan.channels) {
    o << "\n# channel " << c.name << "\n";
    o << "mkdir -p " << shell_quote(c.dir) << " " << shell_quote(c.output_dir) << "\n";
    for (auto& f : c.fifos) {
      o << "[ -p " << shell_quote(f) << " ] || mkfifo -m 0600 " << shell_quote(f) << "\n";
      o << "exec " << fd++ << "<>" << shell_quote(f) << "\n";
    }
  }
  if (!plan.shared.empty()) o << "\n# shared stages\n";
  for (auto& s : plan.shared)
    if (!s.reload_file.empty())
      o << "cat >" << shell_quote(s.reload_file) << " <<'SIGMA_EOF'\n" << s.reload_text << "SIGMA_EOF\n";
  for (auto& s : plan.shared) cmd(s);
  for (auto& c : plan.channels) {
    o << "\n# channel " << c.name << " stages, upstream first\n";
    for (auto& s : c.stages)
      if (s.channel.empty()) o << "# (packaged by the shared " << s.id << ")\n";
      else cmd(s);
  }
  o << "\nwait\n";
  return o.str();
}

}  // namespace sigma::supervisor
