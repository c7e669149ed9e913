#include "base/cli.h"

#include <unistd.h>

#include <cstdio>
#include <exception>

#include "base/events.h"
#include "base/log.h"
#include "base/signals.h"
#include "sigma/version.h"

namespace sigma {

void add_common_options(CLI::App& app, CommonOptions& opts, bool with_events) {
  app.set_version_flag("--version", std::string(SIGMA_VERSION));
  app.add_option("--log-level", opts.log_level, "trace|debug|info|warn|error|off (logs go to stderr)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--ready-fd", opts.ready_fd, "write one newline to this fd when ready");
  if (with_events)
    app.add_option("--events", opts.events, "append NDJSON events to this file, '-' (stderr) or fd:N");
}

int run_main(CLI::App& app, int argc, char** argv, std::string_view tool, CommonOptions& opts,
             const std::function<Status()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help' or man %s.\n", std::string(tool).c_str(), e.what(),
                 std::string(tool).c_str(), std::string(tool).c_str());
    return to_int(ExitCode::kUsage);
  }
  init_logging(tool, opts.log_level);
  set_event_tool(tool);
  install_stop_handlers();
  Status st;
  try {
    st = body();
  } catch (const std::exception& e) {
    st = internal_error(std::string("unexpected exception: ") + e.what());
  }
  if (!st.is_ok()) {
    spdlog::error("{}", st.message());
    spdlog::default_logger()->flush();
    return to_int(st.code());
  }
  return 0;
}

void notify_ready(int& fd) {
  if (fd < 0) return;
  [[maybe_unused]] auto n = ::write(fd, "\n", 1);
  ::close(fd);
  fd = -1;
}

}  // namespace sigma
