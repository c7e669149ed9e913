// The MP4 export (common/dvr/export.h) over synthetic archives: fMP4
// segments written by the packager's own Fmp4Muxer (payloads that name
// their frame, no real codec data), indexed in a real Index, exported, and
// the output read back with libavformat: where it starts, what it holds,
// how breaks, gaps and a codec change come out.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/fs.h"
#include "dvr/export.h"
#include "dvr/index.h"
#include "dvr/mp4_read.h"
#include "dvr/mp4_write.h"
#include "package/fmp4_muxer.h"

using namespace sigma;
using namespace sigma::dvr;

namespace {

constexpr int64_t kFrame = 3000;    // 30 fps at 90 kHz
constexpr int64_t kAudio = 1920;    // 1024 samples at 48 kHz, in 90 kHz ticks
constexpr int kGop = 15;            // a keyframe every 0.5 s
constexpr int64_t kPdt0 = 1'800'000'000'000;

std::string temp_dir() {
  char tmpl[] = "/tmp/dvr_export_test.XXXXXX";
  const char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "";
}

uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }

// One channel: v0 (H.264 parameters, 1 s segments of two fragments) and
// a0 (AAC), master.m3u8 naming both, rows in the index.
struct Channel {
  std::string dir = temp_dir();
  std::unique_ptr<Index> index;
  int64_t msn = 0;
  int64_t vframes = 0, aframes = 0;  // payload counters
  std::string v_init_uri, a_init_uri, v_init, a_init;

  Channel() {
    auto idx = Index::open(dir, Index::Mode::kReadWrite);
    EXPECT_TRUE(idx.is_ok()) << idx.status().message();
    index = std::move(*idx);
    EXPECT_TRUE(make_dirs(dir + "/v0").is_ok() && make_dirs(dir + "/a0").is_ok());
    EXPECT_TRUE(write_file_atomic(dir + "/master.m3u8",
                                  "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"a0\",DEFAULT=YES,"
                                  "URI=\"a0/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=800000,AUDIO=\"audio\"\n"
                                  "v0/index.m3u8\n")
                    .is_ok());
  }
  ~Channel() {
    index.reset();
    int rc = std::system(("rm -rf '" + dir + "'").c_str());
    (void)rc;
  }

  static av::PacketPtr packet(char kind, int64_t n, int size, int64_t dts, int64_t dur, bool key) {
    av::PacketPtr p = av::make_packet();
    EXPECT_EQ(av_new_packet(p.get(), size), 0);
    std::memset(p->data, kind, static_cast<size_t>(size));
    for (int i = 0; i < 4; ++i) p->data[1 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
    p->dts = p->pts = dts;
    p->duration = dur;
    if (key) p->flags |= AV_PKT_FLAG_KEY;
    return p;
  }

  // seconds of media from decode time dts0 (90 kHz), the first segment at
  // wall-clock pdt_ms; sps_variant changes the video's parameter sets.
  void run(int64_t dts0, int seconds, int64_t pdt_ms, bool discontinuity, int sps_variant = 0) {
    AVCodecParameters* vp = avcodec_parameters_alloc();
    AVCodecParameters* ap = avcodec_parameters_alloc();
    vp->codec_type = AVMEDIA_TYPE_VIDEO;
    vp->codec_id = AV_CODEC_ID_H264;
    vp->width = sps_variant ? 1280 : 640;
    vp->height = sps_variant ? 720 : 360;
    const uint8_t avcc[] = {1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, static_cast<uint8_t>(0x1e + sps_variant),
                            1, 0, 4, 0x68, 0xce, 0x3c, 0x80};
    vp->extradata = static_cast<uint8_t*>(av_mallocz(sizeof(avcc) + AV_INPUT_BUFFER_PADDING_SIZE));
    std::memcpy(vp->extradata, avcc, sizeof(avcc));
    vp->extradata_size = sizeof(avcc);
    ap->codec_type = AVMEDIA_TYPE_AUDIO;
    ap->codec_id = AV_CODEC_ID_AAC;
    ap->sample_rate = 48000;
    ap->frame_size = 1024;
    av_channel_layout_default(&ap->ch_layout, 1);
    const uint8_t asc[] = {0x11, 0x88};
    ap->extradata = static_cast<uint8_t*>(av_mallocz(sizeof(asc) + AV_INPUT_BUFFER_PADDING_SIZE));
    std::memcpy(ap->extradata, asc, sizeof(asc));
    ap->extradata_size = sizeof(asc);
    auto vm = package::Fmp4Muxer::open({vp}, AVRational{1, 90000});
    auto am = package::Fmp4Muxer::open({ap}, AVRational{1, 90000});
    avcodec_parameters_free(&vp);
    avcodec_parameters_free(&ap);
    ASSERT_TRUE(vm.is_ok() && am.is_ok());
    auto init_of = [&](const std::string& track, const std::string& bytes, std::string& last, std::string& uri) {
      if (bytes == last) return;
      uri = track + "/" + (last.empty() ? "init.mp4" : "init-" + std::to_string(msn) + ".mp4");
      last = bytes;
      ASSERT_TRUE(write_file_atomic(dir + "/" + uri, bytes).is_ok());
    };
    init_of("v0", (*vm)->init(), v_init, v_init_uri);
    init_of("a0", (*am)->init(), a_init, a_init_uri);
    int64_t adts = dts0;
    for (int s = 0; s < seconds; ++s, ++msn) {
      int64_t seg_start = dts0 + s * 30 * kFrame, seg_end = seg_start + 30 * kFrame;
      std::string vbytes, abytes;
      package::Fmp4Muxer::ByteSink vsink = [&](const uint8_t* d, size_t n) { return vbytes.append(reinterpret_cast<const char*>(d), n), true; };
      package::Fmp4Muxer::ByteSink asink = [&](const uint8_t* d, size_t n) { return abytes.append(reinterpret_cast<const char*>(d), n), true; };
      for (int f = 0; f < 30; ++f) {
        auto p = packet('V', vframes, 200 + static_cast<int>(vframes % 37), seg_start + f * kFrame, kFrame, vframes % kGop == 0);
        ++vframes;
        ASSERT_TRUE((*vm)->write(p.get()).is_ok());
        if (f == 14) {  // two fragments per segment
          ASSERT_TRUE((*vm)->flush(vsink).is_ok());
        }
      }
      ASSERT_TRUE((*vm)->flush(vsink).is_ok());
      int64_t a_start = adts;
      for (; adts < seg_end; adts += kAudio) {
        auto p = packet('A', aframes++, 30, adts, kAudio, true);
        ASSERT_TRUE((*am)->write(p.get()).is_ok());
      }
      ASSERT_TRUE((*am)->flush(asink).is_ok());
      std::string vuri = "v0/seg-" + std::to_string(msn) + ".m4s", auri = "a0/seg-" + std::to_string(msn) + ".m4s";
      ASSERT_TRUE(write_file_atomic(dir + "/" + vuri, vbytes).is_ok());
      ASSERT_TRUE(write_file_atomic(dir + "/" + auri, abytes).is_ok());
      SegmentRow v{"v0", msn, pdt_ms + s * 1000, 1000, vuri, v_init_uri, static_cast<int64_t>(vbytes.size()),
                   discontinuity && s == 0, false, true};
      SegmentRow a{"a0", msn, pdt_ms + s * 1000 + (a_start - seg_start) / 90, (adts - a_start) / 90, auri, a_init_uri,
                   static_cast<int64_t>(abytes.size()), discontinuity && s == 0, false, true};
      ASSERT_TRUE(index->add_batch({v, a}).is_ok());
    }
  }

  void gap(int64_t pdt_ms) {
    SegmentRow v{"v0", msn, pdt_ms, 1000, "", v_init_uri, 0, false, true, true};
    SegmentRow a{"a0", msn, pdt_ms, 1000, "", a_init_uri, 0, false, true, true};
    ++msn;
    ASSERT_TRUE(index->add_batch({v, a}).is_ok());
  }
};

struct Packet {
  int stream;
  int64_t n;  // the frame number its payload carries
  double pts, dts;
  bool key;
};

struct Read {
  std::vector<Packet> video, audio;
  double v_start = -1, a_start = -1;
};

Read read_mp4(const std::string& path) {
  Read r;
  av_log_set_level(AV_LOG_QUIET);  // the payloads are not H.264 or AAC
  auto in = av::open_input(path);
  EXPECT_TRUE(in.is_ok()) << in.status().message();
  if (!in) return r;
  AVFormatContext* ctx = in->get();
  av::PacketPtr p = av::make_packet();
  while (av_read_frame(ctx, p.get()) >= 0) {
    AVStream* st = ctx->streams[p->stream_index];
    bool video = st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
    EXPECT_GE(p->size, 5);
    EXPECT_EQ(p->data[0], video ? 'V' : 'A');
    Packet k{p->stream_index, be32(p->data + 1), p->pts * av_q2d(st->time_base), p->dts * av_q2d(st->time_base),
             (p->flags & AV_PKT_FLAG_KEY) != 0};
    (video ? r.video : r.audio).push_back(k);  // (key: libavformat's view of fake H.264; stss says more)
    av_packet_unref(p.get());
  }
  return r;
}

// The sync sample numbers (1-based) of the output's first stss: the video's.
std::vector<uint32_t> stss(const std::string& bytes) {
  std::vector<uint32_t> out;
  size_t at = bytes.find("stss");
  if (at == std::string::npos) return out;
  const auto* d = reinterpret_cast<const uint8_t*>(bytes.data()) + at + 8;
  for (uint32_t i = 0, n = be32(d); i < n; ++i) out.push_back(be32(d + 4 + 4 * i));
  return out;
}

// Sample numbers (1-based) of the keyframes among exported frame numbers.
std::vector<uint32_t> keyframes(const std::vector<Packet>& video) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < video.size(); ++i)
    if (video[i].n % kGop == 0) out.push_back(static_cast<uint32_t>(i + 1));
  return out;
}

std::string top_boxes(const std::string& bytes) {
  std::string out;
  for (const auto& b : mp4::child_boxes(bytes, 0, bytes.size())) out += std::string(b.type) + " ";
  return out;
}

struct Exported {
  std::unique_ptr<ExportPlan> plan;
  std::string bytes, path;
};

Exported export_range(Channel& c, int64_t from_ms, int64_t to_ms) {
  Exported e;
  ExportRequest req;
  req.from_ms = from_ms;
  req.to_ms = to_ms;
  auto plan = plan_export(*c.index, req);
  EXPECT_TRUE(plan.is_ok()) << plan.status().message();
  if (!plan) return e;
  e.plan = std::move(*plan);
  Status st = e.plan->write([&](const char* d, size_t n) { return e.bytes.append(d, n), Status(); });
  EXPECT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(e.bytes.size(), e.plan->size());
  e.path = c.dir + "/out.mp4";
  EXPECT_TRUE(write_file_atomic(e.path, e.bytes).is_ok());
  return e;
}

}  // namespace

TEST(DvrExport, CutsAtTheKeyframeBeforeFromAndCopiesEverySample) {
  Channel c;
  c.run(126000, 8, kPdt0, false);
  // From 1.7 s: the keyframe at 1.5 s (frame 45), to 5.2 s: the last frame
  // starting before it is frame 155.
  Exported e = export_range(c, kPdt0 + 1700, kPdt0 + 5200);
  ASSERT_TRUE(e.plan);
  EXPECT_EQ(top_boxes(e.bytes), "ftyp moov mdat ");
  EXPECT_EQ(e.plan->from_ms(), kPdt0 + 1500);
  EXPECT_EQ(e.plan->to_ms(), kPdt0 + 5200);
  EXPECT_NEAR(e.plan->duration_s(), 3.7, 1e-6);
  Read r = read_mp4(e.path);
  ASSERT_EQ(r.video.size(), 111u);
  EXPECT_EQ(r.video.front().n, 45);
  EXPECT_EQ(stss(e.bytes), keyframes(r.video));
  EXPECT_EQ(stss(e.bytes).front(), 1u);
  EXPECT_DOUBLE_EQ(r.video.front().pts, 0);
  for (size_t i = 0; i < r.video.size(); ++i) {
    EXPECT_EQ(r.video[i].n, 45 + static_cast<int64_t>(i));
    EXPECT_NEAR(r.video[i].pts, i / 30.0, 1e-6);
  }
  // Audio from the video's start to its end, frames in order, in step.
  ASSERT_FALSE(r.audio.empty());
  for (size_t i = 1; i < r.audio.size(); ++i) EXPECT_EQ(r.audio[i].n, r.audio[i - 1].n + 1);
  double a_first = r.audio.front().n * kAudio / 90000.0 + 126000 / 90000.0;  // source time of the first audio frame
  double v_first = 126000 / 90000.0 + 1.5;
  EXPECT_NEAR(r.audio.front().pts, a_first - v_first, 1e-3);  // the tfdt offset kept
  EXPECT_LT(std::abs(a_first - v_first), kAudio / 90000.0);
  EXPECT_NEAR(r.audio.back().pts + kAudio / 90000.0, 3.7, kAudio / 90000.0);
}

TEST(DvrExport, WriteFdGivesTheSameBytes) {
  Channel c;
  c.run(0, 4, kPdt0, false);
  Exported e = export_range(c, kPdt0, kPdt0 + 4000);
  ASSERT_TRUE(e.plan);
  std::string path = c.dir + "/fd.mp4";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  uint64_t last = 0;
  Status st = e.plan->write_fd(fd, [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last);
    EXPECT_EQ(total, e.plan->size());
    last = done;
  });
  ::close(fd);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(last, e.plan->size());
  auto back = read_file(path);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, e.bytes);
}

TEST(DvrExport, ABreakAndATimestampJumpAreClosedUp) {
  Channel c;
  c.run(0, 3, kPdt0, false);
  // The source comes back 5 s later (wall clock) with its timestamps 100 s on.
  c.run(100 * 90000, 3, kPdt0 + 8000, true);
  Exported e = export_range(c, kPdt0 + 1000, kPdt0 + 10000);
  ASSERT_TRUE(e.plan);
  Read r = read_mp4(e.path);
  ASSERT_EQ(r.video.size(), 60u + 60u);  // 1-3 s, then 8-10 s
  for (size_t i = 0; i < r.video.size(); ++i) EXPECT_NEAR(r.video[i].pts, i / 30.0, 1e-6) << i;
  EXPECT_EQ(r.video[59].n + 1, r.video[60].n);  // frames 30..89, then the second run's 90..
  EXPECT_EQ(stss(e.bytes), keyframes(r.video));
  EXPECT_NEAR(e.plan->duration_s(), 4.0, 1e-6);
  // The second run's audio follows the second run's video, not 100 s later.
  ASSERT_FALSE(r.audio.empty());
  EXPECT_LT(r.audio.back().pts, 4.0);
  EXPECT_GT(r.audio.back().pts, 3.9);
  for (size_t i = 1; i < r.audio.size(); ++i) EXPECT_GT(r.audio[i].pts, r.audio[i - 1].pts);
}

TEST(DvrExport, GapsAndMissingFilesAreSkipped) {
  Channel c;
  c.run(0, 2, kPdt0, false);
  c.gap(kPdt0 + 2000);
  c.run(3 * 90000, 3, kPdt0 + 3000, false);  // segments 3-5
  ASSERT_EQ(::unlink((c.dir + "/v0/seg-4.m4s").c_str()), 0);
  Exported e = export_range(c, kPdt0, kPdt0 + 6000);
  ASSERT_TRUE(e.plan);
  Read r = read_mp4(e.path);
  ASSERT_EQ(r.video.size(), 30u * 4);  // seconds 0, 1, 3, 5
  for (size_t i = 0; i < r.video.size(); ++i) EXPECT_NEAR(r.video[i].pts, i / 30.0, 1e-6) << i;
  EXPECT_EQ(r.video[60].n, 60);   // the second run's first frame
  EXPECT_EQ(r.video[90].n, 120);  // after the missing segment
  EXPECT_EQ(stss(e.bytes), keyframes(r.video));
}

TEST(DvrExport, ACodecChangeEndsTheExportThere) {
  Channel c;
  c.run(0, 3, kPdt0, false);
  c.run(3 * 90000, 3, kPdt0 + 3000, true, 1);  // new parameter sets: init-3.mp4
  ExportRequest req{kPdt0, kPdt0 + 6000, ""};
  auto plan = plan_export(*c.index, req);
  ASSERT_TRUE(plan.is_ok()) << plan.status().message();
  EXPECT_EQ((*plan)->to_ms(), kPdt0 + 3000);
  EXPECT_NEAR((*plan)->duration_s(), 3.0, 1e-6);
}

TEST(DvrExport, NothingArchivedAndUnknownVariantAreErrors) {
  Channel c;
  c.run(0, 2, kPdt0, false);
  auto none = plan_export(*c.index, ExportRequest{kPdt0 + 60000, kPdt0 + 70000, ""});
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), ExitCode::kData);
  EXPECT_NE(none.status().message().find("nothing archived between"), std::string::npos);
  auto bad = plan_export(*c.index, ExportRequest{kPdt0, kPdt0 + 1000, "v9"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ExitCode::kUsage);
  EXPECT_NE(bad.status().message().find("unknown variant v9 (the channel has v0)"), std::string::npos);
}

TEST(DvrExport, SixtyFourBitOffsetsWhenAsked) {
  Channel c;
  c.run(0, 1, kPdt0, false);
  auto init = read_file(c.dir + "/v0/init.mp4");
  ASSERT_TRUE(init.is_ok());
  auto parsed = mp4::parse_init(*init);
  ASSERT_TRUE(parsed.is_ok());
  mp4::OutTrack t;
  t.init = &parsed->tracks[0];
  t.id = 1;
  t.add(100, 3000, 0, true);
  t.add(100, 3000, 0, false);
  t.chunk_samples = {2};
  t.chunk_offsets = {uint64_t{5} << 32};
  auto h = mp4::build_header({t}, true);
  ASSERT_TRUE(h.is_ok());
  EXPECT_NE(h->find("co64"), std::string::npos);
  EXPECT_EQ(h->find("stco"), std::string::npos);
  EXPECT_NE(h->find("stss"), std::string::npos);
  EXPECT_EQ(mp4::mdat_header(uint64_t{5} << 32).size(), 16u);
  EXPECT_EQ(mp4::mdat_header(1000).size(), 8u);
}
