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
  KeyframeSchedule s(2 * 90000);
  std::vector<int64_t> keys;
  for (int64_t i = 0; i < 200; ++i) {
    int64_t pts = 126000 + i * kFrame;
    if (s.next(pts).keyframe) keys.push_back(pts);
  }
  ASSERT_EQ(keys.size(), 4u);
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(keys[i], 126000 + int64_t(i) * 180000);
}

TEST(KeyframeSchedule, IrregularFramesGetTheFirstFrameAtOrAfterTheBoundary) {
  KeyframeSchedule s(90000);
  EXPECT_TRUE(s.next(0).keyframe);
  EXPECT_FALSE(s.next(89000).keyframe);
  EXPECT_TRUE(s.next(95000).keyframe);   // the boundary at 90000 fell between frames
  EXPECT_FALSE(s.next(179999).keyframe);
  EXPECT_TRUE(s.next(400000).keyframe);  // a gap skips boundaries: one keyframe
  EXPECT_FALSE(s.next(410000).keyframe);
}

TEST(KeyframeSchedule, HalfRateKeepsEveryKeyframe) {
  KeyframeSchedule s(10 * kFrame);
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

TEST(LagMonitor, QuietWhenKeepingUp) {
  LagMonitor m(1.0);
  int64_t now = 0;
  m.check(now);
  for (int i = 1; i <= 100; ++i) {
    // 1 s of media per second of wall time, half of it spent waiting.
    m.media_at(i * 90000, false);
    m.waited_ms(500);
    now += 1000;
    EXPECT_FALSE(m.check(now).has_value()) << i;
  }
}

TEST(LagMonitor, ReportsWhenWorkOutrunsMedia) {
  LagMonitor m(2.0);
  int64_t now = 0;
  m.check(now);
  int reports = 0;
  for (int i = 1; i <= 10; ++i) {
    // 0.5 s of media per second of busy time: 0.5 s more behind each second.
    m.media_at(i * 45000, false);
    now += 1000;
    if (auto lag = m.check(now)) {
      ++reports;
      EXPECT_GT(*lag, 2.0);
    }
  }
  EXPECT_EQ(reports, 2);  // at 2.5 s, then counting again from zero
}

TEST(LagMonitor, DisabledNeverReports) {
  LagMonitor m(0);
  EXPECT_FALSE(m.check(0).has_value());
  EXPECT_FALSE(m.check(100000).has_value());
}

}  // namespace
}  // namespace sigma::transcode
