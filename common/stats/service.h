#pragma once
// The commands of sigma-stats(1): run (follow the access log into the
// state, serve /metrics, write the status file) and top (a live view).
// report is in stats/report.h.
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sigma::stats {

struct RunParams {
  std::string log, state, root, metrics, status_file, session_timeout;
  std::string events;  // EventWriter target
  int ready_fd = -1;
  int64_t status_every_ms = 2000;
};
Status run_stats(RunParams& p);

struct TopParams {
  std::string state, status_file;
  double interval_s = 1.0;
  bool once = false;
};
Status run_top(const TopParams& p);

// 3 target durations of a channel, from the first media playlist found
// under root/channel (EXT-X-TARGETDURATION); 0 when none can be read.
int64_t timeout_from_root(const std::string& root, const std::string& channel);

}  // namespace sigma::stats
