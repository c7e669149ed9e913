// The supervisor's alerts (alerts.h) fed with what it knows of its stages,
// channels and disks; and the check of sigma-hook's subscription file at
// load, so that a bad one is refused as a bad channel config is.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "base/log.h"
#include "base/time.h"
#include "package/modes.h"
#include "supervisor/process.h"
#include "supervisor/supervisor.h"

namespace sigma::supervisor {
namespace {

constexpr int64_t kAlertRound = 500;     // ms between evaluations
constexpr int64_t kCheckTimeout = 10'000;  // sigma-hook check

Now now_both() { return {monotonic_ms(), unix_ms_now()}; }

}  // namespace

Status check_hooks(const Config& cfg, const std::string& exe_dir) {
  if (cfg.global.hooks.empty()) return {};
  Plan plan = make_plan(cfg, exe_dir);
  const StageSpec* hook = nullptr;
  for (auto& s : plan.shared)
    if (s.stage == "hook") hook = &s;
  // A hand-written hook.command is the operator's to check.
  if (!hook || hook->custom) return {};
  std::vector<std::string> argv = {hook->argv[0], "check", "--config", cfg.global.hooks};
  int rd = -1, wr = -1;
  SIGMA_RETURN_IF_ERROR(make_pipe(rd, wr));
  ChildFds fds;
  fds.err = wr;
  auto pid = spawn_child(argv, fds);
  ::close(wr);
  if (!pid) {
    ::close(rd);
    return pid.status().wrap("hooks = " + cfg.global.hooks + ": run sigma-hook check");
  }
  std::string err;
  int64_t deadline = monotonic_ms() + kCheckTimeout;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) break;
    pollfd p = {rd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) break;
    char buf[4096];
    ssize_t n = ::read(rd, buf, sizeof buf);
    if (n == 0) break;
    if (n > 0 && err.size() < 65536) err.append(buf, static_cast<size_t>(n));
  }
  ::close(rd);
  int ws = 0;
  if (monotonic_ms() >= deadline) signal_group(*pid, SIGKILL);
  while (::waitpid(*pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return {};
  // Its message names the subscription file and line; keep that part.
  std::string why;
  auto at = err.find(cfg.global.hooks + ":");
  if (at != std::string::npos) why = err.substr(at, err.find('\n', at) - at);
  else {
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    why = err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1);
    if (why.empty()) why = cfg.global.hooks + ": sigma-hook check failed";
  }
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == to_int(ExitCode::kUsage)) return usage_error(why);
  return system_error("sigma-hook check --config " + cfg.global.hooks + ": " +
                      (WIFEXITED(ws) ? "exit " + std::to_string(WEXITSTATUS(ws)) : std::string("killed")) + ": " +
                      why);
}

Result<Config> load_checked_config(const std::string& path, const std::string& exe_dir) {
  SIGMA_ASSIGN_OR_RETURN(Config cfg, load_config(path));
  SIGMA_RETURN_IF_ERROR(check_hooks(cfg, exe_dir));
  return cfg;
}

void Supervisor::check_alerts() {
  Now now = now_both();
  if (now.mono_ms < next_alert_check_) return;
  next_alert_check_ = now.mono_ms + kAlertRound;
  std::vector<StageFacts> stages;
  for (auto& [id, s] : stages_)
    stages.push_back({id, s->spec.channel, s->state == StageState::kFailed, s->state == StageState::kUp, s->failure});
  auto up = [&](const std::string& id) {
    auto it = stages_.find(id);
    return it != stages_.end() && it->second->state == StageState::kUp;
  };
  std::vector<ChannelFacts> channels;
  std::vector<std::string> disks = {cfg_.global.out_root};
  for (auto& [name, ch] : channels_) {
    const ChannelConfig* cc = cfg_.find(name);
    if (!cc) continue;
    ChannelFacts f;
    f.name = name;
    f.watch_input = cc->input_kind != InputKind::kExec;
    f.input_expected = cc->input_kind == InputKind::kPull;
    f.input_stage_up = up(cc->input_kind == InputKind::kPublish ? "ingest" : name + "/source");
    f.target_duration_s = package::default_segment_duration(cc->mode);
    channels.push_back(f);
    disks.push_back(ch.plan.output_dir);
  }
  if (!cfg_.global.record_dir.empty()) disks.push_back(cfg_.global.record_dir);
  if (!stages_.count("hook")) alerts_.clear_external();
  alerts_.evaluate(stages, channels, disks, now);
}

void Supervisor::note_event(const std::string& type, const std::string& channel, const nlohmann::json& event,
                            bool from_stage) {
  alerts_.on_event(type, channel, event, now_both(), from_stage);
}

nlohmann::json Supervisor::alerts_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (auto& a : alerts_.open()) {
    nlohmann::json j = {{"alert", a.alert}, {"key", a.key}, {"severity", a.severity}, {"summary", a.summary},
                        {"since", iso8601_utc(a.since_unix_ms)}};
    j["channel"] = a.channel.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.channel);
    if (a.external) j["from"] = "stage";
    out.push_back(j);
  }
  return out;
}

std::vector<std::string> Supervisor::alert_reasons(bool critical) const {
  std::vector<std::string> out;
  for (auto& a : alerts_.open())
    if ((a.severity == "critical") == critical) out.push_back("alert " + a.alert + " (" + a.severity + "): " + a.summary);
  return out;
}

}  // namespace sigma::supervisor
