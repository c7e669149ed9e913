#include <gtest/gtest.h>

#include "transcode/ladder.h"

namespace sigma::transcode {
namespace {

std::vector<Rung> resolve(const std::string& ladder, int w, int h, int half_below = 0,
                          LatencyMode mode = LatencyMode::kNormal) {
  auto specs = parse_ladder(ladder);
  EXPECT_TRUE(specs.is_ok()) << specs.status().message();
  ResolveOptions o;
  o.src_width = w;
  o.src_height = h;
  o.half_fps_at_or_below = half_below;
  o.mode = mode;
  auto r = resolve_ladder(*specs, o);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : std::vector<Rung>{};
}

std::string labels(const std::vector<Rung>& rungs) {
  std::string s;
  for (const auto& r : rungs) s += (s.empty() ? "" : ",") + std::to_string(r.width) + "x" + std::to_string(r.height);
  return s;
}

TEST(Ladder, ParsesRatesAndOptions) {
  auto l = parse_ladder("1280x720@3000k:maxrate=3.5M:bufsize=6000k,x360@800k:fps=half,source");
  ASSERT_TRUE(l.is_ok()) << l.status().message();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].bitrate, 3000000);
  EXPECT_EQ((*l)[0].maxrate, 3500000);
  EXPECT_EQ((*l)[0].bufsize, 6000000);
  EXPECT_EQ((*l)[1].width, 0);
  EXPECT_EQ((*l)[1].height, 360);
  EXPECT_TRUE((*l)[1].half_fps);
  EXPECT_TRUE((*l)[2].source);
}

TEST(Ladder, StandardRungsByName) {
  auto l = parse_ladder("720p,360p:fps=half");
  ASSERT_TRUE(l.is_ok()) << l.status().message();
  EXPECT_EQ((*l)[0].width, 1280);
  EXPECT_EQ((*l)[0].bitrate, 3000000);
  EXPECT_EQ((*l)[1].height, 360);
  EXPECT_TRUE((*l)[1].half_fps);
}

TEST(Ladder, RejectsWithAClearReason) {
  struct Case { const char* text; const char* says; };
  for (auto c : {Case{"1280x720", "expected WxH@BITRATE"}, Case{"1280x720@fast", "bad rate"},
                 Case{"1280x@3000k", "height is required"}, Case{"1280x720@3000k:foo=1", "unknown option"},
                 Case{"1280x720@3000k,,640x360@800k", "empty rung"}, Case{"999p", "no standard rung"},
                 Case{"640x360@800k:maxrate=500k", "maxrate below bitrate"}, Case{"8x8@100k", "bad dimension"}}) {
    auto l = parse_ladder(c.text);
    ASSERT_FALSE(l.is_ok()) << c.text;
    EXPECT_EQ(l.status().code(), ExitCode::kUsage);
    EXPECT_NE(l.status().message().find(c.says), std::string::npos) << c.text << ": " << l.status().message();
  }
}

TEST(Ladder, Presets) {
  EXPECT_EQ(preset_ladder("1080p")->size(), 5u);
  EXPECT_EQ(preset_ladder("720p")->front().height, 720);
  EXPECT_TRUE(preset_ladder("source+720p")->front().source);
  EXPECT_EQ(preset_ladder("4k").status().code(), ExitCode::kUsage);
}

TEST(Ladder, NeverUpscalesAndSortsLargestFirst) {
  EXPECT_EQ(labels(resolve("640x360@800k,1920x1080@6000k,1280x720@3000k", 1280, 720)), "1280x720,640x360");
}

TEST(Ladder, KeepsTheSourceAspectInsideTheBox) {
  // 4:3 source in 16:9 boxes: height rules, width follows.
  EXPECT_EQ(labels(resolve("1280x720@3000k,640x360@800k", 1440, 1080)), "960x720,480x360");
  // Ultra-wide source: the box width rules.
  EXPECT_EQ(labels(resolve("1280x720@3000k", 2560, 1080)), "1280x540");
  // Anamorphic: 720x576 with 16:11 pixels displays as 1048x576.
  auto specs = parse_ladder("x576@2000k");
  ResolveOptions o{720, 576, 16, 11, 0, LatencyMode::kNormal};
  auto r = resolve_ladder(*specs, o);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(labels(*r), "1048x576");
}

TEST(Ladder, EvenDimensions) {
  for (const auto& r : resolve("x201@200k,x333@300k,x479@400k", 1920, 1080)) {
    EXPECT_EQ(r.width % 2, 0) << r.label();
    EXPECT_EQ(r.height % 2, 0) << r.label();
  }
}

TEST(Ladder, AllTooLargeKeepsTheSmallestAtSourceSize) {
  EXPECT_EQ(labels(resolve("1920x1080@6000k,1280x720@3000k", 480, 270)), "480x270");
}

TEST(Ladder, MergesDuplicateSizes) {
  EXPECT_EQ(labels(resolve("640x360@800k,640x480@900k", 1280, 720)), "640x360");
}

TEST(Ladder, RateDefaultsFollowTheMode) {
  auto n = resolve("640x360@800k", 1280, 720);
  EXPECT_EQ(n[0].maxrate, 880000);
  EXPECT_EQ(n[0].bufsize, 1600000);
  auto u = resolve("640x360@800k", 1280, 720, 0, LatencyMode::kUltraLow);
  EXPECT_EQ(u[0].bufsize, 800000);
}

TEST(Ladder, HalfRateBelowAHeight) {
  auto r = resolve("1280x720@3000k,640x360@800k,426x240@400k", 1920, 1080, 360);
  EXPECT_FALSE(r[0].half_fps);
  EXPECT_TRUE(r[1].half_fps);
  EXPECT_TRUE(r[2].half_fps);
}

TEST(Ladder, SourceRungLeads) {
  auto r = resolve("640x360@800k,source", 1920, 1080);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].source);
  EXPECT_EQ(r[0].width, 1920);
}

TEST(Ladder, ModesAndKeyframeIntervals) {
  EXPECT_EQ(*parse_mode("ultra-low"), LatencyMode::kUltraLow);
  EXPECT_EQ(default_keyframe_interval(LatencyMode::kUltraLow), 1.0);
  EXPECT_EQ(default_keyframe_interval(LatencyMode::kNormal), 2.0);
  // sigma-package cuts 1 s segments in low mode: 2 s keyframes cannot divide them.
  EXPECT_EQ(default_keyframe_interval(LatencyMode::kLow), 1.0);
  EXPECT_EQ(parse_mode("fast").status().code(), ExitCode::kUsage);
}

std::vector<std::pair<int, int>> refit(const std::vector<Rung>& rungs, int w, int h, int sar_num = 1, int sar_den = 1) {
  ResolveOptions o;
  o.src_width = w;
  o.src_height = h;
  o.sar_num = sar_num;
  o.sar_den = sar_den;
  std::vector<std::pair<int, int>> out;
  for (const auto& r : rungs) {
    Rung n = refit_rung(r, o);
    EXPECT_EQ(n.bitrate, r.bitrate);
    out.emplace_back(n.width, n.height);
  }
  return out;
}

using Sizes = std::vector<std::pair<int, int>>;

TEST(Ladder, RefitToASmallerSourceNeverUpscales) {
  auto r = resolve("1280x720@3000k,854x480@1500k,640x360@800k", 1280, 720);
  ASSERT_EQ(r.size(), 3u);
  // The streams stay; rungs above the new source are encoded at its size.
  EXPECT_EQ(refit(r, 640, 360), (Sizes{{640, 360}, {640, 360}, {640, 360}}));
  EXPECT_EQ(refit(r, 854, 480), (Sizes{{854, 480}, {854, 480}, {640, 360}}));
  // And back to the full sizes when the source grows again.
  EXPECT_EQ(refit(r, 1920, 1080), (Sizes{{1280, 720}, {854, 480}, {640, 360}}));
}

TEST(Ladder, RefitToALargerSourceStaysInsideTheBox) {
  auto r = resolve("x360@800k,x180@250k", 640, 360);
  EXPECT_EQ(refit(r, 1280, 720), (Sizes{{640, 360}, {320, 180}}));
}

TEST(Ladder, RefitFollowsANewAspect) {
  auto r = resolve("x480@1500k,x240@400k", 1280, 720);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].width, 854);
  EXPECT_EQ(refit(r, 1440, 1080), (Sizes{{640, 480}, {320, 240}}));
  // Anamorphic 720x576 at 16:11 SAR displays at 1047x576.
  EXPECT_EQ(refit(r, 720, 576, 16, 11), (Sizes{{872, 480}, {436, 240}}));
}

}  // namespace
}  // namespace sigma::transcode
