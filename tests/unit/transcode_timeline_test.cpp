#include <gtest/gtest.h>

#include "transcode/lag_monitor.h"
#include "transcode/timeline.h"

namespace sigma::transcode {
namespace {

constexpr int64_t kFrame = 3000;  // 30 fps in 90 kHz

TEST(Timeline, PassesContinuousTimestampsThrough) {
  Timeline t(10 * 90000);
  for (int64_t i = 0; i < 100; ++i) {
    auto m = t.map(0, 126000 + i * kFrame, kFrame);
    EXPECT_EQ(m.ts, 126000 + i * kFrame);
    EXPECT_FALSE(m.jumped);
  }
}

TEST(Timeline, BackwardJumpContinuesRightAfterTheLastOutput) {
  Timeline t(10 * 90000);
  t.map(0, 900000, kFrame);
  auto m = t.map(0, 126000, kFrame);  // a new file starts again at 1.4 s
  EXPECT_TRUE(m.jumped);
  EXPECT_EQ(m.ts, 900000 + kFrame);
  EXPECT_EQ(t.map(0, 126000 + kFrame, kFrame).ts, 900000 + 2 * kFrame);
}

TEST(Timeline, ForwardJumpBeyondTheGapIsClosed) {
  Timeline t(10 * 90000);
  t.map(0, 0, kFrame);
  EXPECT_FALSE(t.map(0, 5 * 90000, kFrame).jumped);  // 5 s: a real gap, kept
  auto m = t.map(0, 3600 * 90000LL, kFrame);
  EXPECT_TRUE(m.jumped);
  EXPECT_EQ(m.ts, 5 * 90000 + kFrame);
}

TEST(Timeline, OneOffsetKeepsAudioWithVideo) {
  Timeline t(10 * 90000);
  t.map(0, 900000, kFrame);
  t.map(1, 899000, 1920);
  auto v = t.map(0, 126000, kFrame);  // video jumps first
  auto a = t.map(1, 125000, 1920);    // audio follows with the same offset
  EXPECT_TRUE(v.jumped);
  EXPECT_FALSE(a.jumped);
  EXPECT_EQ(v.ts - a.ts, 126000 - 125000);
}

TEST(Timeline, NewSessionAnchorsAfterEverythingEmitted) {
  Timeline t(10 * 90000);
  t.map(0, 900000, kFrame);
  t.map(1, 905000, 1920);
  t.new_session();
  auto m = t.map(0, 900000 + kFrame, kFrame);  // even a continuous-looking one
  EXPECT_TRUE(m.jumped);
  EXPECT_EQ(m.ts, 905000 + kFrame);
}

TEST(KeyframeSchedule, FirstFrameThenEveryIntervalFromIt) {
  KeyframeSchedule s(2 * 90000, false);
  std::vector<int64_t> keys;
  for (int64_t i = 0; i < 200; ++i) {
    int64_t pts = 126000 + i * kFrame;
    if (s.next(pts).keyframe) keys.push_back(pts);
  }
  ASSERT_EQ(keys.size(), 4u);
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(keys[i], 126000 + int64_t(i) * 180000);
}

TEST(KeyframeSchedule, IrregularFramesGetTheFirstFrameAtOrAfterTheBoundary) {
  KeyframeSchedule s(90000, false);
  EXPECT_TRUE(s.next(0).keyframe);
  EXPECT_FALSE(s.next(89000).keyframe);
  EXPECT_TRUE(s.next(95000).keyframe);   // the boundary at 90000 fell between frames
  EXPECT_FALSE(s.next(179999).keyframe);
  EXPECT_TRUE(s.next(400000).keyframe);  // a gap skips boundaries: one keyframe
  EXPECT_FALSE(s.next(410000).keyframe);
}

TEST(KeyframeSchedule, FollowsTheInputsKeyframesAtMostOnePerInterval) {
  KeyframeSchedule s(90000, true, kFrame);
  std::vector<int64_t> keys;
  for (int64_t i = 0; i < 200; ++i) {
    // Input keyframes every 1.5 s (45 frames), plus a scene cut at frame 50.
    bool input_key = i % 45 == 0 || i == 50;
    if (s.next(i * kFrame, input_key).keyframe) keys.push_back(i);
  }
  EXPECT_EQ(keys, (std::vector<int64_t>{0, 45, 90, 135, 180}));
}

TEST(KeyframeSchedule, FollowingTheInputStartsWithAKeyframeAnyway) {
  KeyframeSchedule s(90000, true, kFrame);
  EXPECT_TRUE(s.next(0, false).keyframe);
  EXPECT_FALSE(s.next(kFrame, false).keyframe);
  EXPECT_FALSE(s.next(60000, true).keyframe);  // an input keyframe too soon (a scene cut)
  EXPECT_TRUE(s.next(89000, true).keyframe);   // within half a frame of an interval: taken
  EXPECT_FALSE(s.next(89000 + kFrame, true).keyframe);
  s.restart();  // a new picture size: its first frame is a keyframe
  EXPECT_TRUE(s.next(100000, true).keyframe);
}

TEST(KeyframeSchedule, HalfRateKeepsEveryKeyframe) {
  KeyframeSchedule s(10 * kFrame, false);
  int kept = 0;
  for (int64_t i = 0; i < 100; ++i) {
    auto d = s.next(i * kFrame);
    if (d.keyframe) {
      EXPECT_TRUE(d.keep_at_half_rate) << i;
    }
    kept += d.keep_at_half_rate;
  }
  EXPECT_EQ(kept, 50);
}

using Kind = LagMonitor::Verdict::Kind;

// Feeds one window: media_s of media for busy_s of work (and waits for
// the rest of the second), returns the verdict at its end.
struct LagClock {
  LagMonitor& m;
  int64_t now = 0, media = 0;
  // The monitor's first look at the clock and the media position.
  void begin() {
    m.media_at(0, false);
    m.check(0, false);
  }
  LagMonitor::Verdict second(double media_s, double busy_s, bool shed) {
    media += static_cast<int64_t>(media_s * 90000);
    m.media_at(media, false);
    m.waited_ms(static_cast<int64_t>((1 - busy_s) * 1000));
    now += 1000;
    return m.check(now, shed);
  }
};

TEST(LagMonitor, QuietWhenKeepingUp) {
  LagMonitor m(1.0, 0);
  LagClock c{m};
  c.begin();
  for (int i = 1; i <= 100; ++i) EXPECT_EQ(c.second(1, 0.5, false).kind, Kind::kNone) << i;
}

TEST(LagMonitor, ReportsWhenWorkOutrunsMedia) {
  LagMonitor m(2.0, 0);
  LagClock c{m};
  c.begin();
  int reports = 0;
  for (int i = 1; i <= 10; ++i) {
    // 0.5 s of media per second of busy time: 0.5 s more behind each second.
    auto v = c.second(0.5, 1, false);
    if (v.kind == Kind::kBehind) {
      ++reports;
      EXPECT_GT(v.behind_s, 2.0);
    }
  }
  EXPECT_EQ(reports, 2);  // at 2.5 s, then counting again from zero
}

TEST(LagMonitor, DisabledNeverReports) {
  LagMonitor m(0, 10);
  EXPECT_EQ(m.check(0, true).kind, Kind::kNone);
  EXPECT_EQ(m.check(100000, true).kind, Kind::kNone);
}

// Seconds until the first verdict of this kind, or -1 within limit.
int until(LagClock& c, Kind k, double media_s, double busy_s, bool shed, int limit = 200) {
  for (int i = 1; i <= limit; ++i)
    if (c.second(media_s, busy_s, shed).kind == k) return i;
  return -1;
}

TEST(LagMonitor, CaughtUpAfterHoldingCalmWhileShed) {
  LagMonitor m(1.0, 10);
  LagClock c{m};
  c.begin();
  // Calm, but nothing shed: nothing to bring back.
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, false, 30), -1);
  EXPECT_EQ(until(c, Kind::kBehind, 0.5, 1, false), 3);
  // Shed and calm: caught up after the 10 s hold, then again 10 s later
  // for the next shed rung, not at every check.
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 10);
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 10);
}

TEST(LagMonitor, JitterBelowAQuarterOfMaxLagStillCountsAsCalm) {
  LagMonitor m(2.0, 5);
  LagClock c{m};
  c.begin();
  // 0.3 s over on every other second, paid back the next: never above 0.5 s.
  int first = -1;
  for (int i = 1; i <= 20 && first < 0; ++i) {
    bool odd = i % 2;
    if (c.second(odd ? 0.7 : 1.3, odd ? 1.0 : 0.7, true).kind == Kind::kCaughtUp) first = i;
  }
  EXPECT_EQ(first, 5);
}

TEST(LagMonitor, AnUnaffordableRungWaitsLongerEachTimeItFlaps) {
  LagMonitor m(1.0, 10);
  LagClock c{m};
  c.begin();
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 10);
  EXPECT_EQ(m.recover_after_ms(), 10000);
  // The rung came back and the machine falls behind again at once.
  EXPECT_EQ(until(c, Kind::kBehind, 0.5, 1, false), 3);
  EXPECT_EQ(m.recover_after_ms(), 20000);
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 20);
  EXPECT_EQ(until(c, Kind::kBehind, 0.5, 1, false), 3);
  EXPECT_EQ(m.recover_after_ms(), 40000);
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 40);
  EXPECT_EQ(until(c, Kind::kBehind, 0.5, 1, false), 3);
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 80);
  EXPECT_EQ(until(c, Kind::kBehind, 0.5, 1, false), 3);
  EXPECT_EQ(m.recover_after_ms(), 80000);  // capped at 8x
  // This time it holds: after four waits the base comes back.
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, true), 80);
  EXPECT_EQ(until(c, Kind::kCaughtUp, 1, 0.3, false, 400), -1);
  EXPECT_EQ(m.recover_after_ms(), 10000);
}

}  // namespace
}  // namespace sigma::transcode
