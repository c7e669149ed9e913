#include "supervisor/stage_state.h"

#include <algorithm>

#include "base/exit_codes.h"

namespace sigma::supervisor {
namespace {

using S = StageState;
using A = StageAction;
constexpr Transition T(S s, A a) { return {s, a}; }

// Rows: state; columns: kStart, kReady, kExit, kExitPermanent, kTimer, kStop.
// What a cell means in words:
//  - down/failed + start: spawn now (the 1 s spacing is the caller's
//    next_spawn_at; a failed stage restarts only on an explicit start).
//  - starting + ready: up, and arm the timer that will reset the backoff.
//    starting + timer: the same for a stage that cannot notify (only such
//    a stage has a timer armed while starting): alive long enough is ready.
//  - starting/up + exit: wait out the backoff; + permanent exit: failed.
//  - up + timer: it has been stable, forget the consecutive deaths.
//  - backoff + timer: respawn; + stop: just stay down.
//  - stopping + timer: the grace period is over, SIGKILL.
constexpr Transition kTable[kStageStateCount][kStageEventCount] = {
    /* down */ {T(S::kStarting, A::kSpawn), T(S::kDown, A::kNone), T(S::kDown, A::kNone),
                T(S::kDown, A::kNone), T(S::kDown, A::kNone), T(S::kDown, A::kNone)},
    /* starting */ {T(S::kStarting, A::kNone), T(S::kUp, A::kArmStable), T(S::kBackoff, A::kScheduleRespawn),
                    T(S::kFailed, A::kAlert), T(S::kUp, A::kArmStable), T(S::kStopping, A::kSendTerm)},
    /* up */ {T(S::kUp, A::kNone), T(S::kUp, A::kNone), T(S::kBackoff, A::kScheduleRespawn),
              T(S::kFailed, A::kAlert), T(S::kUp, A::kResetBackoff), T(S::kStopping, A::kSendTerm)},
    /* backoff */ {T(S::kBackoff, A::kNone), T(S::kBackoff, A::kNone), T(S::kBackoff, A::kNone),
                   T(S::kBackoff, A::kNone), T(S::kStarting, A::kSpawn), T(S::kDown, A::kCancelTimer)},
    /* stopping */ {T(S::kStopping, A::kNone), T(S::kStopping, A::kNone), T(S::kDown, A::kCancelTimer),
                    T(S::kDown, A::kCancelTimer), T(S::kStopping, A::kSendKill), T(S::kStopping, A::kNone)},
    /* failed */ {T(S::kStarting, A::kSpawn), T(S::kFailed, A::kNone), T(S::kFailed, A::kNone),
                  T(S::kFailed, A::kNone), T(S::kFailed, A::kNone), T(S::kDown, A::kNone)},
};

}  // namespace

Transition transition(StageState s, StageEvent e) {
  return kTable[static_cast<int>(s)][static_cast<int>(e)];
}

const char* to_string(StageState s) {
  switch (s) {
    case S::kDown: return "down";
    case S::kStarting: return "starting";
    case S::kUp: return "up";
    case S::kBackoff: return "backoff";
    case S::kStopping: return "stopping";
    case S::kFailed: return "failed";
  }
  return "?";
}

const char* to_string(StageEvent e) {
  switch (e) {
    case StageEvent::kStart: return "start";
    case StageEvent::kReady: return "ready";
    case StageEvent::kExit: return "exit";
    case StageEvent::kExitPermanent: return "exit-permanent";
    case StageEvent::kTimer: return "timer";
    case StageEvent::kStop: return "stop";
  }
  return "?";
}

const char* to_string(StageAction a) {
  switch (a) {
    case A::kNone: return "none";
    case A::kSpawn: return "spawn";
    case A::kScheduleRespawn: return "schedule-respawn";
    case A::kArmStable: return "arm-stable";
    case A::kResetBackoff: return "reset-backoff";
    case A::kSendTerm: return "send-term";
    case A::kSendKill: return "send-kill";
    case A::kAlert: return "alert";
    case A::kCancelTimer: return "cancel-timer";
  }
  return "?";
}

bool RestartTracker::on_death(int64_t now_ms) {
  ++consecutive_;
  deaths_.push_back(now_ms);
  while (!deaths_.empty() && deaths_.front() <= now_ms - policy_.death_window_ms) deaths_.pop_front();
  // Bounded memory whatever the policy says.
  while (deaths_.size() > static_cast<size_t>(policy_.death_tally)) deaths_.pop_front();
  return static_cast<int>(deaths_.size()) >= policy_.death_tally;
}

void RestartTracker::reset() {
  consecutive_ = 0;
  deaths_.clear();
}

int64_t RestartTracker::backoff_ms() const {
  if (consecutive_ <= 0) return 0;
  int64_t d = policy_.backoff_initial_ms;
  for (int i = 1; i < consecutive_ && d < policy_.backoff_max_ms; ++i) d *= 2;
  return std::min(d, policy_.backoff_max_ms);
}

int64_t RestartTracker::earliest_spawn_at() const {
  return last_spawn_ms_ < 0 ? 0 : last_spawn_ms_ + policy_.min_spawn_interval_ms;
}

int64_t RestartTracker::next_spawn_at(int64_t now_ms) const {
  int64_t at = now_ms + backoff_ms();
  if (last_spawn_ms_ >= 0) at = std::max(at, last_spawn_ms_ + policy_.min_spawn_interval_ms);
  return at;
}

StageEvent classify_exit(bool exited, int code, bool tally_full) {
  if (exited && code == to_int(ExitCode::kUsage)) return StageEvent::kExitPermanent;
  if (tally_full) return StageEvent::kExitPermanent;
  return StageEvent::kExit;
}

}  // namespace sigma::supervisor
