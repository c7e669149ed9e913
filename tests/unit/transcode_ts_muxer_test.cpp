// av::TsMuxer, the MPEG-TS writer of sigma-transcode (and sigma-ingest):
// what a reader of its output sees.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "av/ts_muxer.h"

namespace sigma::av {
namespace {

// An H.264 "frame" the muxer accepts (Annex B start code, an access unit
// delimiter); without the start code it refuses the packet.
PacketPtr video_packet(int64_t dts, bool start_code = true) {
  PacketPtr p = make_packet();
  const uint8_t aud[] = {0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x65, 0x88};
  EXPECT_EQ(av_new_packet(p.get(), sizeof aud), 0);
  memcpy(p->data, aud, sizeof aud);
  if (!start_code) p->data[3] = 0x42;
  p->pts = p->dts = dts;
  p->flags = AV_PKT_FLAG_KEY;
  return p;
}

AVCodecParameters* h264_params() {
  AVCodecParameters* par = avcodec_parameters_alloc();
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = AV_CODEC_ID_H264;
  par->width = 320;
  par->height = 180;
  return par;
}

// dts of every video packet in an MPEG-TS file, in 90 kHz ticks.
std::vector<int64_t> read_dts(const std::string& path) {
  std::vector<int64_t> out;
  InputOptions o;
  o.format = "mpegts";  // a few packets are too few to probe
  auto in = open_input(path, o);
  EXPECT_TRUE(in.is_ok()) << in.status().message();
  if (!in.is_ok()) return out;
  PacketPtr p = make_packet();
  while (av_read_frame(in->get(), p.get()) >= 0) {
    out.push_back(p->dts);
    av_packet_unref(p.get());
  }
  return out;
}

class TsMuxerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    av_log_set_level(AV_LOG_FATAL);  // the stand-in frames are no real H.264
    par_ = h264_params();
  }
  void TearDown() override {
    avcodec_parameters_free(&par_);
    std::filesystem::remove(path_);
  }
  AVCodecParameters* par_ = nullptr;
  std::string path_ = (std::filesystem::temp_directory_path() / ("sigma-tsmux-" + std::to_string(getpid()) + ".ts")).string();
};

TEST_F(TsMuxerTest, CallbackGetsWholeTsPackets) {
  std::string bytes;
  size_t calls = 0;
  TsMuxer mux;
  ASSERT_TRUE(mux.open([&](const uint8_t* d, size_t n) {
                   EXPECT_EQ(n % 188, 0u);
                   bytes.append(reinterpret_cast<const char*>(d), n);
                   ++calls;
                 }).is_ok());
  ASSERT_TRUE(mux.add_stream(par_).is_ok());
  ASSERT_TRUE(mux.start({}).is_ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(mux.write(0, video_packet(i * 3000).get(), {1, 90000}).is_ok());
  // Flushed per packet: every frame has left before finish().
  size_t before_finish = bytes.size();
  EXPECT_GE(calls, 10u);
  ASSERT_TRUE(mux.finish().is_ok());
  EXPECT_FALSE(mux.is_open());
  ASSERT_GT(before_finish, 0u);
  for (size_t i = 0; i < bytes.size(); i += 188) ASSERT_EQ(uint8_t(bytes[i]), 0x47) << "packet at " << i;
}

TEST_F(TsMuxerTest, SmallDtsRegressionsAreNudgedLargeOnesDropped) {
  TsMuxer mux;
  ASSERT_TRUE(mux.open(path_).is_ok());
  ASSERT_TRUE(mux.add_stream(par_).is_ok());
  TsMuxOptions o;
  o.drop_regression_over = 90000;
  ASSERT_TRUE(mux.start(o).is_ok());
  for (int64_t dts : {200000, 203000, 202000, 100000, 206000})
    ASSERT_TRUE(mux.write(0, video_packet(dts).get(), {1, 90000}).is_ok());
  ASSERT_TRUE(mux.finish().is_ok());
  EXPECT_EQ(mux.dropped_packets(), 1u);
  // The muxer writes dts with its own offset: compare steps.
  auto dts = read_dts(path_);
  ASSERT_EQ(dts.size(), 4u);
  EXPECT_EQ(dts[1] - dts[0], 3000);
  EXPECT_EQ(dts[2] - dts[1], 1);  // 202000 after 203000: nudged
  EXPECT_EQ(dts[3] - dts[0], 6000);
}

TEST_F(TsMuxerTest, RefusedPacketsFailTheWriteOrAreDroppedAndCounted) {
  TsMuxer strict;
  ASSERT_TRUE(strict.open(path_).is_ok());
  ASSERT_TRUE(strict.add_stream(par_).is_ok());
  ASSERT_TRUE(strict.start({}).is_ok());
  EXPECT_FALSE(strict.write(0, video_packet(0, false).get(), {1, 90000}).is_ok());
  (void)strict.finish();

  TsMuxer lenient;
  ASSERT_TRUE(lenient.open(path_).is_ok());
  ASSERT_TRUE(lenient.add_stream(par_).is_ok());
  TsMuxOptions o;
  o.drop_refused = true;
  o.max_interleave_us = 500000;
  ASSERT_TRUE(lenient.start(o).is_ok());
  EXPECT_TRUE(lenient.write(0, video_packet(0, false).get(), {1, 90000}).is_ok());
  EXPECT_TRUE(lenient.write(0, video_packet(3000).get(), {1, 90000}).is_ok());
  ASSERT_TRUE(lenient.finish().is_ok());
  EXPECT_EQ(lenient.dropped_packets(), 1u);
  EXPECT_EQ(read_dts(path_).size(), 1u);
}

TEST_F(TsMuxerTest, AnUnwritableOutputIsAUsageError) {
  TsMuxer mux;
  Status st = mux.open("/nonexistent-dir/out.ts");
  EXPECT_EQ(st.code(), ExitCode::kUsage);
  EXPECT_NE(st.message().find("/nonexistent-dir/out.ts"), std::string::npos);
  EXPECT_EQ(mux.start({}).code(), ExitCode::kInternal);
}

}  // namespace
}  // namespace sigma::av
