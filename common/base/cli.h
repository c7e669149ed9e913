#pragma once
// What every tool's main() shares: --version, --log-level, --ready-fd,
// --events; parse errors -> exit 100; Status -> exit code; a stop handler.
//
//   int main(int argc, char** argv) {
//     CLI::App app{"sigma-x: does x. See sigma-x(1)."};
//     sigma::CommonOptions common;
//     sigma::add_common_options(app, common);
//     XParams p; app.add_option(...);
//     return sigma::run_main(app, argc, argv, "sigma-x", common, [&] { return run_x(p, common); });
//   }
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma {

struct CommonOptions {
  std::string log_level = "info";
  int ready_fd = -1;   // s6 convention: one '\n' written when serving
  std::string events;  // NDJSON target: path, "-" or "fd:N"
};

void add_common_options(CLI::App& app, CommonOptions& opts, bool with_events = true);

int run_main(CLI::App& app, int argc, char** argv, std::string_view tool, CommonOptions& opts,
             const std::function<Status()>& body);

// Writes one newline to fd and closes it; no-op for fd < 0.
void notify_ready(int& fd);

}  // namespace sigma
