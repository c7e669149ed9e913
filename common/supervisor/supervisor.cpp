#include "supervisor/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>

#include "base/fs.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "supervisor/process.h"

namespace sigma::supervisor {
namespace {

constexpr size_t kMaxEventLine = 64 * 1024;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string redacted_command(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) out += (out.empty() ? "" : " ") + shell_quote(redact_url(a));
  return out;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

}  // namespace

Supervisor::~Supervisor() {
  for (auto& [name, ch] : channels_) close_channel(ch);
  for (auto& [id, s] : stages_) close_stage_fds(*s);
  if (sig_fd_ >= 0) ::close(sig_fd_);
}

Status Supervisor::start() {
  started_at_ = monotonic_ms();
  // Orphaned grandchildren (a stage's own children) come back to us to be
  // reaped instead of to init: nothing of ours is ever left a zombie.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return errno_error("sigprocmask", errno);
  sig_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig_fd_ < 0) return errno_error("signalfd", errno);
  SIGMA_ASSIGN_OR_RETURN(Config cfg, load_checked_config(params_.config_path, params_.exe_dir));
  SIGMA_RETURN_IF_ERROR(apply(cfg));
  SIGMA_RETURN_IF_ERROR(start_api());
  spdlog::info("supervising {} channel(s) from {}{}", channels_.size(), params_.config_path,
               health_.listening() ? ", health on http://" + health_.address() + "/healthz" : "");
  notify_ready(params_.ready_fd);
  return {};
}

void Supervisor::emit(const std::string& type, const std::string& channel, nlohmann::json fields) {
  note_event(type, channel, fields, false);
  auto it = channels_.find(channel);
  // Written to two files (the global one and the channel's own, both
  // followed by sigma-hook): one event, one id and time, so that consumers
  // can recognise the copies of one event.
  if (it != channels_.end() && it->second.events) {
    if (!fields.contains("id")) fields["id"] = new_event_id();
    if (!fields.contains("time")) fields["time"] = now_iso8601();
  }
  if (api_.running()) api_publish(type, channel, fields);
  events_->emit(type, channel, fields);
  if (it != channels_.end() && it->second.events) it->second.events->emit(type, channel, std::move(fields));
}

ChannelRuntime* Supervisor::channel_of(const StageRuntime& s) {
  auto it = channels_.find(s.spec.channel);
  return it == channels_.end() ? nullptr : &it->second;
}

void Supervisor::dispatch(StageRuntime& s, StageEvent ev) {
  StageState old = s.state;
  Transition t = transition(old, ev);
  s.state = t.next;
  spdlog::debug("{}: {} + {} -> {} ({})", s.spec.id, to_string(old), to_string(ev), to_string(s.state),
                to_string(t.action));
  perform(s, t.action);
  if (s.state == StageState::kDown && old != StageState::kDown && s.pid < 0) {
    if (s.pending) {
      s.spec = *s.pending;
      s.pending = nullptr;
      s.tracker.reset();
      if (!stopping_) dispatch(s, StageEvent::kStart);
    }
  }
  update_channel(s.spec.channel);
  // A shared stage may be a channel's whole pipeline (a transmux channel
  // packaged inside the shared sigma-ingest): its channels follow it.
  if (s.spec.channel.empty())
    for (auto& [name, ch] : channels_)
      for (auto& spec : ch.plan.stages)
        if (spec.id == s.spec.id) update_channel(name);
}

void Supervisor::perform(StageRuntime& s, StageAction a) {
  int64_t now = monotonic_ms();
  const RestartPolicy& p = s.tracker.policy();
  switch (a) {
    case StageAction::kNone: break;
    case StageAction::kSpawn: spawn(s); break;
    case StageAction::kScheduleRespawn:
      s.timer_at = s.tracker.next_spawn_at(now);
      spdlog::info("{}: restarting in {} ms", s.spec.id, s.timer_at - now);
      break;
    case StageAction::kArmStable:
      s.timer_at = now + p.stable_after_ms;
      emit("stage.ready", s.spec.channel, {{"stage", s.spec.stage}, {"pid", s.pid},
                                            {"after_ms", now - s.spawned_at}});
      break;
    case StageAction::kResetBackoff:
      s.tracker.on_stable();
      s.timer_at = 0;
      break;
    case StageAction::kSendTerm:
      signal_group(s.pid, SIGTERM);
      s.timer_at = now + p.stop_grace_ms;
      break;
    case StageAction::kSendKill:
      spdlog::warn("{}: still running {} ms after SIGTERM, sending SIGKILL", s.spec.id, p.stop_grace_ms);
      signal_group(s.pid, SIGKILL);
      s.timer_at = 0;
      break;
    case StageAction::kAlert:
      s.timer_at = 0;
      spdlog::error("{}: failed permanently: {}", s.spec.id, s.failure);
      emit("stage.failed", s.spec.channel, {{"stage", s.spec.stage}, {"alert", true}, {"reason", s.failure},
                                             {"last_exit", s.last_exit}, {"spawns", s.spawns}});
      break;
    case StageAction::kCancelTimer: s.timer_at = 0; break;
  }
}

void Supervisor::spawn(StageRuntime& s) {
  int64_t now = monotonic_ms();
  int64_t at = s.tracker.earliest_spawn_at();
  if (at > now) {
    // Never two spawns within min_spawn_interval, whatever asked for it.
    s.state = StageState::kBackoff;
    s.timer_at = at;
    return;
  }
  // The event carries the time of the fork, not of the end of exec, so
  // that the spacing of spawns reads true in the events.
  std::string spawn_time = now_iso8601();
  ChildFds fds;
  int ready_w = -1, events_w = -1;
  Status st;
  if (s.spec.notify_ready) st = make_pipe(s.ready_rd, ready_w);
  if (st.is_ok() && s.spec.events_pipe) st = make_pipe(s.events_rd, events_w);
  if (st.is_ok() && !s.spec.stdout_fifo.empty()) {
    auto fd = open_fifo_writer(s.spec.stdout_fifo);
    if (fd) fds.out = *fd; else st = fd.status();
  }
  if (st.is_ok() && !s.spec.stdin_fifo.empty()) {
    auto fd = open_fifo_reader(s.spec.stdin_fifo);
    if (fd) fds.in = *fd; else st = fd.status();
  }
  if (st.is_ok() && s.spec.stdin_events && fds.in < 0) st = make_events_stdin(fds.in, s.stdin_wr);
  fds.ready = ready_w;
  fds.events = events_w;
  Result<pid_t> pid = st.is_ok() ? spawn_child(child_argv(s.spec), fds) : Result<pid_t>(st);
  for (int* fd : {&ready_w, &events_w, &fds.in, &fds.out}) close_fd(*fd);
  if (!pid) {
    close_stage_fds(s);
    s.failure = pid.status().message();
    s.last_exit = "not started";
    spdlog::error("{}: {}", s.spec.id, s.failure);
    bool permanent = pid.status().code() == ExitCode::kUsage;
    bool tally_full = s.tracker.on_death(now);
    dispatch(s, permanent || tally_full ? StageEvent::kExitPermanent : StageEvent::kExit);
    return;
  }
  s.pid = *pid;
  pids_[s.pid] = s.spec.id;
  s.spawned_at = now;
  s.tracker.on_spawn(now);
  ++s.spawns;
  spdlog::info("{}: started pid {}: {}", s.spec.id, s.pid, redacted_command(child_argv(s.spec)));
  emit("stage.started", s.spec.channel, {{"time", spawn_time}, {"stage", s.spec.stage}, {"pid", s.pid}});
  if (s.spawns > 1)
    emit("stage.restarted", s.spec.channel, {{"stage", s.spec.stage}, {"pid", s.pid}, {"restarts", s.spawns - 1},
                                              {"last_exit", s.last_exit}});
  // A stage that cannot notify counts as ready once it has stayed alive
  // for min_spawn_interval (a crash-on-start is not "up" for a moment).
  if (!s.spec.notify_ready) s.timer_at = now + s.tracker.policy().min_spawn_interval_ms;
}

void Supervisor::close_stage_fds(StageRuntime& s) {
  close_fd(s.ready_rd);
  close_fd(s.events_rd);
  close_fd(s.stdin_wr);
  s.events_buf.clear();
}

void Supervisor::drain_ready(StageRuntime& s) {
  if (s.ready_rd < 0) return;
  char buf[64];
  for (;;) {
    ssize_t n = ::read(s.ready_rd, buf, sizeof buf);
    if (n > 0) {
      if (std::memchr(buf, '\n', static_cast<size_t>(n))) {
        close_fd(s.ready_rd);  // one notification per spawn, as in s6
        if (s.state == StageState::kStarting) dispatch(s, StageEvent::kReady);
        if (s.reload_pending) {
          s.reload_pending = false;
          request_reload(s);
        }
        return;
      }
      continue;
    }
    if (n == 0) close_fd(s.ready_rd);  // closed without a newline: never ready
    return;
  }
}

void Supervisor::drain_events(StageRuntime& s, bool final) {
  if (s.events_rd < 0) return;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(s.events_rd, buf, sizeof buf);
    if (n > 0) {
      s.events_buf.append(buf, static_cast<size_t>(n));
      size_t start = 0, nl;
      while ((nl = s.events_buf.find('\n', start)) != std::string::npos) {
        on_stage_event(s, s.events_buf.substr(start, nl - start));
        start = nl + 1;
      }
      s.events_buf.erase(0, start);
      if (s.events_buf.size() > kMaxEventLine) s.events_buf.clear();  // not NDJSON: drop it
      continue;
    }
    if (n == 0 || final) close_fd(s.events_rd);
    return;
  }
}

void Supervisor::on_stage_event(StageRuntime& s, const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    spdlog::debug("{}: ignored an events line that is not an NDJSON event", s.spec.id);
    return;
  }
  std::string type = j["type"].get<std::string>();
  std::string channel = j.value("channel", s.spec.channel);
  auto it = channels_.find(channel);
  ChannelRuntime* ch = it == channels_.end() ? nullptr : &it->second;
  // The stage's own event, unchanged, in the file where its channel's
  // events go.
  EventWriter& w = ch && ch->events ? *ch->events : *events_;
  w.emit(type, channel, j);
  if (api_.running()) api_publish(type, channel, j);
  note_event(type, channel, j, true);
  if (ch && type == "segment.written") {
    int64_t now = unix_ms_now();
    ch->last_segment_unix_ms = now;
    int64_t bytes = -1;
    for (const char* k : {"bytes", "size"})
      if (j.contains(k) && j[k].is_number_integer()) bytes = j[k].get<int64_t>();
    if (bytes >= 0) {
      ch->recent_bytes.push_back({now, bytes});
      while (!ch->recent_bytes.empty() && ch->recent_bytes.front().first < now - 30'000)
        ch->recent_bytes.erase(ch->recent_bytes.begin());
    }
    j["channel"] = channel;
    forward_to_stdin_stages(*ch, s, j);
  }
}

void Supervisor::forward_to_stdin_stages(ChannelRuntime& ch, const StageRuntime& from, const nlohmann::json& event) {
  std::string line;
  for (auto& spec : ch.plan.stages) {
    if (!spec.stdin_events || spec.id == from.spec.id) continue;
    auto it = stages_.find(spec.id);
    if (it == stages_.end()) continue;
    StageRuntime* to = it->second.get();
    if (to->stdin_wr < 0) {
      ++to->while_down;
      continue;
    }
    if (line.empty()) line = event.dump() + "\n";
    // A write of at most PIPE_BUF bytes to a non-blocking pipe is whole or
    // EAGAIN: the stage never sees half a line. The supervisor never waits
    // on it: a full pipe loses the event, which the stage's next start
    // recovers from the directory.
    ssize_t n = line.size() <= PIPE_BUF ? ::write(to->stdin_wr, line.data(), line.size()) : -1;
    if (n == static_cast<ssize_t>(line.size())) {
      ++to->forwarded;
      continue;
    }
    if (to->dropped++ % 100 == 0)
      spdlog::warn("{}: {} ({} dropped so far; its next start catches up from the directory)", to->spec.id,
                   n < 0 && errno == EAGAIN ? "not keeping up, segment.written event dropped"
                   : line.size() > PIPE_BUF ? "segment.written event too long to forward, dropped"
                                            : std::string("event pipe: ") + std::strerror(errno),
                   to->dropped);
  }
}

void Supervisor::on_reaped(pid_t pid, int wstatus) {
  auto it = pids_.find(pid);
  if (it == pids_.end()) return;  // an adopted grandchild
  StageRuntime& s = *stages_.at(it->second);
  pids_.erase(it);
  // What the stage left in its process group goes with it.
  signal_group(pid, SIGKILL);
  drain_ready(s);
  drain_events(s, true);
  close_stage_fds(s);
  s.pid = -1;
  int64_t now = monotonic_ms();
  bool exited = WIFEXITED(wstatus);
  int code = exited ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus);
  s.last_exit = exited ? "exit " + std::to_string(code) : signal_name(code);
  nlohmann::json f = {{"stage", s.spec.stage}, {"pid", pid}, {"uptime_ms", now - s.spawned_at}};
  if (exited) f["code"] = code; else f["signal"] = signal_name(code);
  emit("stage.exited", s.spec.channel, f);
  if (s.state == StageState::kStopping) {
    spdlog::info("{}: stopped ({})", s.spec.id, s.last_exit);
    dispatch(s, StageEvent::kExit);
    return;
  }
  bool tally_full = s.tracker.on_death(now);
  StageEvent ev = classify_exit(exited, code, tally_full);
  if (ev == StageEvent::kExitPermanent) {
    if (exited && code == to_int(ExitCode::kUsage))
      s.failure = "exited with 100 (usage or configuration error), not retried";
    else
      s.failure = std::to_string(s.tracker.deaths_in_window()) + " deaths within " +
                  std::to_string(s.tracker.policy().death_window_ms / 1000) + " s (last: " + s.last_exit + ")";
  }
  spdlog::warn("{}: pid {} ended ({}) after {} ms", s.spec.id, pid, s.last_exit, now - s.spawned_at);
  dispatch(s, ev);
}

void Supervisor::update_channel(const std::string& name) {
  auto it = channels_.find(name);
  if (name.empty() || it == channels_.end()) return;
  ChannelRuntime& ch = it->second;
  bool all_up = !ch.plan.stages.empty() && !stopping_;
  std::string reason;
  for (auto& spec : ch.plan.stages) {
    auto st = stages_.find(spec.id);
    if (st == stages_.end() || st->second->state != StageState::kUp) {
      all_up = false;
      if (reason.empty())
        reason = spec.stage + " " + (st == stages_.end() ? "missing" : to_string(st->second->state));
    }
  }
  if (all_up && !ch.up) emit("channel.up", name, {});
  if (!all_up && ch.up) emit("channel.down", name, {{"reason", reason.empty() ? "stopping" : reason}});
  ch.up = all_up;
}

void Supervisor::sweep() {
  for (auto it = stages_.begin(); it != stages_.end();) {
    StageRuntime& s = *it->second;
    if (s.remove_when_down && s.state == StageState::kDown && s.pid < 0) {
      close_stage_fds(s);
      it = stages_.erase(it);
    } else {
      ++it;
    }
  }
}

void Supervisor::begin_stop() {
  if (stopping_) {
    // A second request: no more grace.
    for (auto& [id, s] : stages_)
      if (s->pid > 0) signal_group(s->pid, SIGKILL);
    return;
  }
  stopping_ = true;
  spdlog::info("stopping {} stage(s)", pids_.size());
  for (auto& [id, s] : stages_) {
    s->pending = nullptr;
    dispatch(*s, StageEvent::kStop);
  }
}

void Supervisor::handle_signals() {
  signalfd_siginfo si;
  bool chld = false, hup = false, term = false;
  while (::read(sig_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGCHLD) chld = true;
    else if (si.ssi_signo == SIGHUP) hup = true;
    else term = true;
  }
  if (chld) {
    int ws;
    pid_t pid;
    while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) on_reaped(pid, ws);
  }
  if (term) begin_stop();
  if (hup && !stopping_) reload();
}

Status Supervisor::loop() {
  std::vector<pollfd> fds;
  std::vector<std::pair<StageRuntime*, bool>> owners;  // per fd: stage, is_ready_fd
  for (;;) {
    if (stop_requested() && !stopping_) begin_stop();
    if (stopping_ && pids_.empty()) break;
    int64_t now = monotonic_ms();
    int64_t next = now + 1000;
    for (auto& [id, s] : stages_)
      if (s->timer_at > 0) next = std::min(next, s->timer_at);
    int64_t hd = health_.next_deadline_ms();
    if (hd > 0) next = std::min(next, hd);
    fds.clear();
    owners.clear();
    fds.push_back({sig_fd_, POLLIN, 0});
    for (auto& [id, s] : stages_) {
      if (s->ready_rd >= 0) {
        fds.push_back({s->ready_rd, POLLIN, 0});
        owners.push_back({s.get(), true});
      }
      if (s->events_rd >= 0) {
        fds.push_back({s->events_rd, POLLIN, 0});
        owners.push_back({s.get(), false});
      }
    }
    size_t api_index = fds.size();
    fds.push_back({api_queue_.fd(), POLLIN, 0});
    size_t health_first = fds.size();
    health_.add_poll_fds(fds);
    int timeout = static_cast<int>(std::max<int64_t>(0, next - now));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) return errno_error("poll", errno);
    now = monotonic_ms();
    if (n > 0 && fds[0].revents) {
      // Reaping closes descriptors whose numbers may be reused at once:
      // handle the rest on a fresh poll.
      handle_signals();
    } else if (n > 0) {
      if (fds[api_index].revents) run_api_calls();
      for (size_t i = 1; i < api_index; ++i) {
        if (!fds[i].revents) continue;
        auto [stage, is_ready] = owners[i - 1];
        if (is_ready) drain_ready(*stage); else drain_events(*stage, false);
      }
      std::vector<pollfd> hfds(fds.begin() + static_cast<long>(health_first), fds.end());
      health_.process(hfds, now, [&](const std::string&, const std::string& path) { return serve(path); });
    } else {
      std::vector<pollfd> none;
      health_.process(none, now, [&](const std::string&, const std::string& path) { return serve(path); });
    }
    for (auto& [id, s] : stages_)
      if (s->timer_at > 0 && s->timer_at <= now) {
        s->timer_at = 0;
        dispatch(*s, StageEvent::kTimer);
      }
    sweep();
    check_alerts();
  }
  // Descendants adopted as subreaper (killed with their stage's process
  // group) may still be dying: reap them too, so none is handed to init
  // as a zombie. Bounded: something that escaped its group is not waited for.
  for (int64_t until = monotonic_ms() + 2000; monotonic_ms() < until;) {
    int ws;
    pid_t pid = waitpid(-1, &ws, WNOHANG);
    if (pid < 0) break;  // ECHILD: nothing left
    if (pid == 0) ::usleep(10'000);
  }
  spdlog::info("all stages stopped");
  emit("supervisor.stopped", "", {});
  api_queue_.close();
  api_.stop();
  return {};
}

}  // namespace sigma::supervisor
