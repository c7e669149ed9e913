#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "av/av.h"
#include "av/codec_loop.h"

using namespace sigma;

TEST(AvStatus, MapsLibavErrorsToExitCodes) {
  EXPECT_EQ(av::av_status(AVERROR_INVALIDDATA, "read").code(), ExitCode::kData);
  EXPECT_EQ(av::av_status(AVERROR(ENOENT), "open").code(), ExitCode::kSystem);
  EXPECT_EQ(av::av_status(AVERROR(EINVAL), "opt").code(), ExitCode::kUsage);
  EXPECT_TRUE(av::av_status(0, "fine").is_ok());
  EXPECT_EQ(av::av_status(AVERROR(ENOENT), "open x.ts").message(), "open x.ts: No such file or directory");
}

TEST(OpenInput, MissingFileIsASystemErrorWithContext) {
  auto r = av::open_input("/nonexistent/in.ts");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ExitCode::kSystem);
  EXPECT_NE(r.status().message().find("/nonexistent/in.ts"), std::string::npos);
}

TEST(OpenInput, GarbageIsBadMedia) {
  auto p = std::filesystem::temp_directory_path() / ("sigma_garbage_" + std::to_string(getpid()) + ".ts");
  {
    std::ofstream o(p, std::ios::binary);
    for (int i = 0; i < 4096; ++i) o.put(static_cast<char>((i * 7919) & 0x7f));
  }
  av::InputOptions opts;
  opts.format = "mpegts";
  auto r = av::open_input(p.string(), opts);
  // Either the demuxer refuses it, or it opens with no usable stream.
  if (r.is_ok()) EXPECT_EQ((*r)->nb_streams, 0u);
  else EXPECT_EQ(r.status().code(), ExitCode::kData);
  std::filesystem::remove(p);
}

TEST(OpenInput, UnknownFormatIsUsage) {
  av::InputOptions opts;
  opts.format = "no-such-demuxer";
  EXPECT_EQ(av::open_input("x", opts).status().code(), ExitCode::kUsage);
}

// The loop round-trips frames through a real encoder and decoder.
TEST(CodecLoop, EncodeThenDecodeEveryFrame) {
  const AVCodec* enc_codec = avcodec_find_encoder(AV_CODEC_ID_MPEG2VIDEO);
  ASSERT_NE(enc_codec, nullptr);
  av::CodecPtr enc(avcodec_alloc_context3(enc_codec));
  enc->width = 64;
  enc->height = 48;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = {1, 25};
  enc->framerate = {25, 1};
  enc->gop_size = 5;
  ASSERT_EQ(avcodec_open2(enc.get(), enc_codec, nullptr), 0);

  const AVCodec* dec_codec = avcodec_find_decoder(AV_CODEC_ID_MPEG2VIDEO);
  av::CodecPtr dec(avcodec_alloc_context3(dec_codec));
  ASSERT_EQ(avcodec_open2(dec.get(), dec_codec, nullptr), 0);

  auto frame = av::make_frame();
  frame->width = 64;
  frame->height = 48;
  frame->format = AV_PIX_FMT_YUV420P;
  ASSERT_EQ(av_frame_get_buffer(frame.get(), 0), 0);
  auto pkt = av::make_packet();
  auto out = av::make_frame();
  int decoded = 0, encoded = 0;
  auto on_frame = [&](AVFrame*) { ++decoded; return Status(); };
  auto on_packet = [&](AVPacket* p) {
    ++encoded;
    return av::decode(dec.get(), p, out.get(), on_frame);
  };
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(av_frame_make_writable(frame.get()), 0);
    for (int y = 0; y < 48; ++y) memset(frame->data[0] + y * frame->linesize[0], (i * 10 + y) & 0xff, 64);
    frame->pts = i;
    ASSERT_TRUE(av::encode(enc.get(), frame.get(), pkt.get(), on_packet).is_ok());
  }
  ASSERT_TRUE(av::encode(enc.get(), nullptr, pkt.get(), on_packet).is_ok());
  ASSERT_TRUE(av::decode(dec.get(), nullptr, out.get(), on_frame).is_ok());
  EXPECT_EQ(encoded, 20);
  EXPECT_EQ(decoded, 20);
}
