// The --channels file: --hls-channel specs a line, plus record=, re-read
// on SIGHUP. What a reload compares (describe, record_dir) is checked here.
#include <gtest/gtest.h>

#include "ingest/hls_config.h"

namespace sigma::ingest {
namespace {

HlsConfig cli(const std::vector<std::string>& specs = {}) {
  auto c = HlsConfig::make("", specs, package::PackageParams{});
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return *c;
}

TEST(ChannelsFile, LinesAddChannelsToTheCommandLines) {
  auto c = cli({"cli=/hand"}).with_file("# routes\n\n  a=/o/a,mode=low,window=5  \n"
                                        "b,record=/rec # MPEG-TS, recorded\nc=/o/c,record=/rec2\n",
                                        "ch.conf");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  ASSERT_TRUE(c->for_channel("cli"));
  auto a = c->for_channel("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->out_dir, "/o/a");
  EXPECT_EQ(a->mode, "low");
  EXPECT_EQ(a->window, 5);
  EXPECT_FALSE(c->for_channel("b"));
  EXPECT_EQ(c->record_dir("b", "/global"), "/rec");
  EXPECT_EQ(c->record_dir("c", ""), "/rec2");
  EXPECT_EQ(c->record_dir("a", "/global"), "/global");
  EXPECT_EQ(c->record_dir("a", ""), "");
  EXPECT_EQ(c->describe("b"), "ts");
  EXPECT_EQ(c->describe("nobody"), "ts");
}

TEST(ChannelsFile, DescribeChangesWithTheOutputOnly) {
  auto one = cli().with_file("a=/o/a,mode=low\n", "f");
  auto same = cli().with_file("a=/o/a,mode=low,record=/r\n", "f");
  auto other = cli().with_file("a=/o/a,mode=ultra-low\n", "f");
  ASSERT_TRUE(one.is_ok() && same.is_ok() && other.is_ok());
  EXPECT_EQ(one->describe("a"), same->describe("a"));
  EXPECT_NE(one->describe("a"), other->describe("a"));
  EXPECT_NE(one->record_dir("a", ""), same->record_dir("a", ""));
}

// keep: the packager keeps what leaves the window (sigma-supervisor's
// archive); turning it on or off is an output change.
TEST(ChannelsFile, KeepIsAnOutputSetting) {
  auto plain = cli().with_file("a=/o/a,mode=low\n", "f");
  auto kept = cli().with_file("a=/o/a,mode=low,keep\nb=/o/b,keep=no\n", "f");
  ASSERT_TRUE(plain.is_ok() && kept.is_ok());
  EXPECT_FALSE(plain->for_channel("a")->keep);
  EXPECT_TRUE(kept->for_channel("a")->keep);
  EXPECT_FALSE(kept->for_channel("b")->keep);
  EXPECT_NE(plain->describe("a"), kept->describe("a"));
  EXPECT_FALSE(cli().with_file("a=/o/a,keep=maybe\n", "f").is_ok());
}

TEST(ChannelsFile, BadLinesNameTheFileAndLine) {
  for (const char* bad : {"a=/x,mode=fast\n", "ok=/x\n../a=/x\n", "a,mode=low\n", "a,record=\n", "a=/x\na=/y\n",
                          "cli=/again\n", "a=/x,colour=red\n"}) {
    auto c = cli({"cli=/hand"}).with_file(bad, "ch.conf");
    ASSERT_FALSE(c.is_ok()) << bad;
    EXPECT_EQ(c.status().code(), ExitCode::kUsage) << bad;
    EXPECT_NE(c.status().message().find("ch.conf:"), std::string::npos) << c.status().message();
  }
  auto second = cli().with_file("ok=/x\n../a=/x\n", "ch.conf");
  EXPECT_NE(second.status().message().find("ch.conf:2"), std::string::npos) << second.status().message();
  // The command line still wants a directory.
  EXPECT_FALSE(HlsConfig::make("", {"a,record=/r"}, package::PackageParams{}).is_ok());
}

}  // namespace
}  // namespace sigma::ingest
