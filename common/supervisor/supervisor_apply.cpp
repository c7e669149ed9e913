// Applying a config to the running graph: at start and on SIGHUP. Channels
// and stages are matched by name; only what changed is touched.
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/log.h"
#include "supervisor/process.h"
#include "supervisor/supervisor.h"

namespace sigma::supervisor {
namespace {

// mkdir -p of a file's directory; nothing for "", "-" and "fd:N" targets.
Status make_parent_dir(const std::string& file) {
  if (file.empty() || file == "-" || file.rfind("fd:", 0) == 0) return {};
  auto slash = file.rfind('/');
  if (slash == std::string::npos || slash == 0) return {};
  return make_dirs(file.substr(0, slash));
}

}  // namespace

Status Supervisor::apply(const Config& cfg) {
  const GlobalConfig& g = cfg.global;
  std::string ev = params_.events.empty() ? g.events : params_.events;
  // Directories the config names are made here, so that a fresh machine
  // (or a tmpfs /run after a reboot) needs no preparation.
  SIGMA_RETURN_IF_ERROR(make_parent_dir(ev));
  SIGMA_RETURN_IF_ERROR(make_parent_dir(g.access_log));
  if (g.stats) SIGMA_RETURN_IF_ERROR(make_parent_dir(g.stats_state));
  if (!g.record_dir.empty()) SIGMA_RETURN_IF_ERROR(make_dirs(g.record_dir));
  SIGMA_RETURN_IF_ERROR(make_dirs(g.out_root));
  if (ev != events_path_) {
    auto w = std::make_unique<EventWriter>();
    SIGMA_RETURN_IF_ERROR(w->open(ev));
    events_ = std::move(w);
    events_path_ = ev;
  }
  std::string health = params_.health.empty() ? g.health : params_.health;
  if (health == "off") {
    health_.close_all();
  } else if (!health_.listening() || health != health_.address()) {
    SIGMA_RETURN_IF_ERROR(health_.listen(health, "health"));
  }
  SIGMA_RETURN_IF_ERROR(make_dirs(g.run_dir));
  // --events replaces [global] events for the stages that follow the
  // file too (the hook stage), not only for the supervisor's writer.
  Config effective = cfg;
  effective.global.events = ev;
  Plan plan = make_plan(effective, params_.exe_dir);
  // Before anything changes, so that a file that cannot be written
  // refuses the reload whole; before any spawn, which reads it.
  for (auto& s : plan.shared) {
    if (s.reload_file.empty()) continue;
    auto now = read_file(s.reload_file);
    if (!now.is_ok() || *now != s.reload_text)
      // 0600: the ingest's channels file carries backup and restream keys.
      SIGMA_RETURN_IF_ERROR_CTX(write_file_durable(s.reload_file, s.reload_text, 0600), s.id + " --channels file");
  }
  cfg_ = cfg;
  alerts_.configure(g.alerts);

  // Channels first: their FIFOs must exist before any stage opens them.
  std::map<std::string, const ChannelPlan*> wanted_channels;
  for (auto& cp : plan.channels) wanted_channels[cp.name] = &cp;
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (wanted_channels.count(it->first)) {
      ++it;
      continue;
    }
    emit("channel.removed", it->first, {});
    close_channel(it->second);
    it = channels_.erase(it);
  }
  for (auto& cp : plan.channels) {
    auto [it, added] = channels_.try_emplace(cp.name);
    ChannelRuntime& ch = it->second;
    std::vector<std::string> old_fifos = ch.plan.fifos;
    ch.plan = cp;
    const ChannelConfig* cc = cfg.find(cp.name);
    std::string own_events = cc && cc->events != ev ? cc->events : "";
    if (own_events != ch.events_path) {
      ch.events = nullptr;
      ch.events_path = own_events;
    }
    Status st = open_channel(ch);
    // Retire FIFOs the new plan no longer uses (ladder removed, say).
    for (auto& f : old_fifos)
      if (std::find(cp.fifos.begin(), cp.fifos.end(), f) == cp.fifos.end() && ch.fifo_fds.count(f)) {
        ::close(ch.fifo_fds[f]);
        ch.fifo_fds.erase(f);
        ::unlink(f.c_str());
      }
    if (!st.is_ok()) {
      // One channel that cannot be set up must not take the others down.
      spdlog::error("channel {}: {}", cp.name, st.message());
      emit("channel.down", cp.name, {{"reason", st.message()}});
      ch.plan.stages.clear();
      continue;
    }
    if (added) emit("channel.added", cp.name, {{"output_dir", cp.output_dir}});
  }

  std::vector<StageSpec> wanted;
  for (auto& s : plan.shared) wanted.push_back(s);
  for (auto& [name, ch] : channels_)
    for (auto& s : ch.plan.stages) wanted.push_back(s);
  std::map<std::string, bool> keep;
  for (auto& spec : wanted) {
    // The shared ingest is also listed under each channel it packages.
    if (!keep.emplace(spec.id, true).second) continue;
    auto it = stages_.find(spec.id);
    if (it == stages_.end()) {
      auto s = std::make_unique<StageRuntime>();
      s->spec = spec;
      s->tracker.set_policy(g.restart);
      StageRuntime& ref = *s;
      stages_[spec.id] = std::move(s);
      dispatch(ref, StageEvent::kStart);
      continue;
    }
    StageRuntime& s = *it->second;
    s.tracker.set_policy(g.restart);
    s.remove_when_down = false;
    if (!s.spec.same_as(spec)) {
      spdlog::info("{}: command changed, restarting it", spec.id);
      // Stopped first (down at once when not running); on reaching down
      // the pending spec takes over and starts.
      s.pending = std::make_unique<StageSpec>(spec);
      if (s.state == StageState::kDown) {
        s.spec = *s.pending;
        s.pending = nullptr;
        s.tracker.reset();
        dispatch(s, StageEvent::kStart);
      } else {
        dispatch(s, StageEvent::kStop);
      }
      continue;
    }
    s.spec.events_file = spec.events_file;
    s.spec.reload_text = spec.reload_text;
    // Its file (or its keys file, which the supervisor does not read) may
    // have changed: the stage re-reads both, and keeps what did not change.
    if (!spec.reload_file.empty() || spec.hup_on_reload) request_reload(s);
    if (s.state == StageState::kFailed) {
      // A reload is the operator's way of saying "try again".
      s.tracker.reset();
      dispatch(s, StageEvent::kStart);
    }
  }
  for (auto& [id, s] : stages_)
    if (!keep.count(id)) {
      s->pending = nullptr;
      s->remove_when_down = true;
      dispatch(*s, StageEvent::kStop);
    }
  return {};
}

void Supervisor::request_reload(StageRuntime& s) {
  // Before its readiness a stage may not have its SIGHUP handler yet (the
  // default action ends it): the signal waits for the ready line.
  if (s.state == StageState::kUp && s.pid > 0) {
    spdlog::info("{}: SIGHUP (reload)", s.spec.id);
    ::kill(s.pid, SIGHUP);
  } else if (s.state == StageState::kStarting) {
    s.reload_pending = true;
  }
}

Status Supervisor::open_channel(ChannelRuntime& ch) {
  SIGMA_RETURN_IF_ERROR(make_dirs(ch.plan.dir));
  SIGMA_RETURN_IF_ERROR(make_dirs(ch.plan.output_dir));
  for (auto& f : ch.plan.fifos) {
    if (ch.fifo_fds.count(f)) continue;
    SIGMA_RETURN_IF_ERROR(ensure_fifo(f));
    SIGMA_ASSIGN_OR_RETURN(int fd, hold_fifo(f));
    ch.fifo_fds[f] = fd;
  }
  if (!ch.events && !ch.events_path.empty()) {
    SIGMA_RETURN_IF_ERROR(make_parent_dir(ch.events_path));
    auto w = std::make_unique<EventWriter>();
    SIGMA_RETURN_IF_ERROR(w->open(ch.events_path));
    ch.events = std::move(w);
  }
  return {};
}

void Supervisor::close_channel(ChannelRuntime& ch) {
  for (auto& [path, fd] : ch.fifo_fds) {
    ::close(fd);
    ::unlink(path.c_str());
  }
  ch.fifo_fds.clear();
  if (!ch.plan.dir.empty()) ::rmdir(ch.plan.dir.c_str());  // only if empty
}

void Supervisor::reload() {
  auto cfg = load_checked_config(params_.config_path, params_.exe_dir);
  if (!cfg) {
    spdlog::error("reload refused, still running the previous config: {}", cfg.status().message());
    emit("config.rejected", "", {{"reason", cfg.status().message()}});
    return;
  }
  Status st = apply(*cfg);
  if (!st.is_ok()) {
    spdlog::error("reload: {}", st.message());
    emit("config.rejected", "", {{"reason", st.message()}});
    return;
  }
  spdlog::info("reloaded {}: {} channel(s)", params_.config_path, channels_.size());
  emit("config.reloaded", "", {{"channels", channels_.size()}});
}

}  // namespace sigma::supervisor
