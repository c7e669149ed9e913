#include <gtest/gtest.h>

#include "supervisor/stage_state.h"

using namespace sigma::supervisor;
using S = StageState;
using E = StageEvent;
using A = StageAction;

TEST(StageTable, NormalLife) {
  EXPECT_EQ(transition(S::kDown, E::kStart).next, S::kStarting);
  EXPECT_EQ(transition(S::kDown, E::kStart).action, A::kSpawn);
  EXPECT_EQ(transition(S::kStarting, E::kReady).next, S::kUp);
  EXPECT_EQ(transition(S::kStarting, E::kReady).action, A::kArmStable);
  EXPECT_EQ(transition(S::kUp, E::kTimer).action, A::kResetBackoff);
  EXPECT_EQ(transition(S::kUp, E::kExit).next, S::kBackoff);
  EXPECT_EQ(transition(S::kUp, E::kExit).action, A::kScheduleRespawn);
  EXPECT_EQ(transition(S::kBackoff, E::kTimer).next, S::kStarting);
  EXPECT_EQ(transition(S::kBackoff, E::kTimer).action, A::kSpawn);
}

TEST(StageTable, PermanentFailureNeedsAnExplicitStart) {
  EXPECT_EQ(transition(S::kUp, E::kExitPermanent).next, S::kFailed);
  EXPECT_EQ(transition(S::kStarting, E::kExitPermanent).action, A::kAlert);
  for (E e : {E::kReady, E::kExit, E::kExitPermanent, E::kTimer}) {
    EXPECT_EQ(transition(S::kFailed, e).next, S::kFailed) << to_string(e);
    EXPECT_EQ(transition(S::kFailed, e).action, A::kNone) << to_string(e);
  }
  EXPECT_EQ(transition(S::kFailed, E::kStart).action, A::kSpawn);
}

TEST(StageTable, StoppingTermsThenKills) {
  EXPECT_EQ(transition(S::kUp, E::kStop).action, A::kSendTerm);
  EXPECT_EQ(transition(S::kStarting, E::kStop).next, S::kStopping);
  EXPECT_EQ(transition(S::kStopping, E::kTimer).action, A::kSendKill);
  EXPECT_EQ(transition(S::kStopping, E::kExit).next, S::kDown);
  EXPECT_EQ(transition(S::kStopping, E::kExitPermanent).next, S::kDown);
  EXPECT_EQ(transition(S::kBackoff, E::kStop).next, S::kDown);
  EXPECT_EQ(transition(S::kFailed, E::kStop).next, S::kDown);
  // A stopping stage is never respawned, whatever happens.
  for (int e = 0; e < kStageEventCount; ++e)
    EXPECT_NE(transition(S::kStopping, static_cast<E>(e)).action, A::kSpawn);
}

TEST(StageTable, EveryCellIsDefined) {
  for (int s = 0; s < kStageStateCount; ++s)
    for (int e = 0; e < kStageEventCount; ++e) {
      Transition t = transition(static_cast<S>(s), static_cast<E>(e));
      EXPECT_STRNE(to_string(t.next), "?");
      EXPECT_STRNE(to_string(t.action), "?");
    }
}

TEST(ClassifyExit, UsageIsNeverRetried) {
  EXPECT_EQ(classify_exit(true, 100, false), E::kExitPermanent);
  EXPECT_EQ(classify_exit(true, 111, false), E::kExit);
  EXPECT_EQ(classify_exit(true, 0, false), E::kExit);
  EXPECT_EQ(classify_exit(false, 9, false), E::kExit);   // killed by SIGKILL: retry
  EXPECT_EQ(classify_exit(false, 100, false), E::kExit);  // signal 100 is not exit 100
  EXPECT_EQ(classify_exit(true, 1, true), E::kExitPermanent);
}

TEST(RestartTracker, ExponentialBackoffWithCapAndSpacing) {
  RestartPolicy p;
  p.backoff_initial_ms = 1000;
  p.backoff_max_ms = 5000;
  p.min_spawn_interval_ms = 1000;
  p.death_tally = 100;
  RestartTracker t(p);
  EXPECT_EQ(t.backoff_ms(), 0);
  t.on_spawn(0);
  // Died at once: even with no backoff yet the spawn waits 1 s.
  EXPECT_EQ(t.earliest_spawn_at(), 1000);
  std::vector<int64_t> delays;
  for (int i = 0; i < 6; ++i) {
    t.on_death(i * 100);
    delays.push_back(t.backoff_ms());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{1000, 2000, 4000, 5000, 5000, 5000}));
  EXPECT_EQ(t.next_spawn_at(10'000), 15'000);
  t.on_stable();
  EXPECT_EQ(t.backoff_ms(), 0);
  t.on_spawn(20'000);
  EXPECT_EQ(t.next_spawn_at(20'100), 21'000);  // spacing, not backoff
}

TEST(RestartTracker, DeathTallyWindow) {
  RestartPolicy p;
  p.death_tally = 3;
  p.death_window_ms = 10'000;
  RestartTracker t(p);
  EXPECT_FALSE(t.on_death(0));
  EXPECT_FALSE(t.on_death(5'000));
  EXPECT_FALSE(t.on_death(12'000));  // the first one fell out of the window
  EXPECT_TRUE(t.on_death(13'000));
  t.reset();
  EXPECT_EQ(t.deaths_in_window(), 0);
  EXPECT_FALSE(t.on_death(14'000));
}
