// sigma-hook: delivers events as signed webhooks (Standard Webhooks), with
// a durable outbox and retries. See sigma-hook(1) and sigma-hook(5).
#include <string>

#include "base/cli.h"
#include "hook/service.h"

int main(int argc, char** argv) {
  CLI::App app{"sigma-hook: delivers NDJSON events as signed webhooks (Standard Webhooks) or to a command, "
               "durably, with retries. See sigma-hook(1) and sigma-hook(5)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  app.require_subcommand(1);

  sigma::hook::RunParams run;
  auto* run_cmd = app.add_subcommand("run", "follow events files, enqueue matching events, deliver them");
  run_cmd->fallthrough();
  run_cmd->add_option("--config", run.config, "the subscription file (sigma-hook(5))")->required();
  run_cmd->add_option("--state", run.state, "the SQLite state: outbox and read positions (created)")->required();
  run_cmd->add_option("--events-in", run.events_in, "events to deliver: a file (followed, rotation like tail -F), '-' or fd:N; repeatable")
      ->required();

  sigma::hook::StatusParams st;
  auto* status_cmd = app.add_subcommand("status", "per subscription: delivered, pending, retrying, failed, last error");
  status_cmd->add_option("--config", st.config, "the subscription file")->required();
  status_cmd->add_option("--state", st.state, "the state of sigma-hook run")->required();
  status_cmd->add_flag("--json", st.json, "print JSON");

  sigma::hook::ReplayParams rp;
  auto* replay_cmd = app.add_subcommand("replay", "enqueue again the events of a time range from events files");
  replay_cmd->add_option("--config", rp.config, "the subscription file")->required();
  replay_cmd->add_option("--state", rp.state, "the state of sigma-hook run")->required();
  replay_cmd->add_option("--since", rp.since, "from: ISO 8601, Unix seconds, now or -1h")->required();
  replay_cmd->add_option("--until", rp.until, "to (excluded), in the same forms (default: now)");
  replay_cmd->add_option("--subscription", rp.subscription, "only this subscription");
  replay_cmd->add_option("--events-in", rp.events_in, "events files to read (not followed); repeatable")->required();

  std::string check_config;
  auto* check_cmd = app.add_subcommand("check", "validate the subscription file and read its secrets");
  check_cmd->add_option("--config", check_config, "the subscription file")->required();

  return sigma::run_main(app, argc, argv, "sigma-hook", common, [&]() -> sigma::Status {
    if (run_cmd->parsed()) {
      run.events = common.events;
      run.ready_fd = common.ready_fd;
      return sigma::hook::run_hook(run);
    }
    if (status_cmd->parsed()) return sigma::hook::run_status(st);
    if (replay_cmd->parsed()) return sigma::hook::run_replay(rp);
    return sigma::hook::run_check(check_config);
  });
}
