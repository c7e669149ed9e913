#pragma once
// The commands of sigma-hook(1): run, status, replay, check.
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::hook {

struct RunParams {
  std::string config, state;
  std::vector<std::string> events_in;  // files (followed), "-", "fd:N"
  std::string events;                  // alert events out (EventWriter target)
  int ready_fd = -1;
};
Status run_hook(RunParams& p);

struct StatusParams {
  std::string config, state;
  bool json = false;
};
Status run_status(const StatusParams& p);

struct ReplayParams {
  std::string config, state, since, until, subscription;
  std::vector<std::string> events_in;
};
Status run_replay(const ReplayParams& p);

Status run_check(const std::string& config);

// The delay before retry number `attempt` (1 for the first retry):
// initial * 2^(attempt-1), capped, with jitter in [delay/2, delay].
int64_t backoff_ms(int64_t attempt, int64_t initial_ms, int64_t max_ms, uint64_t random);

}  // namespace sigma::hook
