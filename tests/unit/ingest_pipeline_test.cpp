// ingest pieces without sockets: stream keys, the bounded channel output,
// the --hls-channel settings, and FLV -> MPEG-TS and in-process HLS at once
// (HEVC over Enhanced RTMP, which no CLI tool here can publish) checked by
// demuxing what comes out.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "av/av.h"
#include "ingest/channel_output.h"
#include "base/fs.h"
#include "ingest/flv_to_media.h"
#include "ingest/hls_config.h"
#include "ingest/hls_sink.h"
#include "ingest/ts_sink.h"
#include "ingest/keys.h"
#include "ingest/srt_listener.h"
#include "ingest/ts_probe.h"
#include "package/packager.h"

using namespace sigma;
using namespace sigma::ingest;

TEST(Keys, ParsesChannelSecretLines) {
  auto ks = KeyStore::parse("# comment\n\nstudio-a  Zk3p9fQ1xw  # trailing\nstudio_b p0Lm48sTq2\n", "keys");
  ASSERT_TRUE(ks.is_ok()) << ks.status().message();
  EXPECT_EQ(ks->channel_for("Zk3p9fQ1xw").value_or(""), "studio-a");
  EXPECT_FALSE(ks->channel_for("studio-a").has_value());
  EXPECT_EQ(ks->channels(), (std::vector<std::string>{"studio-a", "studio_b"}));
}

TEST(Keys, RejectsBadFilesWithTheLine) {
  auto bad_name = KeyStore::parse("../etc secretsecret\n", "k");
  EXPECT_EQ(bad_name.status().code(), ExitCode::kUsage);
  EXPECT_NE(bad_name.status().message().find("k:1"), std::string::npos);
  EXPECT_FALSE(KeyStore::parse("a secretsecret\nb secretsecret\n", "k").is_ok());
  EXPECT_FALSE(KeyStore::parse("a short\n", "k").is_ok());
  EXPECT_FALSE(KeyStore::parse("onlychannel\n", "k").is_ok());
  EXPECT_FALSE(valid_channel_name(".hidden"));
  EXPECT_FALSE(valid_channel_name("a/b"));
  EXPECT_TRUE(valid_channel_name("Studio-1.main"));
}

TEST(SrtStreamId, PlainAndAccessControlForms) {
  std::string key, err;
  EXPECT_TRUE(parse_srt_streamid("abc123", key, err));
  EXPECT_EQ(key, "abc123");
  EXPECT_TRUE(parse_srt_streamid("#!::r=k3y,m=publish", key, err));
  EXPECT_EQ(key, "k3y");
  EXPECT_FALSE(parse_srt_streamid("#!::r=k3y,m=request", key, err));
}

namespace {
std::string ts_packets(int n, bool pat_first) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    std::string p(188, '\xff');
    p[0] = 0x47;
    p[1] = (i == 0 && pat_first) ? 0x40 : 0x41;
    p[2] = (i == 0 && pat_first) ? 0x00 : 0x00;
    s += p;
  }
  return s;
}
}  // namespace

TEST(ChannelOutput, DropsWhenFullAndResumesAtAPat) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    ChannelOutput out(fds[1], "pipe", 188 * 10);
    std::string a = ts_packets(8, true);
    out.write(reinterpret_cast<const uint8_t*>(a.data()), a.size());
    std::string b = ts_packets(8, false);  // does not fit: dropped
    out.write(reinterpret_cast<const uint8_t*>(b.data()), b.size());
    out.write(reinterpret_cast<const uint8_t*>(b.data()), 188);  // still dropping: no PAT yet
    EXPECT_EQ(out.drop_events, 1u);
    EXPECT_EQ(out.bytes_dropped, 9u * 188);
    ASSERT_TRUE(out.flush(0).is_ok());
    std::string c = ts_packets(2, true);  // a PAT: output resumes
    out.write(reinterpret_cast<const uint8_t*>(c.data()), c.size());
    ASSERT_TRUE(out.flush(0).is_ok());
    EXPECT_EQ(out.bytes_written, 10u * 188);
  }
  close(fds[1]);
  char buf[4096];
  size_t total = 0;
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) total += size_t(n);
  close(fds[0]);
  EXPECT_EQ(total, 10u * 188);
}

TEST(ChannelOutput, FifoWithoutReaderDoesNotBlock) {
  auto dir = std::filesystem::temp_directory_path() / ("sigma-out-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string fifo = (dir / "x.ts").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  ChannelOutput out(fifo, 188 * 4);
  std::string a = ts_packets(8, true);
  out.write(reinterpret_cast<const uint8_t*>(a.data()), a.size());
  EXPECT_TRUE(out.flush(0).is_ok());
  EXPECT_FALSE(out.connected());
  EXPECT_EQ(out.bytes_dropped, 8u * 188);
  std::filesystem::remove_all(dir);
}

TEST(HlsConfig, ChannelSpecsOverrideTheDefaults) {
  package::PackageParams defaults;
  defaults.mode = "low";
  auto c = HlsConfig::make("/srv/hls/{channel}", {"studio=/data/studio,mode=ultra-low,window=20,part-duration=0.5"},
                           defaults);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  auto s = c->for_channel("studio");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->out_dir, "/data/studio");
  EXPECT_EQ(s->mode, "ultra-low");
  EXPECT_EQ(s->window, 20);
  EXPECT_DOUBLE_EQ(s->part_duration, 0.5);
  EXPECT_DOUBLE_EQ(s->segment_duration, 2);  // ultra-low's default
  EXPECT_EQ(s->channel, "studio");
  auto o = c->for_channel("other");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->out_dir, "/srv/hls/other");
  EXPECT_EQ(o->mode, "low");
  EXPECT_EQ(o->window, 10);
  auto none = HlsConfig::make("", {"a=/x"}, defaults);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->for_channel("b").has_value());
}

TEST(HlsConfig, BadSpecsAreUsageErrors) {
  package::PackageParams d;
  for (const char* bad : {"nodir", "a=", "a=/x,mode=fast", "a=/x,window=-2", "a=/x,colour=red", "../a=/x",
                          "a=/x,part-duration=0.3"}) {
    auto c = HlsConfig::make("", {bad}, d);
    ASSERT_FALSE(c.is_ok()) << bad;
    EXPECT_EQ(c.status().code(), ExitCode::kUsage) << bad;
    EXPECT_NE(c.status().message().find("--hls-channel"), std::string::npos) << c.status().message();
  }
  EXPECT_FALSE(HlsConfig::make("", {"a=/x", "a=/y"}, d).is_ok());
}

// HEVC from an MP4 (hvcC + length-prefixed NAL units, as Enhanced RTMP
// carries them) through FlvToMedia into MPEG-TS and HLS at once: both must
// demux as the same number of frames.
TEST(FlvToMedia, EnhancedRtmpHevcBecomesDecodableTsAndHls) {
  auto dir = std::filesystem::temp_directory_path() / ("sigma-hevc-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string mp4 = (dir / "in.mp4").string(), ts = (dir / "out.ts").string();
  std::string cmd = "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=size=160x120:rate=25:duration=1 "
                    "-c:v libx265 -x265-params log-level=error -g 25 -bf 2 " + mp4;
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "ffmpeg with libx265 unavailable";
  auto in = av::open_input(mp4);
  ASSERT_TRUE(in.is_ok()) << in.status().message();
  AVStream* st = (*in)->streams[0];
  ASSERT_EQ(st->codecpar->codec_id, AV_CODEC_ID_HEVC);

  std::string out;
  nlohmann::json started;
  TsSink ts_sink([&](const uint8_t* d, size_t n) { out.append(reinterpret_cast<const char*>(d), n); });
  package::PackageParams hp;
  hp.out_dir = (dir / "hls").string();
  hp.mode = "low";
  hp.channel = "hevc";
  ASSERT_TRUE(package::resolve_params(hp).is_ok());
  EventWriter events;
  ASSERT_TRUE(events.open((dir / "events.ndjson").string()).is_ok());
  PackagingThread worker(64 << 20);
  HlsSink hls(hp, events, worker);
  FlvToMedia conv({&ts_sink, &hls}, [&](const nlohmann::json& info) { started = info; });
  rtmp::AmfValue meta;
  meta.type = rtmp::AmfValue::Type::kEcmaArray;
  meta.props = {{"videocodecid", rtmp::AmfValue::num(0x68766331)}, {"width", rtmp::AmfValue::num(160)}};
  conv.set_metadata(meta);
  // Sequence start: [0x80 | keyframe << 4 | 0] 'hvc1' hvcC
  std::string seq = std::string("\x90hvc1", 5) +
                    std::string(reinterpret_cast<char*>(st->codecpar->extradata), st->codecpar->extradata_size);
  auto p = rtmp::parse_video_tag(seq);
  ASSERT_TRUE(p.is_ok());
  Status added = conv.add(*p, 0);
  ASSERT_TRUE(added.is_ok()) << added.message();
  auto pkt = av::make_packet();
  int frames = 0;
  while (av_read_frame(in->get(), pkt.get()) >= 0) {
    int64_t dts = av_rescale_q(pkt->dts, st->time_base, {1, 1000});
    int32_t cts = int32_t(av_rescale_q(pkt->pts - pkt->dts, st->time_base, {1, 1000}));
    bool key = pkt->flags & AV_PKT_FLAG_KEY;
    std::string tag;
    tag += char(0x80 | (key ? 0x10 : 0x20) | 0x01);
    tag += "hvc1";
    tag += {char(cts >> 16), char(cts >> 8), char(cts)};
    tag.append(reinterpret_cast<char*>(pkt->data), pkt->size);
    auto fp = rtmp::parse_video_tag(tag);
    ASSERT_TRUE(fp.is_ok());
    ASSERT_TRUE(conv.add(*fp, dts + 1000).is_ok());
    av_packet_unref(pkt.get());
    ++frames;
  }
  ASSERT_TRUE(conv.finish().is_ok());
  EXPECT_EQ(started.value("video", ""), "hevc");
  ASSERT_EQ(out.size() % 188, 0u);
  TsProbe probe;  // what an SRT source's stream.started would say
  ASSERT_TRUE(probe.feed(reinterpret_cast<const uint8_t*>(out.data()), out.size()));
  EXPECT_EQ(probe.info().value("video", ""), "hevc");
  { std::ofstream(ts, std::ios::binary) << out; }
  auto back = av::open_input(ts);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ((*back)->streams[0]->codecpar->codec_id, AV_CODEC_ID_HEVC);
  EXPECT_EQ((*back)->streams[0]->codecpar->width, 160);
  int got = 0;
  while (av_read_frame(back->get(), pkt.get()) >= 0) {
    ++got;
    av_packet_unref(pkt.get());
  }
  EXPECT_EQ(got, frames);

  hls.close();
  worker.drain();
  auto playlist = read_file(hp.out_dir + "/v0/index.m3u8");
  ASSERT_TRUE(playlist.is_ok());
  EXPECT_NE(playlist->find("#EXT-X-ENDLIST"), std::string::npos) << *playlist;
  EXPECT_NE(playlist->find("#EXT-X-MAP:URI=\"init.mp4\""), std::string::npos) << *playlist;
  auto ev = read_file((dir / "events.ndjson").string());
  ASSERT_TRUE(ev.is_ok());
  int hls_frames = 0;
  std::istringstream lines(*ev);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "segment.written") hls_frames += j["frames"].get<int>();
  }
  EXPECT_EQ(hls_frames, frames);
  // The init segment says hvc1 (parameter sets in the sample entry).
  auto init = read_file(hp.out_dir + "/v0/init.mp4");
  ASSERT_TRUE(init.is_ok());
  EXPECT_NE(init->find("hvc1"), std::string::npos);
  std::filesystem::remove_all(dir);
}
