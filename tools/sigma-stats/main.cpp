// sigma-stats: viewer sessions, CCU, views and watch time from the origin's
// access log, in SQLite, with reports and Prometheus metrics. See sigma-stats(1).
#include <string>

#include "base/cli.h"
#include "stats/report.h"
#include "stats/service.h"

int main(int argc, char** argv) {
  CLI::App app{"sigma-stats: concurrent viewers, views and watch time from the origin's access log, "
               "with reports and Prometheus metrics. See sigma-stats(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  app.require_subcommand(1);

  sigma::stats::RunParams run;
  auto* run_cmd = app.add_subcommand("run", "follow the access log into the state; serve /metrics; write the status file");
  run_cmd->fallthrough();
  run_cmd->add_option("--log", run.log, "the access log: a file (followed across rotation), a FIFO, '-' or fd:N")
      ->required();
  run_cmd->add_option("--state", run.state, "the SQLite state (created)")->required();
  run_cmd->add_option("--root", run.root, "the channels' output root: session timeout = 3 target durations");
  run_cmd->add_option("--metrics", run.metrics, "serve Prometheus /metrics on this address (127.0.0.1:9981; off: none)");
  run_cmd->add_option("--status-file", run.status_file, "write viewers per channel here (JSON, atomically) every 2 s");
  run_cmd->add_option("--session-timeout", run.session_timeout, "end a session after this long without a request (30s, 1m)");

  sigma::stats::ReportParams rp;
  auto* report_cmd = app.add_subcommand("report", "views, watch time, CCU, viewers, bytes and requests of a period");
  report_cmd->add_option("--state", rp.state, "the state of sigma-stats run")->required();
  report_cmd->add_option("--channel", rp.channel, "only this channel");
  report_cmd->add_option("--from", rp.from, "from: ISO 8601, Unix seconds, now or -1h (default: the first data)");
  report_cmd->add_option("--to", rp.to, "to (excluded), in the same forms (default: the last data)");
  report_cmd->add_option("--step", rp.step, "also the CCU at every step of the period (10s, 1m)");
  report_cmd->add_flag("--json", rp.json, "print JSON");
  report_cmd->add_flag("--csv", rp.csv, "print CSV");

  sigma::stats::TopParams tp;
  auto* top_cmd = app.add_subcommand("top", "a live view: viewers per channel, refreshed");
  top_cmd->add_option("--state", tp.state, "read the state of sigma-stats run");
  top_cmd->add_option("--status-file", tp.status_file, "read the status file of sigma-stats run");
  top_cmd->add_option("--interval", tp.interval_s, "seconds between refreshes (default 1)");
  top_cmd->add_flag("--once", tp.once, "print one frame and exit");

  return sigma::run_main(app, argc, argv, "sigma-stats", common, [&]() -> sigma::Status {
    if (run_cmd->parsed()) {
      run.events = common.events;
      run.ready_fd = common.ready_fd;
      return sigma::stats::run_stats(run);
    }
    if (report_cmd->parsed()) return sigma::stats::run_report(rp);
    return sigma::stats::run_top(tp);
  });
}
