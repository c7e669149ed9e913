// Range, request-target and MIME rules of the HTTP layer.
#include <gtest/gtest.h>

#include "http/mime.h"
#include "http/range.h"
#include "http/url.h"

namespace sigma::http {
namespace {

TEST(Range, SingleRangeIsPartial) {
  auto r = parse_range("bytes=10-19", 100);
  ASSERT_EQ(r.kind, RangeKind::kPartial);
  EXPECT_EQ(r.range.first, 10u);
  EXPECT_EQ(r.range.length, 10u);
}

TEST(Range, OpenEndedAndClampedToSize) {
  auto r = parse_range("bytes=90-", 100);
  ASSERT_EQ(r.kind, RangeKind::kPartial);
  EXPECT_EQ(r.range.first, 90u);
  EXPECT_EQ(r.range.length, 10u);
  r = parse_range("bytes=90-500", 100);
  EXPECT_EQ(r.range.length, 10u);
}

TEST(Range, SuffixIsTheLastBytes) {
  auto r = parse_range("bytes=-30", 100);
  ASSERT_EQ(r.kind, RangeKind::kPartial);
  EXPECT_EQ(r.range.first, 70u);
  EXPECT_EQ(r.range.length, 30u);
  r = parse_range("bytes=-300", 100);  // more than the file: all of it
  EXPECT_EQ(r.range.first, 0u);
  EXPECT_EQ(r.range.length, 100u);
}

TEST(Range, PastTheEndIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=100-", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
}

TEST(Range, InvalidOrMultipleIsIgnored) {
  EXPECT_EQ(parse_range("", 100).kind, RangeKind::kWhole);
  EXPECT_EQ(parse_range("items=0-1", 100).kind, RangeKind::kWhole);
  EXPECT_EQ(parse_range("bytes=5-2", 100).kind, RangeKind::kWhole);
  EXPECT_EQ(parse_range("bytes=a-b", 100).kind, RangeKind::kWhole);
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 100).kind, RangeKind::kWhole);
}

TEST(Target, PathAndQueryAreDecoded) {
  auto t = parse_target("/demo/v0/index.m3u8?_HLS_msn=12&_HLS_part=3&_HLS_skip=YES");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/demo/v0/index.m3u8");
  EXPECT_EQ(t->query.at("_HLS_msn"), "12");
  EXPECT_EQ(t->query.at("_HLS_part"), "3");
  EXPECT_EQ(t->query.at("_HLS_skip"), "YES");
  t = parse_target("/a%20b/c.m4s?x=%41+b");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a b/c.m4s");
  EXPECT_EQ(t->query.at("x"), "A b");
}

TEST(Target, BadTargetsAreRejected) {
  EXPECT_FALSE(parse_target("http://example.com/x"));
  EXPECT_FALSE(parse_target("/x%zz"));
  EXPECT_FALSE(parse_target("/x%4"));
  EXPECT_FALSE(parse_target(""));
}

TEST(RelativePath, StaysInsideTheRoot) {
  EXPECT_EQ(relative_path("/"), "");
  EXPECT_EQ(relative_path("/demo/v0/seg-1.m4s"), "demo/v0/seg-1.m4s");
  EXPECT_EQ(relative_path("//demo//v0/"), "demo/v0");
  EXPECT_FALSE(relative_path("/demo/../../etc/passwd"));
  EXPECT_FALSE(relative_path("/.."));
  EXPECT_FALSE(relative_path("/demo/./x"));
  EXPECT_FALSE(relative_path(std::string("/a\0b", 4)));
  EXPECT_FALSE(relative_path("/a\\..\\b"));
  // Percent-decoding happens first, so %2e%2e is caught too.
  auto t = parse_target("/demo/%2e%2e/%2E%2E/etc/passwd");
  ASSERT_TRUE(t);
  EXPECT_FALSE(relative_path(t->path));
}

TEST(Mime, HlsTypes) {
  EXPECT_EQ(mime_type_for("a/index.m3u8"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(mime_type_for("init.mp4"), "video/mp4");
  EXPECT_EQ(mime_type_for("seg-1.2.m4s"), "video/iso.segment");
  EXPECT_EQ(mime_type_for("x.TS"), "video/mp2t");
  EXPECT_EQ(mime_type_for("latest.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type_for("thumbs.vtt"), "text/vtt; charset=utf-8");
  EXPECT_EQ(mime_type_for("dir.m3u8/noext"), "application/octet-stream");
}

}  // namespace
}  // namespace sigma::http
