#pragma once
// The life of one supervised stage as an explicit state x event table, in
// the manner of s6-supervise: the table says where an event leads and what
// to do; the restart arithmetic (backoff, death tally) is computed beside
// it. Pure: no system calls, time passed in, so it is unit-tested whole.
#include <cstdint>
#include <deque>
#include <string>

#include "supervisor/config.h"

namespace sigma::supervisor {

enum class StageState {
  kDown,      // not running, not wanted (never started, or stopped)
  kStarting,  // spawned, readiness not yet signalled
  kUp,        // ready
  kBackoff,   // died; waiting to respawn
  kStopping,  // SIGTERM sent, waiting for the exit (SIGKILL at the deadline)
  kFailed,    // permanent: usage exit or death tally; needs SIGHUP or a config change
};
inline constexpr int kStageStateCount = 6;

enum class StageEvent {
  kStart,          // wanted up (startup, reload)
  kReady,          // a newline on the ready fd
  kExit,           // died, retryable
  kExitPermanent,  // died with 100, or the death tally is full, or exec failed
  kTimer,          // the stage's single deadline passed
  kStop,           // wanted down (SIGTERM, channel removed or changed)
};
inline constexpr int kStageEventCount = 6;

enum class StageAction {
  kNone,
  kSpawn,         // fork/exec now
  kScheduleRespawn,  // arm the timer at next_spawn_at()
  kArmStable,     // arm the timer at ready time + stable_after
  kResetBackoff,  // stable long enough: forget consecutive deaths
  kSendTerm,      // SIGTERM the process group, arm the grace timer
  kSendKill,      // SIGKILL the process group
  kAlert,         // permanent failure: alert event
  kCancelTimer,
};

struct Transition {
  StageState next;
  StageAction action;
};

// The table itself. Events that make no sense in a state leave it as is.
Transition transition(StageState s, StageEvent e);

const char* to_string(StageState s);
const char* to_string(StageEvent e);
const char* to_string(StageAction a);

// Restart bookkeeping of one stage.
class RestartTracker {
 public:
  explicit RestartTracker(RestartPolicy p = {}) : policy_(p) {}
  void set_policy(const RestartPolicy& p) { policy_ = p; }
  const RestartPolicy& policy() const { return policy_; }

  void on_spawn(int64_t now_ms) { last_spawn_ms_ = now_ms; }
  // Records a death; returns true when the death tally is now full.
  bool on_death(int64_t now_ms);
  void on_stable() { consecutive_ = 0; }
  // A fresh start (reload, manual retry): forget deaths.
  void reset();

  // When the next spawn may happen: the backoff for this many consecutive
  // deaths, and never closer than min_spawn_interval to the last spawn.
  int64_t next_spawn_at(int64_t now_ms) const;
  int64_t backoff_ms() const;
  // The spacing rule alone: last spawn + min_spawn_interval.
  int64_t earliest_spawn_at() const;
  int consecutive_deaths() const { return consecutive_; }
  int deaths_in_window() const { return static_cast<int>(deaths_.size()); }

 private:
  RestartPolicy policy_;
  int64_t last_spawn_ms_ = -1;
  int consecutive_ = 0;
  std::deque<int64_t> deaths_;
};

// Exit status -> event: 100 is never retried; a full tally stops retries.
StageEvent classify_exit(bool exited, int code, bool tally_full);

}  // namespace sigma::supervisor
