// sigma-supervisor: runs the channels of a config file, restarts failed
// stages, reports health. See sigma-supervisor(1) and sigma-supervisor(5).
#include <unistd.h>

#include <climits>
#include <string>

#include "base/cli.h"
#include "supervisor/supervisor.h"

namespace {
std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sigma-supervisor: runs the channels of a config file, restarts failed stages, reports health. "
               "See sigma-supervisor(1) and sigma-supervisor(5)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  sigma::supervisor::SupervisorParams p;
  p.config_path = "/etc/sigma/supervisor.conf";
  bool dry_run = false, json = false;
  app.add_option("-c,--config", p.config_path, "channel config (sigma-supervisor(5))")->capture_default_str();
  app.add_flag("-n,--dry-run", dry_run, "print the FIFOs and processes as shell commands, start nothing");
  app.add_option("--health", p.health, "/healthz, /status and /metrics HTTP address HOST:PORT or off (overrides the config)");
  auto* status = app.add_subcommand("status", "print the running supervisor's stages as a table");
  status->add_flag("--json", json, "print the /status JSON instead");
  // -c and --health belong to the main command but may follow "status", as
  // the man page's synopsis writes them.
  status->fallthrough();
  p.exe_dir = exe_dir();
  return sigma::run_main(app, argc, argv, "sigma-supervisor", common, [&]() -> sigma::Status {
    p.events = common.events;
    p.ready_fd = common.ready_fd;
    if (status->parsed()) return sigma::supervisor::print_status(p, json);
    if (dry_run) return sigma::supervisor::print_dry_run(p);
    return sigma::supervisor::run_supervisor(p);
  });
}
