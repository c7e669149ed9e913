#include "thumb/picture.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/fs.h"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace sigma::thumb {

namespace {

// Reads and seeks over a byte string (init + segment).
struct MemoryInput {
  std::string bytes;
  size_t pos = 0;
  static int read(void* opaque, uint8_t* buf, int size) {
    auto* m = static_cast<MemoryInput*>(opaque);
    if (m->pos >= m->bytes.size()) return AVERROR_EOF;
    size_t n = std::min(static_cast<size_t>(size), m->bytes.size() - m->pos);
    std::memcpy(buf, m->bytes.data() + m->pos, n);
    m->pos += n;
    return static_cast<int>(n);
  }
  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* m = static_cast<MemoryInput*>(opaque);
    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return static_cast<int64_t>(m->bytes.size());
    int64_t base = whence == SEEK_CUR ? static_cast<int64_t>(m->pos) : whence == SEEK_END ? static_cast<int64_t>(m->bytes.size()) : 0;
    int64_t to = base + offset;
    if (to < 0) return AVERROR(EINVAL);
    m->pos = static_cast<size_t>(std::min<int64_t>(to, static_cast<int64_t>(m->bytes.size())));
    return to;
  }
};

constexpr int kIoBuffer = 64 * 1024;

// The top-level boxes must fill the file exactly: a segment cut short (a
// crash, a full disk) has its mdat running past the end, and libavformat
// would hand out the partial sample as if whole.
Status check_boxes(const std::string& b, const std::string& name) {
  size_t at = 0;
  while (at < b.size()) {
    if (b.size() - at < 8) return data_error(name + ": truncated (a box header cut at byte " + std::to_string(at) + ")");
    auto u8 = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(b[at + i])); };
    uint64_t size = u8(0) << 24 | u8(1) << 16 | u8(2) << 8 | u8(3);
    size_t header = 8;
    if (size == 1) {
      if (b.size() - at < 16) return data_error(name + ": truncated (a box header cut)");
      size = 0;
      for (int i = 8; i < 16; ++i) size = size << 8 | u8(i);
      header = 16;
    } else if (size == 0) {
      size = b.size() - at;  // to the end of the file
    }
    if (size < header) return data_error(name + ": corrupt (a box of " + std::to_string(size) + " bytes)");
    if (size > b.size() - at)
      return data_error(name + ": truncated (a box of " + std::to_string(size) + " bytes at byte " + std::to_string(at) +
                        ", " + std::to_string(b.size() - at) + " left)");
    at += size;
  }
  return {};
}

}  // namespace

struct SegmentReader::Impl {
  MemoryInput in;
  av::IOContextPtr io;
  av::InputPtr fmt;
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
  if (!init_path.empty()) {
    SIGMA_ASSIGN_OR_RETURN(m.in.bytes, read_file(init_path));
    SIGMA_RETURN_IF_ERROR(check_boxes(m.in.bytes, init_path));
  }
  {
    SIGMA_ASSIGN_OR_RETURN(std::string seg, read_file(seg_path));
    if (seg.empty()) return data_error(seg_path + ": empty segment");
    SIGMA_RETURN_IF_ERROR(check_boxes(seg, seg_path));
    m.in.bytes += seg;
  }
  auto* buf = static_cast<uint8_t*>(av_malloc(kIoBuffer));
  if (!buf) return system_error("out of memory");
  m.io.reset(avio_alloc_context(buf, kIoBuffer, 0, &m.in, &MemoryInput::read, nullptr, &MemoryInput::seek));
  if (!m.io) {
    av_free(buf);
    return system_error("out of memory");
  }
  AVFormatContext* ctx = avformat_alloc_context();
  if (!ctx) return system_error("out of memory");
  ctx->pb = m.io.get();
  ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  const AVInputFormat* mp4 = av_find_input_format("mp4");
  int rc = avformat_open_input(&ctx, nullptr, mp4, nullptr);
  if (rc < 0) return data_error(seg_path + ": " + av::error_string(rc));  // ctx freed by libav
  m.fmt.reset(ctx);
  // No avformat_find_stream_info: it would decode frames to learn what
  // the init's sample entry already says.
  int vs = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vs < 0) return data_error(seg_path + ": no video stream");
  for (unsigned i = 0; i < ctx->nb_streams; ++i)
    ctx->streams[i]->discard = static_cast<int>(i) == vs ? AVDISCARD_NONKEY : AVDISCARD_ALL;
  AVStream* st = ctx->streams[vs];

  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) return data_error(seg_path + ": no decoder for its video");
  m.dec.reset(avcodec_alloc_context3(codec));
  if (!m.dec) return system_error("out of memory");
  SIGMA_RETURN_IF_ERROR(av::av_status(avcodec_parameters_to_context(m.dec.get(), st->codecpar), seg_path));
  // One thread: no frame delay, one picture buffer set; keyframes only.
  m.dec->thread_count = 1;
  m.dec->skip_frame = AVDISCARD_NONKEY;
  m.dec->pkt_timebase = st->time_base;
  rc = avcodec_open2(m.dec.get(), codec, nullptr);
  if (rc < 0) return data_error(seg_path + ": open decoder: " + av::error_string(rc));
  m.frame = av::make_frame();

  // Read every sample's header (cheap: no decoding), keep the keyframes.
  int64_t first_pts = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> key_pts;
  auto pkt = av::make_packet();
  int packets = 0;
  while ((rc = av_read_frame(ctx, pkt.get())) >= 0) {
    if (pkt->stream_index == vs) {
      if (pkt->flags & AV_PKT_FLAG_CORRUPT) return data_error(seg_path + ": a corrupt sample");
      ++packets;
      int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      if (pts != AV_NOPTS_VALUE) first_pts = std::min(first_pts, pts);
      if (pkt->flags & AV_PKT_FLAG_KEY) {
        key_pts.push_back(pts);
        m.packets.push_back(std::move(pkt));
        pkt = av::make_packet();
        continue;
      }
    }
    av_packet_unref(pkt.get());
  }
  if (rc != AVERROR_EOF && packets == 0) return data_error(seg_path + ": " + av::error_string(rc));
  if (rc != AVERROR_EOF && m.packets.empty()) return data_error(seg_path + ": " + av::error_string(rc));
  if (packets == 0) return data_error(seg_path + ": no video samples");
  for (size_t i = 0; i < key_pts.size(); ++i) {
    int64_t off = key_pts[i] == AV_NOPTS_VALUE ? 0 : key_pts[i] - first_pts;
    r->keys_.push_back({static_cast<int>(i), av_rescale_q(off, st->time_base, AVRational{1, 1000})});
  }
  return r;
}

Result<const AVFrame*> SegmentReader::decode(int i) {
  Impl& m = *impl_;
  if (i < 0 || i >= static_cast<int>(m.packets.size())) return internal_error("no keyframe " + std::to_string(i));
  avcodec_flush_buffers(m.dec.get());
  av_frame_unref(m.frame.get());
  int rc = avcodec_send_packet(m.dec.get(), m.packets[i].get());
  if (rc < 0) return data_error(m.name + ": decode keyframe: " + av::error_string(rc));
  rc = avcodec_send_packet(m.dec.get(), nullptr);  // flush: the picture comes out now
  if (rc < 0 && rc != AVERROR_EOF) return data_error(m.name + ": decode keyframe: " + av::error_string(rc));
  rc = avcodec_receive_frame(m.dec.get(), m.frame.get());
  if (rc < 0) return data_error(m.name + ": decode keyframe: " + av::error_string(rc == AVERROR_EOF ? AVERROR_INVALIDDATA : rc));
  if (m.frame->width <= 0 || m.frame->height <= 0) return data_error(m.name + ": a keyframe without a size");
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
  auto f = av::make_frame();
  if (!f) return system_error("out of memory");
  f->format = AV_PIX_FMT_YUVJ420P;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_JPEG;
  int rc = av_frame_get_buffer(f.get(), 0);
  if (rc < 0) return system_error("allocate a picture: " + av::error_string(rc));
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
  if (rc <= 0) return data_error("scale a picture: " + av::error_string(rc));
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
  if (rc < 0) return internal_error("open the JPEG encoder: " + av::error_string(rc));
  av::FramePtr in(av_frame_clone(f));
  if (!in) return system_error("out of memory");
  in->pts = 0;
  in->quality = enc->global_quality;
  in->pict_type = AV_PICTURE_TYPE_I;
  rc = avcodec_send_frame(enc.get(), in.get());
  if (rc < 0) return internal_error("encode JPEG: " + av::error_string(rc));
  rc = avcodec_send_frame(enc.get(), nullptr);
  auto pkt = av::make_packet();
  rc = avcodec_receive_packet(enc.get(), pkt.get());
  if (rc < 0) return internal_error("encode JPEG: " + av::error_string(rc));
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
  if (rc < 0) return internal_error("open the JPEG decoder: " + av::error_string(rc));
  auto pkt = av::make_packet();
  rc = av_new_packet(pkt.get(), static_cast<int>(bytes.size()));
  if (rc < 0) return system_error("out of memory");
  std::memcpy(pkt->data, bytes.data(), bytes.size());
  pkt->flags |= AV_PKT_FLAG_KEY;
  auto f = av::make_frame();
  rc = avcodec_send_packet(dec.get(), pkt.get());
  if (rc >= 0) rc = avcodec_send_packet(dec.get(), nullptr);
  if (rc >= 0 || rc == AVERROR_EOF) rc = avcodec_receive_frame(dec.get(), f.get());
  if (rc < 0) return data_error(path + ": " + av::error_string(rc));
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
