#pragma once
// sigma-supervisor's engine: turns a Config into running stages and keeps
// them running. One thread, one poll() loop over a signalfd (SIGCHLD,
// SIGTERM, SIGINT, SIGHUP), the stages' ready and events pipes and the
// health server; every stage's life goes through the table in
// stage_state.h.
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/cli.h"
#include "api/api_server.h"
#include "base/events.h"
#include "supervisor/alerts.h"
#include "supervisor/api_queue.h"
#include "supervisor/config.h"
#include "supervisor/health_http.h"
#include "supervisor/plan.h"
#include "supervisor/stage_state.h"

namespace sigma::supervisor {

struct SupervisorParams {
  std::string config_path;
  std::string health;  // overrides [global] health when set
  std::string events;  // overrides [global] events when set
  std::string exe_dir;
  int ready_fd = -1;
};

// load_config, then `sigma-hook check` of [global] hooks (a bad subscription
// file is a usage error, as a bad channel config is).
Result<Config> load_checked_config(const std::string& path, const std::string& exe_dir);
Status check_hooks(const Config& cfg, const std::string& exe_dir);

// Runs until SIGTERM/SIGINT; returns ok after stopping every child.
Status run_supervisor(const SupervisorParams& params);

// --dry-run: the shell script for the config.
Status print_dry_run(const SupervisorParams& params);

// `sigma-supervisor status`: fetches /status and prints the table (or the
// JSON with json = true).
Status print_status(const SupervisorParams& params, bool json);

// The running state of one stage.
struct StageRuntime {
  StageSpec spec;
  std::unique_ptr<StageSpec> pending;  // replaces spec once down (reload)
  bool remove_when_down = false;
  bool reload_pending = false;  // SIGHUP once ready (see request_reload)
  StageState state = StageState::kDown;
  RestartTracker tracker;
  pid_t pid = -1;
  int ready_rd = -1;
  int events_rd = -1;
  std::string events_buf;
  // stdin_events: the write end of the stage's stdin (non-blocking), and
  // what became of the events meant for it.
  int stdin_wr = -1;
  int64_t forwarded = 0;
  int64_t dropped = 0;      // the pipe was full
  int64_t while_down = 0;   // no process to take them (its start indexes them)
  int64_t timer_at = 0;  // monotonic ms; 0 = none
  int64_t spawned_at = 0;
  int spawns = 0;
  std::string last_exit;
  std::string failure;
};

struct ChannelRuntime {
  ChannelPlan plan;
  std::map<std::string, int> fifo_fds;  // held read-write
  bool up = false;
  std::string events_path;
  std::unique_ptr<EventWriter> events;  // this channel's own file, if any
  int64_t last_segment_unix_ms = -1;
  // (unix ms, bytes) of recent segments, for a bitrate.
  std::vector<std::pair<int64_t, int64_t>> recent_bytes;
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorParams p) : params_(std::move(p)) {}
  ~Supervisor();
  Status start();
  Status loop();

 private:
  Status apply(const Config& cfg);
  Status open_channel(ChannelRuntime& ch);
  void close_channel(ChannelRuntime& ch);
  void reload();
  void request_reload(StageRuntime& s);
  void dispatch(StageRuntime& s, StageEvent ev);
  void perform(StageRuntime& s, StageAction a);
  void spawn(StageRuntime& s);
  void on_reaped(pid_t pid, int wstatus);
  void drain_ready(StageRuntime& s);
  void drain_events(StageRuntime& s, bool final);
  void close_stage_fds(StageRuntime& s);
  void update_channel(const std::string& name);
  void sweep();
  void emit(const std::string& type, const std::string& channel, nlohmann::json fields);
  void handle_signals();
  void begin_stop();
  void on_stage_event(StageRuntime& s, const std::string& line);
  // To every stage of the channel that reads events on its stdin (dvr,
  // thumb), but the one the event came from.
  void forward_to_stdin_stages(ChannelRuntime& ch, const StageRuntime& from, const nlohmann::json& event);
  ChannelRuntime* channel_of(const StageRuntime& s);
  nlohmann::json status_json() const;
  std::vector<std::string> unhealthy_reasons() const;
  // supervisor_alerts.cpp: the alert conditions, every half second.
  void check_alerts();
  void note_event(const std::string& type, const std::string& channel, const nlohmann::json& event, bool from_stage);
  nlohmann::json alerts_json() const;
  // Critical open alerts make the supervisor unhealthy (reasons); warnings
  // are listed beside the verdict without changing it.
  std::vector<std::string> alert_reasons(bool critical) const;
  HttpReply serve(const std::string& path) const;
  // supervisor_api.cpp: the control API. Its calls run here, on the
  // engine's thread, between two polls.
  Status start_api();
  void run_api_calls();
  api::ApiReply api_call(const api::Call& c);
  // Writes (or with nullopt removes) an API channel's file after checking
  // the whole config as it would be, then applies it as a reload would.
  api::ApiReply api_change_channel_file(const api::Call& c, const std::optional<std::string>& text, int ok_status,
                                        const std::string& event);
  nlohmann::json channel_api_json(const ChannelConfig& cc, const nlohmann::json& status) const;
  void api_publish(const std::string& type, const std::string& channel, const nlohmann::json& fields);

  SupervisorParams params_;
  Config cfg_;
  int sig_fd_ = -1;
  bool stopping_ = false;
  int64_t started_at_ = 0;
  std::unique_ptr<EventWriter> events_ = std::make_unique<EventWriter>();
  std::string events_path_;
  HealthServer health_;
  // Stages by id ("ingest", "demo/package"); channels by name.
  std::map<std::string, std::unique_ptr<StageRuntime>> stages_;
  std::map<std::string, ChannelRuntime> channels_;
  std::map<pid_t, std::string> pids_;
  AlertWatch alerts_{[this](const std::string& type, const std::string& channel, nlohmann::json fields) {
    emit(type, channel, std::move(fields));
  }};
  int64_t next_alert_check_ = 0;
  // Declared last: the server (and its thread) goes first.
  ApiQueue api_queue_;
  api::ApiServer api_{api_queue_};
};

}  // namespace sigma::supervisor
