#include "thumb/picture.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/fs.h"
#include "dvr/mp4_read.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

extern "C" {
#include <libavutil/imgutils.h>
}

namespace sigma::thumb {

namespace {

std::string errstr(int averr) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averr, buf, sizeof buf);
  return buf;
}

// The codec and its configuration record from a video sample entry
// (ISO 14496-12 VisualSampleEntry: 8 bytes of box header, 70 of fields,
// then child boxes, one of them avcC or hvcC).
struct VideoConfig {
  AVCodecID codec = AV_CODEC_ID_NONE;
  std::string extradata;
  int width = 0, height = 0;
};

Result<VideoConfig> video_config(const std::string& stsd, const std::string& name) {
  // stsd: header (8), version/flags (4), entry_count (4), then the entry.
  if (stsd.size() < 16 + 86) return data_error(name + ": no video sample entry");
  std::string_view entry(stsd.data() + 16, stsd.size() - 16);
  auto* u = reinterpret_cast<const uint8_t*>(entry.data());
  size_t entry_size = std::min<size_t>(dvr::mp4::be32(u), entry.size());
  std::string_view type = entry.substr(4, 4);
  VideoConfig c;
  std::string_view want;
  if (type == "avc1" || type == "avc3") c.codec = AV_CODEC_ID_H264, want = "avcC";
  else if (type == "hvc1" || type == "hev1") c.codec = AV_CODEC_ID_HEVC, want = "hvcC";
  else return data_error(name + ": video in '" + std::string(type) + "', not H.264 or HEVC");
  c.width = u[32] << 8 | u[33];
  c.height = u[34] << 8 | u[35];
  bool ok = true;
  for (const auto& box : dvr::mp4::child_boxes(entry, 86, entry_size, &ok))
    if (box.type == want) c.extradata.assign(entry.substr(box.payload, box.end - box.payload));
  if (c.extradata.empty()) return data_error(name + ": no " + std::string(want) + " in the sample entry");
  return c;
}

Status pread_exact(int fd, char* buf, size_t n, uint64_t at, const std::string& name) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("read " + name, errno);
    if (r == 0) return data_error(name + ": truncated");
    got += static_cast<size_t>(r);
  }
  return {};
}

}  // namespace

struct SegmentReader::Impl {
  av::CodecPtr dec;
  av::FramePtr frame;
  std::vector<av::PacketPtr> packets;  // the keyframes, in order
  std::string name;
};

SegmentReader::~SegmentReader() = default;

Result<std::unique_ptr<SegmentReader>> SegmentReader::open(const std::string& init_path, const std::string& seg_path) {
  std::unique_ptr<SegmentReader> r(new SegmentReader);
  r->impl_ = std::make_unique<Impl>();
  Impl& m = *r->impl_;
  m.name = seg_path;
  if (init_path.empty()) return data_error(seg_path + ": no init segment (EXT-X-MAP)");
  // The boxes are read without libavformat (common/dvr/mp4_read.h), and of
  // the sample data only the keyframes'.
  SIGMA_ASSIGN_OR_RETURN(std::string init_bytes, read_file(init_path));
  auto init = dvr::mp4::parse_init(init_bytes);
  if (!init.is_ok()) return data_error(init.status().message()).wrap(init_path);
  const dvr::mp4::InitTrack* vt = init->find("vide");
  if (!vt) return data_error(init_path + ": no video track");
  SIGMA_ASSIGN_OR_RETURN(VideoConfig cfg, video_config(vt->stsd, init_path));
  auto frags = dvr::mp4::read_fragments(seg_path, *init);
  if (!frags.is_ok()) {
    if (frags.status().code() == ExitCode::kSystem) return frags.status();
    return data_error(frags.status().message());
  }
  const dvr::mp4::Fragments* vf = nullptr;
  for (const auto& f : *frags)
    if (f.track_id == vt->track_id) vf = &f;
  if (!vf || vf->samples.empty()) return data_error(seg_path + ": no video samples");
  if (vt->timescale == 0) return data_error(init_path + ": video timescale 0");

  const AVCodec* codec = avcodec_find_decoder(cfg.codec);
  if (!codec) return data_error(seg_path + ": no decoder for its video");
  m.dec.reset(avcodec_alloc_context3(codec));
  if (!m.dec) return system_error("out of memory");
  m.dec->extradata = static_cast<uint8_t*>(av_mallocz(cfg.extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!m.dec->extradata) return system_error("out of memory");
  std::memcpy(m.dec->extradata, cfg.extradata.data(), cfg.extradata.size());
  m.dec->extradata_size = static_cast<int>(cfg.extradata.size());
  m.dec->width = cfg.width;
  m.dec->height = cfg.height;
  // One thread: no frame delay, one picture buffer set; keyframes only.
  m.dec->thread_count = 1;
  m.dec->skip_frame = AVDISCARD_NONKEY;
  m.dec->pkt_timebase = AVRational{1, static_cast<int>(vt->timescale)};
  int rc = avcodec_open2(m.dec.get(), codec, nullptr);
  if (rc < 0) return data_error(seg_path + ": open decoder: " + errstr(rc));
  m.frame.reset(av_frame_alloc());
  if (!m.frame) return system_error("out of memory");

  // Presentation times: dts from tfdt and the durations, plus the
  // composition offset; a keyframe's offset is from the earliest.
  int fd = ::open(seg_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + seg_path, errno);
  int64_t dts = vf->base_dts, first_pts = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> key_pts;
  Status st;
  for (const auto& smp : vf->samples) {
    int64_t pts = dts + smp.cto;
    dts += smp.duration;
    first_pts = std::min(first_pts, pts);
    if (!smp.sync) continue;
    av::PacketPtr pkt(av_packet_alloc());
    if (!pkt || av_new_packet(pkt.get(), static_cast<int>(smp.size)) < 0) {
      st = system_error("out of memory");
      break;
    }
    st = pread_exact(fd, reinterpret_cast<char*>(pkt->data), smp.size, smp.offset, seg_path);
    if (!st.is_ok()) break;
    pkt->pts = pts;
    pkt->dts = dts - smp.duration;
    pkt->flags |= AV_PKT_FLAG_KEY;
    key_pts.push_back(pts);
    m.packets.push_back(std::move(pkt));
  }
  ::close(fd);
  SIGMA_RETURN_IF_ERROR(st);
  for (size_t i = 0; i < key_pts.size(); ++i)
    r->keys_.push_back({static_cast<int>(i), (key_pts[i] - first_pts) * 1000 / vt->timescale});
  return r;
}

Result<const AVFrame*> SegmentReader::decode(int i) {
  Impl& m = *impl_;
  if (i < 0 || i >= static_cast<int>(m.packets.size())) return internal_error("no keyframe " + std::to_string(i));
  avcodec_flush_buffers(m.dec.get());
  av_frame_unref(m.frame.get());
  int rc = avcodec_send_packet(m.dec.get(), m.packets[i].get());
  if (rc < 0) return data_error(m.name + ": decode keyframe: " + errstr(rc));
  rc = avcodec_send_packet(m.dec.get(), nullptr);  // flush: the picture comes out now
  if (rc < 0 && rc != AVERROR_EOF) return data_error(m.name + ": decode keyframe: " + errstr(rc));
  rc = avcodec_receive_frame(m.dec.get(), m.frame.get());
  if (rc < 0) return data_error(m.name + ": decode keyframe: " + errstr(rc == AVERROR_EOF ? AVERROR_INVALIDDATA : rc));
  if (m.frame->width <= 0 || m.frame->height <= 0) return data_error(m.name + ": a keyframe without a size");
  if (m.frame->decode_error_flags || (m.frame->flags & AV_FRAME_FLAG_CORRUPT))
    return data_error(m.name + ": a corrupt keyframe");
  return static_cast<const AVFrame*>(m.frame.get());
}

int scaled_height(const AVFrame* f, int w) {
  double sar = f->sample_aspect_ratio.num > 0 && f->sample_aspect_ratio.den > 0 ? av_q2d(f->sample_aspect_ratio) : 1.0;
  double h = w * f->height / (f->width * sar);
  int even = static_cast<int>(h / 2 + 0.5) * 2;
  return std::max(2, even);
}

namespace {

// A full-range 4:2:0 frame: what the mjpeg encoder takes.
Result<av::FramePtr> make_yuvj(int w, int h) {
  auto f = av::FramePtr(av_frame_alloc());
  if (!f) return system_error("out of memory");
  f->format = AV_PIX_FMT_YUVJ420P;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_JPEG;
  int rc = av_frame_get_buffer(f.get(), 0);
  if (rc < 0) return system_error("allocate a picture: " + errstr(rc));
  return f;
}

// src scaled into dst planes at (x, y) (even), w x h, to full range.
Status scale_into(const AVFrame* src, AVFrame* dst, int x, int y, int w, int h) {
  // YUV420P as the destination format (the layout of YUVJ420P) with the
  // range set explicitly: swscale's J formats are deprecated.
  AVPixelFormat sf = static_cast<AVPixelFormat>(src->format);
  bool src_full = src->color_range == AVCOL_RANGE_JPEG || sf == AV_PIX_FMT_YUVJ420P || sf == AV_PIX_FMT_YUVJ422P ||
                  sf == AV_PIX_FMT_YUVJ444P;
  if (sf == AV_PIX_FMT_YUVJ420P) sf = AV_PIX_FMT_YUV420P;
  if (sf == AV_PIX_FMT_YUVJ422P) sf = AV_PIX_FMT_YUV422P;
  if (sf == AV_PIX_FMT_YUVJ444P) sf = AV_PIX_FMT_YUV444P;
  av::SwsPtr sws(sws_getContext(src->width, src->height, sf, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr,
                                nullptr, nullptr));
  if (!sws) return data_error("cannot scale a " + std::to_string(src->width) + "x" + std::to_string(src->height) + " picture");
  int* inv = nullptr;
  int* tab = nullptr;
  int sr = 0, dr = 0, b = 0, c = 0, s = 0;
  if (sws_getColorspaceDetails(sws.get(), &inv, &sr, &tab, &dr, &b, &c, &s) >= 0)
    sws_setColorspaceDetails(sws.get(), inv, src_full ? 1 : 0, tab, 1, b, c, s);
  uint8_t* planes[4] = {dst->data[0] + y * dst->linesize[0] + x, dst->data[1] + (y / 2) * dst->linesize[1] + x / 2,
                        dst->data[2] + (y / 2) * dst->linesize[2] + x / 2, nullptr};
  int strides[4] = {dst->linesize[0], dst->linesize[1], dst->linesize[2], 0};
  int rc = sws_scale(sws.get(), src->data, src->linesize, 0, src->height, planes, strides);
  if (rc <= 0) return data_error("scale a picture: " + errstr(rc));
  return {};
}

Result<std::string> encode_frame(const AVFrame* f) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) return internal_error("libavcodec has no mjpeg encoder");
  av::CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return system_error("out of memory");
  enc->width = f->width;
  enc->height = f->height;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = AVRational{1, 25};
  enc->flags |= AV_CODEC_FLAG_QSCALE;
  enc->global_quality = FF_QP2LAMBDA * 4;  // -q:v 4: small, clean
  enc->thread_count = 1;
  int rc = avcodec_open2(enc.get(), codec, nullptr);
  if (rc < 0) return internal_error("open the JPEG encoder: " + errstr(rc));
  av::FramePtr in(av_frame_clone(f));
  if (!in) return system_error("out of memory");
  in->pts = 0;
  in->quality = enc->global_quality;
  in->pict_type = AV_PICTURE_TYPE_I;
  rc = avcodec_send_frame(enc.get(), in.get());
  if (rc < 0) return internal_error("encode JPEG: " + errstr(rc));
  rc = avcodec_send_frame(enc.get(), nullptr);
  auto pkt = av::PacketPtr(av_packet_alloc());
  rc = avcodec_receive_packet(enc.get(), pkt.get());
  if (rc < 0) return internal_error("encode JPEG: " + errstr(rc));
  return std::string(reinterpret_cast<const char*>(pkt->data), pkt->size);
}

}  // namespace

Result<std::string> encode_jpeg(const AVFrame* f, int w, int h) {
  SIGMA_ASSIGN_OR_RETURN(av::FramePtr out, make_yuvj(w, h));
  SIGMA_RETURN_IF_ERROR(scale_into(f, out.get(), 0, 0, w, h));
  return encode_frame(out.get());
}

Result<std::unique_ptr<SheetCanvas>> SheetCanvas::make(int width, int height) {
  auto c = std::make_unique<SheetCanvas>();
  SIGMA_ASSIGN_OR_RETURN(c->frame_, make_yuvj(width, height));
  // Black, full range.
  for (int y = 0; y < height; ++y) std::memset(c->frame_->data[0] + y * c->frame_->linesize[0], 0, width);
  for (int p = 1; p < 3; ++p)
    for (int y = 0; y < (height + 1) / 2; ++y) std::memset(c->frame_->data[p] + y * c->frame_->linesize[p], 128, (width + 1) / 2);
  return c;
}

Status SheetCanvas::load_jpeg(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  if (!codec) return internal_error("libavcodec has no mjpeg decoder");
  av::CodecPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return system_error("out of memory");
  dec->thread_count = 1;
  int rc = avcodec_open2(dec.get(), codec, nullptr);
  if (rc < 0) return internal_error("open the JPEG decoder: " + errstr(rc));
  auto pkt = av::PacketPtr(av_packet_alloc());
  rc = av_new_packet(pkt.get(), static_cast<int>(bytes.size()));
  if (rc < 0) return system_error("out of memory");
  std::memcpy(pkt->data, bytes.data(), bytes.size());
  pkt->flags |= AV_PKT_FLAG_KEY;
  auto f = av::FramePtr(av_frame_alloc());
  rc = avcodec_send_packet(dec.get(), pkt.get());
  if (rc >= 0) rc = avcodec_send_packet(dec.get(), nullptr);
  if (rc >= 0 || rc == AVERROR_EOF) rc = avcodec_receive_frame(dec.get(), f.get());
  if (rc < 0) return data_error(path + ": " + errstr(rc));
  if (f->width != frame_->width || f->height != frame_->height)
    return data_error(path + ": " + std::to_string(f->width) + "x" + std::to_string(f->height) + ", not " +
                      std::to_string(frame_->width) + "x" + std::to_string(frame_->height));
  return scale_into(f.get(), frame_.get(), 0, 0, frame_->width, frame_->height);
}

Status SheetCanvas::put(const AVFrame* f, int x, int y, int w, int h) {
  if (x < 0 || y < 0 || x + w > frame_->width || y + h > frame_->height || (x | y | w | h) & 1)
    return internal_error("a tile outside its sheet");
  return scale_into(f, frame_.get(), x, y, w, h);
}

Result<std::string> SheetCanvas::encode() const { return encode_frame(frame_.get()); }

}  // namespace sigma::thumb
