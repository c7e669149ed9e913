// Failover: the slate (av/slate.h), the ingest's channel spec keys
// (hls_config.h) and the supervisor's (failover_config.h), and the input
// switch itself with recording sinks in place of the channel's outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "av/slate.h"
#include "base/events.h"
#include "ingest/failover.h"
#include "ingest/hls_config.h"
#include "supervisor/config.h"
#include "supervisor/failover_config.h"

namespace sigma {
namespace {

bool has_nal(const std::string& au, int type) {
  for (size_t i = 0; i + 3 < au.size(); ++i)
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 && (au[i + 3] & 0x1f) == type) return true;
  return false;
}

TEST(Slate, BuiltInCardIsOneClosedGopWithSilence) {
  av::SlateSpec spec;
  spec.width = 320;
  spec.height = 180;
  spec.fps = {25, 1};
  spec.gop_frames = 25;
  spec.sample_rate = 44100;
  spec.channels = 2;
  auto s = av::make_slate(spec);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  ASSERT_EQ(s->frames.size(), 25u);
  EXPECT_TRUE(has_nal(s->frames[0], 5));  // IDR
  EXPECT_TRUE(has_nal(s->frames[0], 7));  // SPS in-band, for MPEG-TS readers
  EXPECT_FALSE(has_nal(s->frames[1], 5));
  ASSERT_TRUE(s->video);
  EXPECT_EQ(s->video->width, 320);
  EXPECT_EQ(s->video->height, 180);
  ASSERT_GT(s->video->extradata_size, 8);
  EXPECT_EQ(s->video->extradata[0], 0);  // Annex B parameter sets
  ASSERT_TRUE(s->audio);
  EXPECT_EQ(s->audio->codec_id, AV_CODEC_ID_AAC);
  EXPECT_EQ(s->audio->sample_rate, 44100);
  EXPECT_GT(s->audio->extradata_size, 0);
  EXPECT_FALSE(s->silence.empty());
}

TEST(Slate, FilesThatAreNotPicturesAreUsageErrors) {
  char dir[] = "/tmp/slate-test.XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string text = std::string(dir) + "/note.png", pgm = std::string(dir) + "/grey.pgm";
  std::ofstream(text) << "not a picture\n";
  {
    std::ofstream f(pgm, std::ios::binary);
    f << "P5\n16 16\n255\n" << std::string(256, char(100));
  }
  Status bad = av::check_slate_file(text);
  EXPECT_EQ(bad.code(), ExitCode::kUsage);
  EXPECT_NE(bad.message().find("not a picture or video"), std::string::npos) << bad.message();
  EXPECT_TRUE(av::check_slate_file(pgm).is_ok()) << av::check_slate_file(pgm).message();
  av::SlateSpec spec;
  spec.file = pgm;
  spec.width = 64;
  spec.height = 36;
  spec.gop_frames = 10;
  auto s = av::make_slate(spec);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->frames.size(), 10u);
  EXPECT_FALSE(s->audio);
  std::remove(text.c_str());
  std::remove(pgm.c_str());
  rmdir(dir);
}

TEST(FailoverSpec, IngestChannelKeys) {
  auto c = ingest::HlsConfig::make("", {}, package::PackageParams{});
  ASSERT_TRUE(c.is_ok());
  auto f = c->with_file("a=/o/a,mode=low,backup=sekrit,slate=off,failover-after=2s,failback-after=500ms\n"
                        "b,backup-url=srt://10.0.0.2:9000\n",
                        "ch.conf");
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  auto a = f->failover("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->backup_key, "sekrit");
  EXPECT_EQ(a->slate, "off");
  EXPECT_EQ(a->failover_after_ms, 2000);
  EXPECT_EQ(a->failback_after_ms, 500);
  EXPECT_EQ(f->backup_channel("sekrit"), "a");
  EXPECT_FALSE(f->backup_channel("a"));
  EXPECT_EQ(f->failover("b")->slate, "auto");
  EXPECT_EQ(f->pulled_backups(), std::vector<std::string>{"b"});
  EXPECT_FALSE(f->failover("c"));
  // The key is a secret: what a reload compares never holds it.
  EXPECT_EQ(f->describe("a").find("sekrit"), std::string::npos);
  for (const char* bad : {"a=/o/a,backup=a", "a,backup-url=nowhere", "a,failover-after=forever",
                          "a,backup=k,backup-url=rtmp://h/app/k", "a,slate=/no/such/file.png"}) {
    auto r = c->with_file(std::string(bad) + "\n", "ch.conf");
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) { EXPECT_EQ(r.status().code(), ExitCode::kUsage) << bad; }
  }
  EXPECT_FALSE(c->with_file("a,backup=k\nb,backup=k\n", "ch.conf").is_ok());
}

TEST(FailoverSpec, SupervisorKeysAndTheirSpec) {
  const char* text = "[global]\nopen_keys = yes\n[channel news]\nbackup = news-b\nfailover_after = 2s\n"
                     "[channel plain]\n";
  auto cfg = supervisor::parse_config(text, "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_EQ(supervisor::failover_spec(cfg->channels[0]), ",backup=news-b,slate=auto,failover-after=2000ms");
  EXPECT_EQ(supervisor::failover_spec(cfg->channels[1]), "");
  for (const char* bad : {"[channel news]\nbackup = news\n", "[channel a]\n[channel b]\nbackup = a\n",
                          "[channel a]\nbackup = x\n[channel b]\nbackup = x\n", "[channel a]\nbackup = pull ftp:x\n",
                          "[channel a]\nfailback_after = 1h\n", "[channel a]\nbackup = a,b\n"}) {
    auto r = supervisor::parse_config(std::string("[global]\nopen_keys = yes\n") + bad, "t.conf");
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) { EXPECT_EQ(r.status().code(), ExitCode::kUsage) << bad; }
  }
}

// A sink that records what the switch hands the channel's outputs.
struct Recorder : ingest::MediaSink {
  Status open(const std::vector<const AVCodecParameters*>& s) override {
    opens.push_back(s.size());
    open_ = true;
    return {};
  }
  Status write(int index, AVPacket* pkt, AVRational tb) override {
    packets.push_back({index, av_rescale_q(pkt->dts, tb, {1, 1000}), (pkt->flags & AV_PKT_FLAG_KEY) != 0, opens.size()});
    av_packet_unref(pkt);
    return {};
  }
  Status finish() override {
    ++finishes;
    open_ = false;
    return {};
  }
  bool is_open() const override { return open_; }
  struct P {
    int index;
    int64_t dts;
    bool key;
    size_t session;
  };
  std::vector<size_t> opens;
  std::vector<P> packets;
  int finishes = 0;
  bool open_ = false;
};

int64_t mono() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST(InputSwitch, PrimaryLostGoesToTheBackupWithTimestampsForward) {
  EventWriter events;
  ingest::FailoverSettings s;
  s.backup_key = "b";
  s.slate = "off";
  s.failover_after_ms = 150;
  s.failback_after_ms = 150;
  Recorder out;
  ingest::InputSwitch sw("t", s, {&out}, events);
  AVCodecParameters* par = avcodec_parameters_alloc();
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = AV_CODEC_ID_H264;
  std::vector<const AVCodecParameters*> streams = {par};
  ASSERT_TRUE(sw.primary_port().open(streams).is_ok());
  ASSERT_TRUE(sw.backup_port().open(streams).is_ok());
  auto pkt = av::make_packet();
  auto send = [&](ingest::MediaSink& port, int64_t dts, bool key) {
    ASSERT_EQ(av_new_packet(pkt.get(), 8), 0);
    pkt->dts = pkt->pts = dts;
    if (key) pkt->flags |= AV_PKT_FLAG_KEY;
    ASSERT_TRUE(port.write(0, pkt.get(), {1, 1000}).is_ok());
  };
  // Primary at 10 fps from 5000 ms, keyframe every 5; the backup on a clock of its own.
  for (int i = 0; i < 10; ++i) {
    send(sw.primary_port(), 5000 + i * 100, i % 5 == 0);
    send(sw.backup_port(), 90000 + i * 100, i % 5 == 0);
    sw.tick(mono());
  }
  EXPECT_EQ(sw.active(), ingest::InputSwitch::Source::kPrimary);
  size_t primary_out = out.packets.size();
  EXPECT_EQ(primary_out, 10u);
  // The primary goes silent; the backup goes on.
  int64_t t0 = mono();
  int i = 10;
  while (sw.active() != ingest::InputSwitch::Source::kBackup && mono() - t0 < 2000) {
    send(sw.backup_port(), 90000 + i * 100, i % 5 == 0);
    ++i;
    sw.tick(mono());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(sw.active(), ingest::InputSwitch::Source::kBackup);
  EXPECT_GE(mono() - t0, 150);
  ASSERT_GT(out.packets.size(), primary_out);
  // One new session on the outputs, starting on the backup's keyframe
  // (its newest GOP, kept while it waited), after the primary's end.
  EXPECT_EQ(out.opens.size(), 2u);
  EXPECT_EQ(out.finishes, 1);
  EXPECT_TRUE(out.packets[primary_out].key);
  for (size_t k = 1; k < out.packets.size(); ++k) EXPECT_GT(out.packets[k].dts, out.packets[k - 1].dts) << k;
  avcodec_parameters_free(&par);
}

}  // namespace
}  // namespace sigma
